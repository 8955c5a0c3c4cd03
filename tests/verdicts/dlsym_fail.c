/* dlsym_fail.c — the program's only call is a failing dlsym. glibc keeps the error (24 bytes,
 * and its 45-byte message) in libc's thread-local __libc_dlerror_result: reachable from the
 * main thread's static TLS, not lost. */
#include <dlfcn.h>

int main(void) { return dlsym(RTLD_DEFAULT, "no_such_symbol") != 0; }
