/*
 * ttlmap.c - expiring map with an optional cleanup thread (see drip/ttlmap.h).
 *
 * Entries sit in a hash map for lookup and in a doubly-linked list sorted by
 * expiry (soonest at `head`).  Inserting walks back from the tail; with one
 * default TTL and a monotonic clock every new entry expires last, so the walk
 * stops at once and both insert and sweep are O(1) per entry.
 *
 * Lock: `mu` guards the map, the list and `stopping`.  `cv` (bound to
 * CLOCK_MONOTONIC) wakes the cleanup thread early at close.  Removed values
 * are collected under `mu` and freed after it is dropped.
 */
#include "drip/ttlmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include "hmap.h"
#include "util.h"

struct entry {
    struct entry *prev, *next;  /* expiry list; `next` also chains the graveyard */
    void *value;
    uint64_t expires;
    struct drip__hnode h;       /* the key follows it */
    unsigned char key[];
};

#define ENTRY(n) DRIP__ENTRY_OF(n, struct entry, h)

struct drip_ttlmap {
    /* immutable after create */
    uint64_t ttl, interval;
    void (*free_value)(void *, void *);
    void (*retain)(void *, void *);
    void *cb_arg;
    drip_clock_fn clock;
    void *clock_arg;
    drip_allocator alloc;
    bool has_thread;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu */
    struct drip__hmap map;
    struct entry *head, *tail;
    bool stopping;
};

static uint64_t now(const drip_ttlmap *m)
{
    return drip__now(m->clock, m->clock_arg);
}

static void list_unlink(drip_ttlmap *m, struct entry *e)
{
    if (e->prev) e->prev->next = e->next; else m->head = e->next;
    if (e->next) e->next->prev = e->prev; else m->tail = e->prev;
    e->prev = e->next = NULL;
}

/* Insert keeping the list sorted by `expires`; ties go after existing entries
 * so that equal expiries leave in insertion order. */
static void list_insert_sorted(drip_ttlmap *m, struct entry *e)
{
    struct entry *after = m->tail;
    while (after && after->expires > e->expires)
        after = after->prev;
    e->prev = after;
    e->next = after ? after->next : m->head;
    if (e->next) e->next->prev = e; else m->tail = e;
    if (after) after->next = e; else m->head = e;
}

static void bury(drip_ttlmap *m, struct entry *e, struct entry **grave)
{
    drip__hmap_remove(&m->map, &e->h);
    list_unlink(m, e);
    e->next = *grave;
    *grave = e;
}

static void flush(drip_ttlmap *m, struct entry *grave)
{
    while (grave) {
        struct entry *n = grave->next;
        if (m->free_value)
            m->free_value(grave->value, m->cb_arg);
        drip__free(&m->alloc, grave);
        grave = n;
    }
}

/* Bury expired entries from the head (lock held). */
static size_t bury_expired(drip_ttlmap *m, struct entry **grave)
{
    size_t n = 0;
    uint64_t t = now(m);
    while (m->head && t >= m->head->expires) {
        bury(m, m->head, grave);
        n++;
    }
    return n;
}

size_t drip_ttlmap_sweep(drip_ttlmap *m)
{
    if (!m)
        return 0;
    struct entry *grave = NULL;
    pthread_mutex_lock(&m->mu);
    size_t n = bury_expired(m, &grave);
    pthread_mutex_unlock(&m->mu);
    flush(m, grave);
    return n;
}

static struct timespec deadline_after(uint64_t ns)
{
    uint64_t t = drip__add_sat(drip_safe_now_ns(), ns);
    return (struct timespec){ .tv_sec = (time_t)(t / 1000000000ULL),
                              .tv_nsec = (long)(t % 1000000000ULL) };
}

