/* count_overflow.c — counts that do not fit one of drip's per-thread counter slots (counters.c:
 * 32,767 objects or 2 GiB between folds): 100,000 blocks from one site, 70,000 freed, then one
 * block of 2 GiB + 4 KiB (its size alone does not fit). Prints drip_read_stats' differences: exact. */
#include <drip/drip.h>
#include <stdio.h>
#include <stdlib.h>

static void *kept[100000];
__attribute__((noinline)) static void *one(size_t n) { return malloc(n); }

int main(void)
{
    struct drip_stats a, b;
    int rc = drip_read_stats(&a);
    for (int i = 0; i < 100000; i++)
        kept[i] = one(24);
    for (int i = 0; i < 70000; i++)
        free(kept[i]);
    void *big = one(((size_t)2 << 30) + 4096);   /* (no memory is touched: the kernel maps it lazily) */
    free(big);
    rc |= drip_read_stats(&b);
    printf("rc=%d mallocs=%llu frees=%llu objects=%llu live=%llu total=%llu big=%d\n", rc, b.mallocs - a.mallocs,
           b.frees - a.frees, b.live_objects - a.live_objects, b.live_bytes - a.live_bytes,
           b.total_alloc_bytes - a.total_alloc_bytes, big != NULL);
    return 0;
}
