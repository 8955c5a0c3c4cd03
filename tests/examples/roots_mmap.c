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
 * the range being what is left of the mapping and FUNCTION the one that called mmap. Built -O0.
 */
#define _GNU_SOURCE
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

int main(void)
{
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
    return 0;
}
