/*
 * lru.c - bounded LRU cache (see include/drip/lru.h).
 *
 * Layout: every entry is one allocation holding the hash node, the recency
 * links, the value pointer and a copy of the key.  The recency list runs from
 * `head` (most recent) to `tail` (least recent).
 *
 * Lock: `mu` (only when thread_safe) guards everything in struct drip_lru
 * except the immutable configuration.  Removed entries are parked on a local
 * "graveyard" list while the lock is held and only handed to on_evict and
 * freed after it is dropped, so a callback may re-enter the cache and a slow
 * free never blocks other threads.
 */
#include "drip/lru.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "hmap.h"
#include "util.h"

/* What an exact-LRU get touches (links, value, expiry, node, key) is contiguous at the end of the
 * entry; `used` fills the padding after `why` rather than adding 8 bytes (and a malloc size class). */
struct entry {
    size_t bytes;
    drip_lru_reason why;        /* set when moved to the graveyard */
    bool used;                  /* second_chance: hit since it was last (re)linked */
    struct entry *prev, *next;  /* recency list; `next` also chains the graveyard */
    void *value;
    uint64_t expires;           /* UINT64_MAX = never */
    struct drip__hnode h;       /* the key follows it */
    unsigned char key[];
};

#define ENTRY(n) DRIP__ENTRY_OF(n, struct entry, h)

struct drip_lru {
    /* immutable after create */
    size_t max_entries, max_bytes;
    bool ts;
    bool second_chance;
    drip_lru_evict_fn on_evict;
    drip_lru_retain_fn retain;
    void *cb_arg;
    drip_clock_fn clock;
    void *clock_arg;
    drip_allocator alloc;
    pthread_mutex_t mu;
    atomic_bool any_ttl;        /* set (for good) by the first put with a TTL; read without mu */
    /* guarded by mu */
    struct drip__hmap map;
    struct entry *head, *tail;
    size_t bytes;
};

static void lock(drip_lru *c)
{
    if (c->ts)
        pthread_mutex_lock(&c->mu);
}

static void unlock(drip_lru *c)
{
    if (c->ts)
        pthread_mutex_unlock(&c->mu);
}

drip_lru *drip_lru_create(const drip_lru_options *opt)
{
    if (!opt || (opt->max_entries == 0 && opt->max_bytes == 0)) {
        errno = EINVAL;
        return NULL;
    }
    drip_allocator a = drip__alloc_resolve(opt->alloc);
    drip_lru *c = drip__malloc(&a, sizeof *c);
    if (!c)
        goto nomem;
    memset(c, 0, sizeof *c);
    c->max_entries = opt->max_entries;
    c->max_bytes = opt->max_bytes;
    c->ts = opt->thread_safe;
    c->second_chance = opt->second_chance;
    c->on_evict = opt->on_evict;
    c->retain = opt->retain;
    c->cb_arg = opt->cb_arg;
    c->clock = opt->clock;
    c->clock_arg = opt->clock_arg;
    c->alloc = a;
    /* Size the table for the entry cap when there is one, so a full cache
     * never rehashes; capped at 1024 buckets so a huge cap costs nothing up
     * front. */
    size_t hint = opt->max_entries && opt->max_entries < 1024 ? opt->max_entries : 1024;
    if (drip__hmap_init(&c->map, &a, hint) < 0)
        goto nomem;
    if (c->ts && pthread_mutex_init(&c->mu, NULL) != 0) {
        drip__hmap_fini(&c->map);
        goto nomem;
    }
    return c;
nomem:
    drip__free(&a, c);
    errno = ENOMEM;
    return NULL;
}

