/*
 * growing_cache_lru.c: growing_cache.c fixed with libdrip-safe's bounded LRU
 * cache (drip/lru.h) instead of a hand-written list.
 *
 * Same workload as growing_cache.c: 512 requests for 256 distinct keys, each
 * key asked for twice in a row, so half the lookups hit. The cache holds at
 * most CACHE_MAX entries; when a miss inserts one more, the least recently
 * used entry goes to the eviction callback, which frees it. Then the oldest
 * cached entry (key 1224) is asked for once more, and one new key: the hit
 * made 1224 the most recent, so the miss evicts 1225 instead. At shutdown
 * drip_lru_destroy hands every remaining entry to the same callback.
 *
 * expected (drip and valgrind --leak-check=full --show-leak-kinds=all agree):
 *   nothing definite, indirect, possible or reachable allocated by this
 *   program or by libdrip-safe on its behalf; no threads.
 *   stdout: 514 requests, 257 misses, 225 evictions (the last of key 1225),
 *   32 destroyed at shutdown.
 *   While it runs, live bytes at cache_insert plateau at 32 * 64 = 2,048.
 *
 * The leaky original is growing_cache.c (16,384 bytes in 256 blocks still
 * reachable in cache_insert); growing_cache_fixed.c is the plain-C fix.
 */
#include <stdio.h>
#include <stdlib.h>

#include <drip/lru.h>

enum { REQUESTS = 512, CACHE_MAX = 32 };

/* One cached value; 64 bytes on x86-64, as in growing_cache.c. */
struct cache_entry {
    unsigned key;
    unsigned hits;
    char value[56];
};

/* The cache: a drip_lru that owns its entries, and counters. */
static struct {
    drip_lru *lru;
    unsigned misses;
    unsigned evictions;                 /* pushed out by the CACHE_MAX bound */
    unsigned destroyed;                 /* handed back by drip_lru_destroy */
    unsigned last_evicted;              /* key of the last entry evicted */
} g_cache;

/* Computes the (expensive, in real life) value for key into value. */
static void compute_value(unsigned key, char *value, size_t size)
{
    snprintf(value, size, "profile of user %u", key);
}

/* drip_lru's on_evict: an entry leaves the cache, for whatever reason; free it. */
static void cache_entry_free(const void *key, size_t klen, void *value, size_t bytes,
                             drip_lru_reason why, void *arg)
{
    (void)key, (void)klen, (void)bytes, (void)arg;
    if (why == DRIP_LRU_EVICTED) {
        g_cache.evictions++;
        g_cache.last_evicted = ((const struct cache_entry *)value)->key;
    }
    else if (why == DRIP_LRU_DESTROYED)
        g_cache.destroyed++;
    free(value);                        /* FIX: the cache's owner frees what leaves it */
}

/* Creates the bounded cache; exits on failure. */
static void cache_init(void)
{
    g_cache.lru = drip_lru_create(&(drip_lru_options){
        .max_entries = CACHE_MAX,       /* FIX: bounded */
        .on_evict = cache_entry_free,
    });
    if (g_cache.lru == NULL) {
        perror("drip_lru_create");
        exit(1);
    }
}

/* Adds a new entry for key to the cache (evicting the least recently used one when full)
 * and returns it; exits on failure. */
static __attribute__((noinline)) struct cache_entry *cache_insert(unsigned key)
{
    struct cache_entry *e = malloc(sizeof *e);
    if (e == NULL)
        exit(1);
    e->key = key;
    e->hits = 0;
    compute_value(key, e->value, sizeof e->value);
    if (drip_lru_put(g_cache.lru, &e->key, sizeof e->key, e, sizeof *e, 0) < 0) {
        free(e);                        /* on error the value is still ours */
        exit(1);
    }
    return e;
}

/* Returns the value for key, computing and caching it on a miss. The pointer stays valid
 * until the next call (which may evict it): the cache is used by one thread only. */
static __attribute__((noinline)) const char *cache_get(unsigned key)
{
    void *hit;
    if (drip_lru_get(g_cache.lru, &key, sizeof key, &hit) == 0) {
        struct cache_entry *e = hit;
        e->hits++;
        return e->value;
    }
    g_cache.misses++;
    return cache_insert(key)->value;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    cache_init();
    size_t total = 0;
    for (unsigned i = 0; i < REQUESTS; i++)
        total += cache_get(1000 + i / 2)[0] != '\0';
    /* the least recently used entry, asked for again, becomes the most recent: the next miss
     * evicts the entry after it */
    unsigned oldest = 1000 + REQUESTS / 2 - CACHE_MAX;
    total += cache_get(oldest)[0] != '\0';
    total += cache_get(2000)[0] != '\0';
    size_t cached = drip_lru_count(g_cache.lru);
    drip_lru_destroy(g_cache.lru);      /* FIX: frees every remaining entry via cache_entry_free */
    g_cache.lru = NULL;
    printf("growing_cache_lru: %u requests, %u misses, %u evictions (last: key %u), %zu entries cached "
           "(%zu served), %u freed at shutdown\n",
           REQUESTS + 2, g_cache.misses, g_cache.evictions, g_cache.last_evicted, cached, total, g_cache.destroyed);
    return 0;
}
