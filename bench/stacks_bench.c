/* stacks_bench.c — a heap with many distinct allocation stacks, for timing how long drip takes
 * to serve /debug/pprof/heap. Each block is allocated at the end of a 17-level recursion whose
 * path (one of two call sites per level) spells the block's index in binary, so N blocks have
 * N distinct stacks (up to 131,072). Prints "ready" and waits until stdin closes.
 * usage: stacks_bench [N]   (default 100000) */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void **keep;

__attribute__((noinline)) static void *walk(unsigned bits, int depth);

__attribute__((noinline)) static void *left(unsigned bits, int depth) { return walk(bits >> 1, depth - 1); }
__attribute__((noinline)) static void *right(unsigned bits, int depth) { return walk(bits >> 1, depth - 1); }

__attribute__((noinline)) static void *walk(unsigned bits, int depth)
{
    if (depth == 0)
        return malloc(32);
    void *p = (bits & 1) ? right(bits, depth) : left(bits, depth);
    __asm__ volatile("" ::: "memory");   /* no tail calls: every level keeps its frame */
    return p;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    keep = calloc((size_t)n, sizeof *keep);
    for (int i = 0; i < n; i++)
        keep[i] = walk((unsigned)i, 17);
    printf("ready %d\n", n);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0)
        ;
    return 0;
}
