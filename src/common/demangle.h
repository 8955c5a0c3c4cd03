/* demangle.h — demangle.c: C++ names as the symbolizer and valgrind suppressions write them. */
#ifndef DRIP_COMMON_DEMANGLE_H
#define DRIP_COMMON_DEMANGLE_H

/* name ("_Z...") demangled by libstdc++'s __cxa_demangle (malloc'd); NULL when it is not a
 * mangled name, or libstdc++ cannot be loaded or cannot demangle it. */
char *drip__demangle(const char *name);

#endif
