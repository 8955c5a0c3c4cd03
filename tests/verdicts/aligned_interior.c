/* A block kept only through a pointer aligned up inside it, as glibc's ld.so keeps its
 * _dl_find_object segments (dl-find_object.c: malloc(size + align - 1), then the address rounded
 * up to the struct's alignment): where malloc's address is already aligned the program holds the
 * block's start (still reachable), otherwise an interior pointer (possibly lost). The allocator's
 * layout decides which, and valgrind's allocator lays blocks out differently from glibc's; the
 * program prints which one it got, so a test can hold each tool to the same rule. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *kept;   /* a root: the only pointer into the block */

__attribute__((noinline)) static int keep_aligned(void)
{
    char *raw = malloc(200 + 63);
    if (!raw)
        exit(1);
    char *aligned = (char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    kept = aligned;
    return aligned == raw;
}

int main(void)
{
    puts(keep_aligned() ? "start" : "interior");
    return 0;
}
