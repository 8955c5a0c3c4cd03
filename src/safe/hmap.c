/*
 * hmap.c - intrusive chained hash table (see hmap.h).
 *
 * Load factor is kept at or below 1 by doubling; the table never shrinks
 * because the owning structures are bounded or short-lived and a shrink would
 * add an allocation to the delete path.
 */
#include "hmap.h"

#include <errno.h>
#include <string.h>
#include "util.h"

/* FNV-1a, 64-bit (http://www.isthe.com/chongo/tech/comp/fnv/).  Keys are
 * short strings; this is not meant to resist hash flooding. */
uint64_t drip__hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    /* Fold high bits down: buckets are picked with a mask of the low bits. */
    return h ^ (h >> 29);
}

int drip__hmap_init(struct drip__hmap *m, const drip_allocator *a, size_t nbuckets)
{
    size_t n = 8;
    while (n < nbuckets)
        n <<= 1;
    m->alloc = drip__alloc_resolve(a);
    m->buckets = drip__malloc(&m->alloc, n * sizeof *m->buckets);
    if (!m->buckets)
        return -ENOMEM;
    memset(m->buckets, 0, n * sizeof *m->buckets);
    m->mask = n - 1;
    m->count = 0;
    return 0;
}

void drip__hmap_fini(struct drip__hmap *m)
{
    drip__free(&m->alloc, m->buckets);
    m->buckets = NULL;
}

struct drip__hnode *drip__hmap_find(const struct drip__hmap *m, const void *key,
                                    size_t klen, uint64_t hash)
{
    for (struct drip__hnode *n = m->buckets[hash & m->mask]; n; n = n->next)
        if (n->hash == hash && n->klen == klen && memcmp(drip__hnode_key(n), key, klen) == 0)
            return n;
    return NULL;
}

/* Doubling rehash.  On allocation failure the old table stays in place. */
static void grow(struct drip__hmap *m)
{
    size_t n = (m->mask + 1) * 2;
    struct drip__hnode **nb = drip__malloc(&m->alloc, n * sizeof *nb);
    if (!nb)
        return;
    memset(nb, 0, n * sizeof *nb);
    for (size_t i = 0; i <= m->mask; i++) {
        struct drip__hnode *e = m->buckets[i];
        while (e) {
            struct drip__hnode *next = e->next;
            e->next = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    drip__free(&m->alloc, m->buckets);
    m->buckets = nb;
    m->mask = n - 1;
}

void drip__hmap_insert(struct drip__hmap *m, struct drip__hnode *n)
{
    if (m->count + 1 > m->mask + 1)
        grow(m);
    struct drip__hnode **b = &m->buckets[n->hash & m->mask];
    n->next = *b;
    *b = n;
    m->count++;
}

void drip__hmap_remove(struct drip__hmap *m, struct drip__hnode *n)
{
    struct drip__hnode **pp = &m->buckets[n->hash & m->mask];
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    n->next = NULL;
    m->count--;
}
