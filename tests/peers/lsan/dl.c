/* dl.c — a dlopen'ed library's globals and dynamic TLS are roots while it is loaded (LSan's
 * use_tls_dynamic, link_turned_off's library side); after dlclose its blocks are lost. The
 * library's path is argv[2]. Built -O0. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dl open|close LIB\n");
        return 2;
    }
    void *h = dlopen(argv[2], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    void (*fill)(void) = (void (*)(void))dlsym(h, "lib_fill");
    fill();
    if (!strcmp(argv[1], "close"))
        dlclose(h);
    printf("done %s\n", argv[1]);
    return 0;
}
