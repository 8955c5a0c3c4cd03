/* scan_bench.c — a large heap for timing drip's exit scan and report.
 *
 * Allocates --blocks blocks (default 1M) of 1/4..7/4 x --avg-size bytes (default 1024, so ~1 GiB
 * in all), writes every byte of each, and exits without freeing any of them:
 *  - 1/2 of the blocks are on 256 linked lists whose heads sit in a global array: reachable;
 *  - 1/4 are on lists of 64 whose head pointer is dropped: one definitely lost block a list and
 *    63 indirectly lost ones;
 *  - 1/4 are single blocks dropped at once: definitely lost.
 * Blocks come from 16 distinct call sites, so the report has a few dozen records. Payload words
 * are a non-pointer pattern, so the scan reads all of it but only follows the `next` links.
 *
 * Time the process under drip with report=1 and report=0: the difference is the exit scan plus
 * the report. The program prints how long its own allocation phase took.
 * Usage: scan_bench [--blocks N] [--avg-size BYTES]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct node {
    struct node *next;
    uint64_t payload[];
};

#define NROOTS 256
#define LOST_LIST_LEN 64
struct node *roots[NROOTS];

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* 16 call sites (one per case), each a distinct allocation stack. */
__attribute__((noinline)) static struct node *alloc_at(unsigned site, size_t size)
{
    struct node *n;
    switch (site & 15) {
    case 0: n = malloc(size); break;
    case 1: n = malloc(size); __asm__ volatile("" ::: "memory"); break;
    case 2: n = calloc(1, size); break;
    case 3: n = malloc(size + 1); break;
    case 4: n = malloc(size + 2); break;
    case 5: n = malloc(size + 3); break;
    case 6: n = malloc(size + 4); break;
    case 7: n = malloc(size + 5); break;
    case 8: n = malloc(size + 6); break;
    case 9: n = malloc(size + 7); break;
    case 10: n = malloc(size + 8); break;
    case 11: n = malloc(size + 9); break;
    case 12: n = malloc(size + 10); break;
    case 13: n = malloc(size + 11); break;
    case 14: n = malloc(size + 12); break;
    default: n = calloc(size, 1); break;
    }
    if (!n) {
        fprintf(stderr, "scan_bench: out of memory\n");
        exit(1);
    }
    /* every byte written, with a pattern no pointer has */
    memset(n, 0xa5, size);
    n->next = NULL;
    __asm__ volatile("" : : "r"(n) : "memory");
    return n;
}

static unsigned long num_arg(const char *name, const char *v)
{
    char *end;
    unsigned long n = v ? strtoul(v, &end, 0) : 0;
    if (!v || *end || end == v || n == 0) {
        fprintf(stderr, "scan_bench: %s needs a positive number\n", name);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    unsigned long blocks = 1ul << 20, avg = 1024;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--blocks"))
            blocks = num_arg(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--avg-size"))
            avg = num_arg(argv[i], argv[i + 1]), i++;
        else {
            fprintf(stderr, "usage: scan_bench [--blocks N] [--avg-size BYTES]\n");
            return 2;
        }
    }
    if (avg < 4 * sizeof(struct node))
        avg = 4 * sizeof(struct node);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t bytes = 0;
    struct node *lost_head = NULL;
    unsigned long lost_len = 0, reach = 0, lost_lists = 0, singles = 0;
    for (unsigned long i = 0; i < blocks; i++) {
        size_t size = avg / 4 + rnd() % (avg * 3 / 2);
        bytes += size;
        struct node *n = alloc_at((unsigned)(rnd() >> 33), size);
        switch (i & 7) {
        case 0: case 1: case 2: case 3: {
            struct node **r = &roots[(i >> 3) % NROOTS];
            n->next = *r;
            *r = n;
            reach++;
            break;
        }
        case 4: case 5:
            n->next = lost_head;
            lost_head = n;
            if (++lost_len == LOST_LIST_LEN) {
                lost_head = NULL;   /* the whole list is lost */
                lost_len = 0;
                lost_lists++;
            }
            break;
        default:
            singles++;   /* n goes out of scope: lost */
            break;
        }
    }
    lost_head = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("scan_bench: blocks=%lu bytes=%zu (%.0f MiB) reachable=%lu lost_lists=%lu "
           "lost_singles=%lu alloc_phase=%.3fs\n",
           blocks, bytes, bytes / 1048576.0, reach, lost_lists, singles,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    fflush(stdout);
    return 0;
}
