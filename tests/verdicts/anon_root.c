/* anon_root.c — a malloc'd block whose only pointer lives in an anonymous mmap region (as a
 * pool allocator, a GC'd runtime or an arena keeps them): reachable, as valgrind says. Another
 * block whose only pointer lives in a malloc'd block that was freed: definitely lost (freed
 * memory is not a root). */
#include <stdlib.h>
#include <sys/mman.h>

int main(void)
{
    void **region = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return 1;
    region[100] = malloc(200);
    void **holder = malloc(64);
    holder[0] = malloc(300);
    free(holder);
    return 0;
}
