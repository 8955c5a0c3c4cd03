/* maps.c — pointers kept in the program's own mappings (memcheck's mmap and leak scan
 * scenarios), written for drip. Each mapping holds a pointer to a block of its own size, so the
 * figures say which mappings are roots:
 *   101 bytes: anonymous private read-write mapping: a root (reachable)
 *   102: the same mapping after mremap moved it to a bigger size: a root
 *   103: the second page of a 3-page mapping whose first page was munmap'ed: a root
 *   104: a page made PROT_READ after the store: no root (valgrind scans writable mappings)
 *   105: a page made PROT_NONE after the store: no root
 *   106: a mapping munmap'ed after the store: no root (lost)
 *   107: a MAP_FIXED mapping over the stored pointer's page (fresh zeroes): lost
 * Prints what it mapped. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void *map(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

int main(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    void **a = map(pg);
    a[0] = malloc(101);
    void **b = map(pg);
    b[1] = malloc(102);
    b = mremap(b, pg, 64 * pg, MREMAP_MAYMOVE);
    char *c = map(3 * pg);
    *(void **)(c + pg + 8) = malloc(103);
    munmap(c, pg);
    void **d = map(pg);
    d[2] = malloc(104);
    mprotect(d, pg, PROT_READ);
    void **e = map(pg);
    e[3] = malloc(105);
    mprotect(e, pg, PROT_NONE);
    void **f = map(pg);
    f[4] = malloc(106);
    munmap(f, pg);
    void **g = map(pg);
    g[5] = malloc(107);
    mmap(g, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("mapped: remap %s\n", b == MAP_FAILED ? "failed" : "ok");
    return 0;
}
