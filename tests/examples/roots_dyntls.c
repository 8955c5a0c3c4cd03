/* roots_dyntls.c — memory held from the dynamic TLS of a dlopen'ed module, for the TLS roots of
 * the retention paths (issue #16): the main thread dlopens libroots_dyn.so (next to this
 * program) and calls dyn_hold, which keeps 777 bytes in its __thread variable dyn_buf. The main
 * thread's DTV entry for that module points to the module's block (8 bytes, allocated by glibc
 * in __tls_get_addr); the block holds the 777 bytes: "held by: dynamic TLS of libroots_dyn.so
 * (module id N), thread T (main thread)", then the block "(tls `dyn_buf` (roots_dyn.c:6))".
 * Built -O0.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
        return 1;
    path[n] = 0;
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "libroots_dyn.so");
    void *h = dlopen(path, RTLD_NOW);
    if (!h)
        return 1;
    void (*hold)(void) = (void (*)(void))dlsym(h, "dyn_hold");
    if (!hold)
        return 1;
    hold();
    printf("held\n");
    return 0;
}
