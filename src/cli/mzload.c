/* mzload.c — libm and zlib for the drip binary, loaded with dlopen on their first call.
 *
 * `drip run` needs neither: zlib is for compressed profiles (drip top/diff/flame, --profile) and
 * libm for drip watch's chart and the growth trends. Linked, both were mapped and relocated in
 * every `drip run` (and every spawned symbolizer) before the program could start. As dwload.c does
 * for libdw, this file defines each function the CLI calls, with the library's prototype, and
 * forwards it to the library's own (dlvsym at the version drip was built against); the loader
 * (drip__lib_sym) serves dwload.c too.
 * A library that cannot be loaded is one line on stderr and exit status 2.
 * Locks: none (the CLI is single-threaded).
 */
#include "cli.h"
#include "libload.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

void *drip__lib_sym(void **handle, const char *soname, const char *name, const char *ver, const char *hint)
{
    if (!*handle)
        *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    void *f = !*handle ? NULL : ver ? dlvsym(*handle, name, ver) : dlsym(*handle, name);
    if (!f) {
        const char *why = dlerror();
        fprintf(stderr, "drip: cannot load %s from %s (%s)%s%s\n", name, soname, why ? why : "no such symbol",
                hint ? ": " : "", hint ? hint : "");
        exit(2);
    }
    return f;
}

static void *libm, *libz;

#define FWD(lib, soname, ret, name, ver, params, args) DRIP_LIB_FWD(lib, soname, NULL, ret, name, ver, params, args)

FWD(libm, "libm.so.6", double, sqrt, "GLIBC_2.2.5", (double x), (x))
FWD(libm, "libm.so.6", long, lround, "GLIBC_2.2.5", (double x), (x))
FWD(libm, "libm.so.6", long long, llround, "GLIBC_2.2.5", (double x), (x))
FWD(libm, "libm.so.6", double, log10, "GLIBC_2.2.5", (double x), (x))
FWD(libm, "libm.so.6", double, fmod, "GLIBC_2.2.5", (double x, double y), (x, y))
FWD(libm, "libm.so.6", double, pow, "GLIBC_2.29", (double x, double y), (x, y))
FWD(libm, "libm.so.6", double, fmin, "GLIBC_2.2.5", (double x, double y), (x, y))
FWD(libm, "libm.so.6", double, fmax, "GLIBC_2.2.5", (double x, double y), (x, y))

/* zlib's symbols carry no version */
FWD(libz, "libz.so.1", int, deflateInit2_, NULL,
    (z_streamp strm, int level, int method, int windowBits, int memLevel, int strategy, const char *version,
     int stream_size),
    (strm, level, method, windowBits, memLevel, strategy, version, stream_size))
FWD(libz, "libz.so.1", int, deflate, NULL, (z_streamp strm, int flush), (strm, flush))
FWD(libz, "libz.so.1", int, deflateEnd, NULL, (z_streamp strm), (strm))
FWD(libz, "libz.so.1", int, inflateInit2_, NULL, (z_streamp strm, int windowBits, const char *version, int stream_size),
    (strm, windowBits, version, stream_size))
FWD(libz, "libz.so.1", int, inflate, NULL, (z_streamp strm, int flush), (strm, flush))
FWD(libz, "libz.so.1", int, inflateEnd, NULL, (z_streamp strm), (strm))
FWD(libz, "libz.so.1", int, inflateReset, NULL, (z_streamp strm), (strm))
