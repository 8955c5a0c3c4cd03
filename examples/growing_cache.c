/*
 * growing_cache.c: a global cache that only grows. Every miss adds an entry and
 * nothing ever leaves, so memory grows with the number of distinct keys ever
 * seen, not with the working set. Nothing is "lost": the cache can reach every
 * entry, so the leak checker reports them as still reachable, and the growth
 * detector names cache_insert as a site that keeps growing.
 *
 * The program serves 512 requests for 256 distinct keys (each key is asked for
 * twice in a row, so half the lookups hit).
 *
 * expected (drip and valgrind --leak-check=full --show-leak-kinds=all agree):
 *   16,384 bytes in 256 blocks still reachable in cache_insert
 *   (called from cache_get, called from main);
 *   nothing definite, indirect or possible; no threads.
 *
 * Fixed twin: growing_cache_fixed.c bounds the cache at 32 entries, evicting
 * the oldest, and empties it at shutdown.
 */
#include <stdio.h>
#include <stdlib.h>

enum { REQUESTS = 512 };

/* One cached value; 64 bytes on x86-64. */
struct cache_entry {
    struct cache_entry *next;           /* newer entries first */
    unsigned key;
    unsigned hits;
    char value[48];
};

/* The cache: every entry ever inserted, newest first. */
static struct {
    struct cache_entry *head;
    unsigned count;
    unsigned misses;
} g_cache;

/* Computes the (expensive, in real life) value for key into value. */
static void compute_value(unsigned key, char *value, size_t size)
{
    snprintf(value, size, "profile of user %u", key);
}

/* Adds a new entry for key at the front of the cache and returns it; exits on OOM. */
static __attribute__((noinline)) struct cache_entry *cache_insert(unsigned key)
{
    struct cache_entry *e = malloc(sizeof *e);
    if (e == NULL)
        exit(1);
    e->key = key;
    e->hits = 0;
    compute_value(key, e->value, sizeof e->value);
    e->next = g_cache.head;
    g_cache.head = e;
    g_cache.count++;                    /* BUG: nothing bounds this */
    return e;
}

/* Returns the value for key, computing and caching it on a miss. */
static __attribute__((noinline)) const char *cache_get(unsigned key)
{
    for (struct cache_entry *e = g_cache.head; e != NULL; e = e->next) {
        if (e->key == key) {
            e->hits++;
            return e->value;
        }
    }
    g_cache.misses++;
    return cache_insert(key)->value;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    size_t total = 0;
    for (unsigned i = 0; i < REQUESTS; i++)
        total += cache_get(1000 + i / 2)[0] != '\0';
    printf("growing_cache: %u requests, %u misses, %u entries still cached (%zu served)\n",
           REQUESTS, g_cache.misses, g_cache.count, total);
    return 0;
}
