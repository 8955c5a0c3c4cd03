/* libload.h — a library's functions forwarded to it opened with dlopen on first call (dwload.c
 * for libdw and libelf, mzload.c for libm and zlib): the drip binary links libc only. */
#ifndef DRIP_CLI_LIBLOAD_H
#define DRIP_CLI_LIBLOAD_H

/* name's definition in soname, opened into *handle on first need, at version ver (NULL: the
 * default one). Where it cannot be found: one line on stderr (with hint after it, if any) and
 * exit status 2, as a missing shared library was. In mzload.c. */
void *drip__lib_sym(void **handle, const char *soname, const char *name, const char *ver, const char *hint);

/* One forwarder: the library's prototype, its function found on the first call. */
#define DRIP_LIB_FWD(handle, soname, hint, ret, name, ver, params, args)            \
    ret name params                                                                 \
    {                                                                               \
        static ret(*fn) params;                                                     \
        if (!fn)                                                                    \
            fn = (ret(*) params)drip__lib_sym(&handle, soname, #name, ver, hint);   \
        return fn args;                                                             \
    }

#endif
