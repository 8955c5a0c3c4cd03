/* consumer.c — a program outside drip's tree that uses the installed libdrip-safe and drip.h,
 * built by tests/install/test_install.py with pkg-config and with find_package(drip). It prints
 * what it observed; the test checks the exact line. */
#include <drip/drip.h>
#include <drip/lru.h>

#include <stdio.h>

static int evicted;

static void on_evict(const void *key, size_t klen, void *value, size_t bytes, drip_lru_reason why, void *arg)
{
    (void)key, (void)klen, (void)value, (void)bytes, (void)arg;
    if (why == DRIP_LRU_EVICTED)
        evicted++;
}

int main(void)
{
    drip_lru_options o = {.max_entries = 2, .on_evict = on_evict};
    drip_lru *c = drip_lru_create(&o);
    if (!c)
        return 1;
    static int v[3];
    drip_lru_put(c, "a", 1, &v[0], 1, 0);
    drip_lru_put(c, "b", 1, &v[1], 1, 0);
    drip_lru_put(c, "c", 1, &v[2], 1, 0);   /* evicts "a" */
    size_t n = drip_lru_count(c);
    drip_lru_destroy(c);
    /* drip.h: 0 without drip, 1 under drip run */
    printf("count=%zu evicted=%d tracked=%d\n", n, evicted, drip_tracked());
    return 0;
}