static void list_unlink(drip_lru *c, struct entry *e)
{
    if (e->prev) e->prev->next = e->next; else c->head = e->next;
    if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(drip_lru *c, struct entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e; else c->tail = e;
    c->head = e;
}

/* Detach `e` from the cache (lock held) and park it on *grave. */
static void bury(drip_lru *c, struct entry *e, drip_lru_reason why, struct entry **grave)
{
    drip__hmap_remove(&c->map, &e->h);
    list_unlink(c, e);
    c->bytes -= e->bytes;
    e->why = why;
    e->next = *grave;
    *grave = e;
}

/* Hand buried entries to their owner and free them (lock NOT held).  The list
 * is in reverse burial order; reverse it so callbacks see eviction order. */
static void flush(drip_lru *c, struct entry *grave)
{
    struct entry *rev = NULL;
    while (grave) {
        struct entry *n = grave->next;
        grave->next = rev;
        rev = grave;
        grave = n;
    }
    while (rev) {
        struct entry *n = rev->next;
        if (c->on_evict)
            c->on_evict(rev->key, rev->h.klen, rev->value, rev->bytes, rev->why, c->cb_arg);
        drip__free(&c->alloc, rev);
        rev = n;
    }
}

/* Would one more entry of `bytes` break a limit? */
static bool no_room(const drip_lru *c, size_t bytes)
{
    return (c->max_entries && c->map.count + 1 > c->max_entries) ||
           (c->max_bytes && c->bytes + bytes > c->max_bytes);
}

int drip_lru_put(drip_lru *c, const void *key, size_t klen, void *value,
                 size_t bytes, uint64_t ttl_ns)
{
    if (!c || !key)
        return -EINVAL;
    if (c->max_bytes && bytes > c->max_bytes)
        return -E2BIG;
    /* Allocate and fill before taking the lock: the only fallible step
     * happens before anything shared is touched, so failure changes nothing. */
    struct entry *e = drip__malloc(&c->alloc, sizeof *e + klen);
    if (!e)
        return -ENOMEM;
    memcpy(e->key, key, klen);
    e->h.klen = klen;
    e->h.hash = drip__hash(key, klen);
    e->value = value;
    e->bytes = bytes;
    e->prev = e->next = NULL;
    e->used = false;
    uint64_t now = 0;
    bool have_now = false;
    if (ttl_ns) {
        now = drip__now(c->clock, c->clock_arg);
        have_now = true;
        e->expires = drip__add_sat(now, ttl_ns);
        if (!atomic_load_explicit(&c->any_ttl, memory_order_relaxed))
            atomic_store_explicit(&c->any_ttl, true, memory_order_relaxed);
    } else {
        e->expires = UINT64_MAX;
    }

    struct entry *grave = NULL;
    lock(c);
    struct drip__hnode *old = drip__hmap_find(&c->map, key, klen, e->h.hash);
    if (old)
        bury(c, ENTRY(old), DRIP_LRU_REPLACED, &grave);
    /* Make room before linking the new entry, so that it is never the victim. It fits on its own
     * (checked above), so the loop ends by the time the list is empty; with second_chance each
     * entry is passed over at most once per put, so within 2 x count steps. */
    while (c->tail && no_room(c, bytes)) {
        struct entry *t = c->tail;
        drip_lru_reason why = DRIP_LRU_EVICTED;
        if (t->expires != UINT64_MAX) {
            if (!have_now) {
                now = drip__now(c->clock, c->clock_arg);
                have_now = true;
            }
            if (now >= t->expires)
                why = DRIP_LRU_EXPIRED;
        }
        if (t->used && why == DRIP_LRU_EVICTED) {
            t->used = false;
            list_unlink(c, t);
            list_push_front(c, t);
            continue;
        }
        bury(c, t, why, &grave);
    }
    drip__hmap_insert(&c->map, &e->h);
    list_push_front(c, e);
    c->bytes += bytes;
    unlock(c);
    flush(c, grave);
    return 0;
}

int drip_lru_get(drip_lru *c, const void *key, size_t klen, void **value)
{
    if (!c || !key || !value)
        return -EINVAL;
    /* Hash and clock before the lock: its atomic orders everything after it, so work done inside
     * cannot overlap the lookup's cache misses (single-threaded gets were 1.2x slower with them
     * inside). The time may be older than the lock by the wait for it. */
    uint64_t h = drip__hash(key, klen);
    bool ttl = atomic_load_explicit(&c->any_ttl, memory_order_relaxed);
    uint64_t t = ttl ? drip__now(c->clock, c->clock_arg) : 0;
    struct entry *grave = NULL;
    int rc = -ENOENT;
    lock(c);
    struct entry *e = ENTRY(drip__hmap_find(&c->map, key, klen, h));
    if (e && e->expires != UINT64_MAX &&
        (ttl ? t : drip__now(c->clock, c->clock_arg)) >= e->expires) {
        bury(c, e, DRIP_LRU_EXPIRED, &grave);
    } else if (e) {
        if (c->second_chance) {
            if (!e->used)   /* test first: a hot entry's line is not written again */
                e->used = true;
        } else if (c->head != e) {
            list_unlink(c, e);
            list_push_front(c, e);
        }
        if (c->retain)
            c->retain(e->value, c->cb_arg);
        *value = e->value;
        rc = 0;
    }
    unlock(c);
    flush(c, grave);
    return rc;
}

int drip_lru_delete(drip_lru *c, const void *key, size_t klen)
{
    if (!c || !key)
        return -EINVAL;
    uint64_t h = drip__hash(key, klen);
    struct entry *grave = NULL;
    lock(c);
    struct drip__hnode *n = drip__hmap_find(&c->map, key, klen, h);
    if (n)
        bury(c, ENTRY(n), DRIP_LRU_DELETED, &grave);
    unlock(c);
    flush(c, grave);
    return n ? 0 : -ENOENT;
}

size_t drip_lru_sweep(drip_lru *c)
{
    if (!c)
        return 0;
    struct entry *grave = NULL;
    size_t n = 0;
    lock(c);
    uint64_t now = drip__now(c->clock, c->clock_arg);
    /* Walk from the tail so expired entries are reported least-recent first. */
    for (struct entry *e = c->tail, *prev; e; e = prev) {
        prev = e->prev;
        if (now >= e->expires) {
            bury(c, e, DRIP_LRU_EXPIRED, &grave);
            n++;
        }
    }
    unlock(c);
    flush(c, grave);
    return n;
}

/* Bury everything, least recent first. */
static struct entry *bury_all(drip_lru *c)
{
    struct entry *grave = NULL;
    while (c->tail)
        bury(c, c->tail, DRIP_LRU_DESTROYED, &grave);
    return grave;
}

void drip_lru_clear(drip_lru *c)
{
    if (!c)
        return;
    lock(c);
    struct entry *grave = bury_all(c);
    unlock(c);
    flush(c, grave);
}

void drip_lru_destroy(drip_lru *c)
{
    if (!c)
        return;
    flush(c, bury_all(c));
    drip__hmap_fini(&c->map);
    if (c->ts)
        pthread_mutex_destroy(&c->mu);
    drip_allocator a = c->alloc;
    drip__free(&a, c);
}

size_t drip_lru_count(drip_lru *c)
{
    if (!c)
        return 0;
    lock(c);
    size_t n = c->map.count;
    unlock(c);
    return n;
}

size_t drip_lru_bytes(drip_lru *c)
{
    if (!c)
        return 0;
    lock(c);
    size_t n = c->bytes;
    unlock(c);
    return n;
}
