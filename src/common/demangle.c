/* demangle.c — C++ names demangled with libstdc++'s __cxa_demangle, loaded with dlopen on first
 * need (drip links no C++ runtime): the symbolizer's frames (symbolizer.c) and the fun: lines
 * of valgrind suppressions (suppress_vg.c), so that both spell a name the same way.
 * Not used inside the traced process. No locks: drip's own processes call it from one thread.
 */
#include "demangle.h"

#include <dlfcn.h>
#include <stdlib.h>

char *drip__demangle(const char *name)
{
    static char *(*fn)(const char *, char *, size_t *, int *);
    static int tried;
    if (name[0] != '_' || name[1] != 'Z')
        return NULL;
    if (!tried) {
        tried = 1;
        void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
        if (h)
            fn = (char *(*)(const char *, char *, size_t *, int *))dlsym(h, "__cxa_demangle");
    }
    int status = -1;
    char *d = fn ? fn(name, NULL, NULL, &status) : NULL;
    if (d && status == 0)
        return d;
    free(d);
    return NULL;
}
