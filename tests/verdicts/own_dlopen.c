/* own_dlopen.c — the program opens libraries after drip opened one of its own (libunwind, with
 * unwind=libunwind, at the first allocation). The loader chains every link map, drip's among
 * them, so the program's link maps must stay reachable, as valgrind sees them: drip's own
 * chunks are roots (src/preload/ownload.c). One block is lost on purpose, one kept. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const libs[] = {"libresolv.so.2", "libanl.so.1", "libnss_files.so.2", "libutil.so.1", "libnss_dns.so.2"};
static char *kept;

int main(void)
{
    char *lost = malloc(40);
    if (!lost)
        return 1;
    strcpy(lost, "lost");
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++)
        if (!dlopen(libs[i], RTLD_NOW | RTLD_LOCAL)) {
            fprintf(stderr, "own_dlopen: %s\n", dlerror());
            return 2;
        }
    kept = malloc(16);
    lost = NULL;
    printf("opened %zu\n", sizeof libs / sizeof *libs);
    return kept ? 0 : 1;
}
