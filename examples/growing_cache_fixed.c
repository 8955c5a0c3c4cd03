/*
 * growing_cache_fixed.c: the fixed twin of growing_cache.c. The cache holds at
 * most CACHE_MAX entries: inserting one more evicts (frees) the oldest, so
 * memory follows the working set, not the history. At shutdown the program
 * empties the cache.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
 * While it runs, live bytes at cache_insert plateau at 32 * 64 = 2,048.
 */
#include <stdio.h>
#include <stdlib.h>

enum { REQUESTS = 512, CACHE_MAX = 32 };

/* One cached value; 64 bytes on x86-64. */
struct cache_entry {
    struct cache_entry *next;           /* newer entries first */
    unsigned key;
    unsigned hits;
    char value[48];
};

/* The cache: at most CACHE_MAX entries, newest first. */
static struct {
    struct cache_entry *head;
    unsigned count;
    unsigned misses;
    unsigned evictions;
} g_cache;

/* Computes the (expensive, in real life) value for key into value. */
static void compute_value(unsigned key, char *value, size_t size)
{
    snprintf(value, size, "profile of user %u", key);
}

/* Frees the oldest entry (the last of the list); the cache must not be empty. */
static void cache_evict_oldest(void)
{
    struct cache_entry **link = &g_cache.head;
    while ((*link)->next != NULL)
        link = &(*link)->next;
    free(*link);
    *link = NULL;
    g_cache.count--;
    g_cache.evictions++;
}

/* Adds a new entry for key at the front of the cache and returns it; exits on OOM. */
static __attribute__((noinline)) struct cache_entry *cache_insert(unsigned key)
{
    if (g_cache.count == CACHE_MAX)
        cache_evict_oldest();           /* FIX: bounded */
    struct cache_entry *e = malloc(sizeof *e);
    if (e == NULL)
        exit(1);
    e->key = key;
    e->hits = 0;
    compute_value(key, e->value, sizeof e->value);
    e->next = g_cache.head;
    g_cache.head = e;
    g_cache.count++;
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

/* Frees every entry; the cache is empty (and usable) afterwards. */
static void cache_clear(void)
{
    while (g_cache.head != NULL) {
        struct cache_entry *next = g_cache.head->next;
        free(g_cache.head);
        g_cache.head = next;
    }
    g_cache.count = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    size_t total = 0;
    for (unsigned i = 0; i < REQUESTS; i++)
        total += cache_get(1000 + i / 2)[0] != '\0';
    printf("growing_cache_fixed: %u requests, %u misses, %u evictions, %u entries cached (%zu served)\n",
           REQUESTS, g_cache.misses, g_cache.evictions, g_cache.count, total);
    cache_clear();
    return 0;
}
