/* sparse.c — a 256 MiB private anonymous mapping (transparent huge pages off) of which the
 * program touches one page, in the middle, to hold the only pointer to a 72-byte block; and a
 * lost 100-byte block. Prints "done" and exits 0. The exit scan must find that pointer (the block
 * is reachable) without reading the 65,535 pages never touched: a page never touched is all
 * zeroes, and reading it would fault in a page (scan_maps.c, /proc/self/pagemap). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *volatile sink;
__attribute__((noinline)) static void lose(void)
{
    sink = malloc(100);
    sink = NULL;
}

int main(void)
{
    size_t len = (size_t)256 << 20;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    madvise(m, len, MADV_NOHUGEPAGE);   /* one page touched is one page, not a huge one */
    void *kept = malloc(72);
    memcpy(m + len / 2 + 128, &kept, sizeof kept);
    kept = NULL;
    lose();
    puts("done");
    return 0;
}
