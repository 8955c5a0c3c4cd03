/* roots_mmap.c — memory held from anonymous mappings the program made itself, for the mapping
 * roots of the retention paths (issue #16), as a pool allocator or Python's obmalloc holds its
 * objects' buffers:
 *   pool_map maps 2 MiB and trims it to the 1 MiB aligned inside (munmap of its head and tail);
 *     the pool's 100 slots hold 100 records of 48 bytes (record_new);
 *   ring_map maps 3 pages and unmaps the middle one (a split); the third page holds 32 bytes
 *     (ring_entry);
 *   log_map maps 16 KiB, then log_grow moves it to 64 KiB with mremap; it holds 200 bytes
 *     (log_line).
 * Each block is held by "anonymous mapping 0x...-0x... (SIZE) mapped at FUNCTION (roots_mmap.c:LINE)",
 * the range being what is left of the mapping and FUNCTION the one that called mmap. With the
 * argument `serve` it waits for its standard input to close before it exits (a live check).
 * With `calls` it only makes calls that fail or succeed in ways the program must see unchanged
 * under drip (results and errno), prints them, and exits. Built -O0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { MiB = 1 << 20, PAGE = 4096 };

static void **g_pool;
static char *g_ring;
static char *g_log;

__attribute__((noinline)) static void **pool_map(void)
{
    char *p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *lo = (char *)(((uintptr_t)p + MiB - 1) & ~(uintptr_t)(MiB - 1));
    if (lo > p)
        munmap(p, (size_t)(lo - p));
    munmap(lo + MiB, (size_t)(p + 2 * MiB - (lo + MiB)));
    return (void **)lo;
}

__attribute__((noinline)) static char *ring_map(void)
{
    char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    munmap(p + PAGE, PAGE);
    return p;
}

__attribute__((noinline)) static char *log_map(void)
{
    char *p = mmap(NULL, 16 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

__attribute__((noinline)) static char *log_grow(char *p)
{
    char *q = mremap(p, 16 * 1024, 64 * 1024, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}

__attribute__((noinline)) static void *record_new(int i)
{
    char *r = malloc(48);
    if (r)
        snprintf(r, 48, "record %d", i);
    return r;
}

__attribute__((noinline)) static void *ring_entry(void) { return calloc(1, 32); }
__attribute__((noinline)) static void *log_line(void) { return calloc(1, 200); }

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char pad[65536];
    memset((char *)pad, 0, sizeof pad);
}

static void show(const char *what, long r, int err) { printf("%s: %s errno=%d\n", what, r == -1 ? "failed" : "ok", err); }

#define CALL(what, expr)                  \
    do {                                  \
        errno = 12345;                    \
        long r_ = (long)(expr);           \
        show(what, r_, errno);            \
    } while (0)

/* Calls whose result and errno must be the same with and without drip. */
static int calls(void)
{
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CALL("mmap bad flags", mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
    CALL("mmap length 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CALL("mmap unaligned offset", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 0, 1));
    CALL("mmap bad fd", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 987, 0));
    CALL("munmap unaligned", munmap(p + 1, PAGE));
    CALL("munmap middle page", munmap(p + PAGE, PAGE));
    CALL("munmap again", munmap(p + PAGE, PAGE));
    CALL("mremap bad flags", mremap(p, PAGE, 2 * PAGE, 0x100));
    CALL("mremap grow in place over a mapping", mremap(p + 2 * PAGE, PAGE, 64 * PAGE, 0));
    CALL("mremap shrink", mremap(p, PAGE, PAGE / 2, 0) == p ? 0 : -1);
    CALL("mremap fixed", mremap(p + 3 * PAGE, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + PAGE) == p + PAGE ? 0 : -1);
    CALL("mmap fixed over it", mmap(p, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p ? 0 : -1);
    int fd = open("/proc/self/exe", O_RDONLY);
    CALL("mmap file", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0);
    CALL("munmap all", munmap(p, 4 * PAGE));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "calls"))
        return calls();
    g_pool = pool_map();
    g_ring = ring_map();
    g_log = log_map();
    if (!g_pool || !g_ring || !g_log)
        return 1;
    for (int i = 0; i < 100; i++)
        g_pool[i] = record_new(i);
    *(void **)(g_ring + 2 * PAGE + 64) = ring_entry();
    g_log = log_grow(g_log);
    if (!g_log)
        return 1;
    *(void **)(g_log + 40 * 1024) = log_line();
    scrub_stack();
    printf("pool %p ring %p log %p\n", (void *)g_pool, (void *)g_ring, (void *)g_log);
    fflush(stdout);
    char c;
    while (argc > 1 && !strcmp(argv[1], "serve") && read(0, &c, 1) > 0)
        ;
    return 0;
}
