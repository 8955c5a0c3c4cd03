/* dlopen_leak.c — dlopens argv[1] (libleaky.so), calls leaky_lose (77 bytes lost) and
 * leaky_keep (33 bytes held by a static pointer inside the library), then dlcloses it when
 * argv[2] is "close" (the library is unmapped: the 33-byte block loses its only root, and the
 * frames of both stacks point into unmapped code). Prints "ok". */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

__attribute__((noinline)) static int use_library(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    void (*lose)(void) = (void (*)(void))dlsym(h, "leaky_lose");
    void (*keep)(void) = (void (*)(void))dlsym(h, "leaky_keep");
    lose();
    keep();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || use_library(argv[1]) != 0)
        return 2;
    if (argc > 2 && !strcmp(argv[2], "close")) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
        if (h) {
            dlclose(h);   /* the NOLOAD reference */
            dlclose(h);   /* use_library's */
        }
        if (dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD)) {
            printf("still loaded\n");
            return 3;
        }
    }
    scrub();
    printf("ok\n");
    return 0;
}
