/*
 * hmap.h - intrusive chained hash table keyed by byte strings.
 *
 * Shared by lru, ttlmap and registry (and by bench_safe as the "plain map"
 * baseline).  The table never allocates nodes: callers embed a drip__hnode in
 * their entry and own its memory, so an insert cannot fail.  The only
 * allocation is the bucket array; a failed grow is not an error (the table
 * keeps working with longer chains and retries at the next insert), which is
 * why inserting never changes what a caller's operation returns.
 *
 * No locking: the owning module's lock (if any) guards the whole table.
 */
#ifndef DRIP_SAFE_HMAP_H
#define DRIP_SAFE_HMAP_H

#include <stddef.h>
#include <stdint.h>
#include "drip/safe_alloc.h"

/* The key's bytes follow the node in memory: embed the node as the last member before the key
 * (a flexible array, or a field at offset sizeof(struct drip__hnode), checked with
 * _Static_assert).  No key pointer: in a cache larger than the CPU's, the bytes a lookup touches
 * are the cost, and this keeps node and key on as few cache lines as possible. */
struct drip__hnode {
    struct drip__hnode *next;   /* bucket chain */
    uint64_t hash;
    size_t klen;
};

static inline const unsigned char *drip__hnode_key(const struct drip__hnode *n)
{
    return (const unsigned char *)(n + 1);
}

/* The entry of type `type` whose member `field` is the node `n` (NULL stays NULL). */
#define DRIP__ENTRY_OF(n, type, field) \
    ((n) ? (type *)(void *)((char *)(n) - offsetof(type, field)) : (type *)NULL)

struct drip__hmap {
    struct drip__hnode **buckets;
    size_t mask;                /* nbuckets - 1, nbuckets a power of two */
    size_t count;
    drip_allocator alloc;
};

uint64_t drip__hash(const void *key, size_t len);

/* 0 or -ENOMEM (nothing allocated). */
int drip__hmap_init(struct drip__hmap *m, const drip_allocator *a, size_t nbuckets);
/* Frees the bucket array only; the nodes belong to the caller. */
void drip__hmap_fini(struct drip__hmap *m);

struct drip__hnode *drip__hmap_find(const struct drip__hmap *m, const void *key,
                                    size_t klen, uint64_t hash);
/* The node's klen and hash must be set and its key follow it; the key must not be present. */
void drip__hmap_insert(struct drip__hmap *m, struct drip__hnode *n);
/* The node must be present. */
void drip__hmap_remove(struct drip__hmap *m, struct drip__hnode *n);

#endif