static void *cleanup_main(void *arg)
{
    drip_ttlmap *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stopping) {
        struct timespec dl = deadline_after(m->interval);
        while (!m->stopping &&
               pthread_cond_timedwait(&m->cv, &m->mu, &dl) != ETIMEDOUT)
            ;
        if (m->stopping)
            break;
        struct entry *grave = NULL;
        bury_expired(m, &grave);
        /* Free outside the lock: free_value may be slow or take user locks. */
        pthread_mutex_unlock(&m->mu);
        flush(m, grave);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

drip_ttlmap *drip_ttlmap_create(const drip_ttlmap_options *opt)
{
    if (!opt || opt->ttl_ns == 0) {
        errno = EINVAL;
        return NULL;
    }
    drip_allocator a = drip__alloc_resolve(opt->alloc);
    drip_ttlmap *m = drip__malloc(&a, sizeof *m);
    if (!m) {
        errno = ENOMEM;
        return NULL;
    }
    memset(m, 0, sizeof *m);
    m->ttl = opt->ttl_ns;
    m->interval = opt->sweep_interval_ns;
    m->free_value = opt->free_value;
    m->retain = opt->retain;
    m->cb_arg = opt->cb_arg;
    m->clock = opt->clock;
    m->clock_arg = opt->clock_arg;
    m->alloc = a;
    int err = ENOMEM;
    if (drip__hmap_init(&m->map, &a, 64) < 0)
        goto fail_map;
    pthread_condattr_t ca;
    if ((err = pthread_mutex_init(&m->mu, NULL)) != 0)
        goto fail_mu;
    if ((err = pthread_condattr_init(&ca)) != 0)
        goto fail_ca;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    err = pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (err)
        goto fail_ca;
    if (m->interval) {
        if ((err = pthread_create(&m->thread, NULL, cleanup_main, m)) != 0)
            goto fail_thread;
        m->has_thread = true;
    }
    return m;
fail_thread:
    pthread_cond_destroy(&m->cv);
fail_ca:
    pthread_mutex_destroy(&m->mu);
fail_mu:
    drip__hmap_fini(&m->map);
fail_map:
    drip__free(&a, m);
    errno = err;
    return NULL;
}

void drip_ttlmap_close(drip_ttlmap *m)
{
    if (!m)
        return;
    if (m->has_thread) {
        pthread_mutex_lock(&m->mu);
        m->stopping = true;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        /* Join before freeing anything: the thread may be inside flush(). */
        pthread_join(m->thread, NULL);
    }
    struct entry *grave = NULL;
    while (m->head)
        bury(m, m->head, &grave);
    flush(m, grave);
    drip__hmap_fini(&m->map);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    drip_allocator a = m->alloc;
    drip__free(&a, m);
}

int drip_ttlmap_set(drip_ttlmap *m, const void *key, size_t klen, void *value, uint64_t ttl_ns)
{
    if (!m || !key)
        return -EINVAL;
    struct entry *e = drip__malloc(&m->alloc, sizeof *e + klen);
    if (!e)
        return -ENOMEM;
    memcpy(e->key, key, klen);
    e->h.klen = klen;
    e->h.hash = drip__hash(key, klen);
    e->value = value;
    e->expires = drip__add_sat(now(m), ttl_ns ? ttl_ns : m->ttl);
    struct entry *grave = NULL;
    pthread_mutex_lock(&m->mu);
    struct drip__hnode *old = drip__hmap_find(&m->map, key, klen, e->h.hash);
    if (old)
        bury(m, ENTRY(old), &grave);
    drip__hmap_insert(&m->map, &e->h);
    list_insert_sorted(m, e);
    pthread_mutex_unlock(&m->mu);
    flush(m, grave);
    return 0;
}

/* Takes the lock and finds a live entry (an expired one is buried and NULL returned); returns
 * with the lock held and the time it went by in *t. The hash and the time are computed before
 * the lock is taken, so that it is held for the lookup only. */
static struct entry *lock_find_live(drip_ttlmap *m, const void *key, size_t klen, uint64_t *t,
                                    struct entry **grave)
{
    uint64_t h = drip__hash(key, klen);
    *t = now(m);
    pthread_mutex_lock(&m->mu);
    struct entry *e = ENTRY(drip__hmap_find(&m->map, key, klen, h));
    if (e && *t >= e->expires) {
        bury(m, e, grave);
        return NULL;
    }
    return e;
}

int drip_ttlmap_get(drip_ttlmap *m, const void *key, size_t klen, void **value)
{
    if (!m || !key || !value)
        return -EINVAL;
    struct entry *grave = NULL;
    uint64_t t;
    struct entry *e = lock_find_live(m, key, klen, &t, &grave);
    if (e) {
        if (m->retain)
            m->retain(e->value, m->cb_arg);
        *value = e->value;
    }
    pthread_mutex_unlock(&m->mu);
    flush(m, grave);
    return e ? 0 : -ENOENT;
}

int drip_ttlmap_touch(drip_ttlmap *m, const void *key, size_t klen, uint64_t ttl_ns)
{
    if (!m || !key)
        return -EINVAL;
    struct entry *grave = NULL;
    uint64_t t;
    struct entry *e = lock_find_live(m, key, klen, &t, &grave);
    if (e) {
        list_unlink(m, e);
        e->expires = drip__add_sat(t, ttl_ns ? ttl_ns : m->ttl);
        list_insert_sorted(m, e);
    }
    pthread_mutex_unlock(&m->mu);
    flush(m, grave);
    return e ? 0 : -ENOENT;
}

int drip_ttlmap_take(drip_ttlmap *m, const void *key, size_t klen, void **value)
{
    if (!m || !key || !value)
        return -EINVAL;
    struct entry *grave = NULL;
    uint64_t t;
    struct entry *e = lock_find_live(m, key, klen, &t, &grave);
    if (e) {
        drip__hmap_remove(&m->map, &e->h);
        list_unlink(m, e);
    }
    pthread_mutex_unlock(&m->mu);
    flush(m, grave);
    if (!e)
        return -ENOENT;
    *value = e->value;
    drip__free(&m->alloc, e);
    return 0;
}

int drip_ttlmap_delete(drip_ttlmap *m, const void *key, size_t klen)
{
    if (!m || !key)
        return -EINVAL;
    struct entry *grave = NULL;
    pthread_mutex_lock(&m->mu);
    struct entry *e = ENTRY(drip__hmap_find(&m->map, key, klen, drip__hash(key, klen)));
    if (e)
        bury(m, e, &grave);
    pthread_mutex_unlock(&m->mu);
    flush(m, grave);
    return e ? 0 : -ENOENT;
}

size_t drip_ttlmap_count(drip_ttlmap *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    size_t n = m->map.count;
    pthread_mutex_unlock(&m->mu);
    return n;
}
