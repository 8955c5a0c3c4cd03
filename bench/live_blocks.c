/* live_blocks.c — a heap of millions of small live blocks, as a cache or a database holds.
 *
 * usage: live_blocks [N]   (default 1000000)
 * Allocates N blocks of 16-79 bytes (sizes from a fixed xorshift sequence) and keeps each in one
 * array reachable from a global; writes every block; frees every other one (in allocation order,
 * as a cache evicts), then drops 500 of the remaining pointers without freeing them (500
 * definite leaks), and exits with N/2 - 500 blocks still reachable. Prints a checksum of what it
 * read back, which is the same under every tool.
 * Built by bench/live_blocks.sh with -O2 -fno-omit-frame-pointer: every allocation is made from
 * main, so the allocation stack is 2-3 frames and one site.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a root: the scan reaches every kept block through it (not static: gcc -O2 keeps a static that
 * nothing outside main reads in a register, and the array would be a lost block) */
char **blocks;

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n < 2000) {
        fprintf(stderr, "live_blocks: N must be at least 2000\n");
        return 2;
    }
    blocks = malloc(n * sizeof *blocks);
    if (!blocks)
        return 1;
    uint64_t x = 88172645463325252ULL, sum = 0;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t size = 16 + (size_t)(x % 64);
        char *p = malloc(size);
        if (!p)
            return 1;
        memset(p, (int)(i & 0x7f), size);
        p[0] = (char)size;
        blocks[i] = p;
    }
    for (size_t i = 1; i < n; i += 2) {
        sum += (unsigned char)blocks[i][0];
        free(blocks[i]);
        blocks[i] = NULL;
    }
    /* lose 500 blocks: their only pointers are cleared without a free */
    for (size_t i = 0, lost = 0; lost < 500; i += 2 * (n / 2 / 500), lost++) {
        sum += (unsigned char)blocks[i][1];
        blocks[i] = NULL;
    }
    for (size_t i = 0; i < n; i += 2)
        if (blocks[i])
            sum += (unsigned char)blocks[i][0];
    printf("live_blocks: n=%zu checksum=%llx\n", n, (unsigned long long)sum);
    return 0;
}
