/*
 * registry.c - live-handle set with close callbacks (see drip/registry.h).
 *
 * Entries live in a hash map keyed by the id's bytes (for close by id) and in
 * a doubly-linked list in registration order (for foreach/close_all).
 *
 * Lock: `mu` guards the map, the list and `next_id`.  Entries being closed are
 * unlinked under `mu` and their callbacks run after it is dropped.
 */
#include "drip/registry.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <stddef.h>
#include "hmap.h"
#include "util.h"

struct entry {
    struct entry *prev, *next;  /* registration order; `next` chains closings */
    void *obj;
    drip_registry_close_fn close;
    void *arg;
    struct drip__hnode h;
    drip_handle_id id;          /* the hash key: follows the node */
};
_Static_assert(offsetof(struct entry, id) == offsetof(struct entry, h) + sizeof(struct drip__hnode),
               "the key follows the hash node");

#define ENTRY(n) DRIP__ENTRY_OF(n, struct entry, h)

struct drip_registry {
    drip_allocator alloc;
    pthread_mutex_t mu;
    /* guarded by mu */
    struct drip__hmap map;
    struct entry *head, *tail;
    drip_handle_id next_id;
};

drip_registry *drip_registry_create(const drip_allocator *alloc)
{
    drip_allocator a = drip__alloc_resolve(alloc);
    drip_registry *r = drip__malloc(&a, sizeof *r);
    if (!r)
        goto fail;
    memset(r, 0, sizeof *r);
    r->alloc = a;
    r->next_id = 1;
    if (drip__hmap_init(&r->map, &a, 64) < 0)
        goto fail;
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        drip__hmap_fini(&r->map);
        goto fail;
    }
    return r;
fail:
    drip__free(&a, r);
    errno = ENOMEM;
    return NULL;
}

static void unlink_entry(drip_registry *r, struct entry *e)
{
    drip__hmap_remove(&r->map, &e->h);
    if (e->prev) e->prev->next = e->next; else r->head = e->next;
    if (e->next) e->next->prev = e->prev; else r->tail = e->prev;
    e->prev = e->next = NULL;
}

/* Run close callbacks and free; `list` is chained through next in order. */
static void close_list(drip_registry *r, struct entry *list)
{
    while (list) {
        struct entry *n = list->next;
        if (list->close)
            list->close(list->obj, list->arg);
        drip__free(&r->alloc, list);
        list = n;
    }
}

int drip_registry_add(drip_registry *r, void *obj, drip_registry_close_fn close,
                      void *arg, drip_handle_id *id)
{
    if (!r || !id)
        return -EINVAL;
    struct entry *e = drip__malloc(&r->alloc, sizeof *e);
    if (!e)
        return -ENOMEM;
    memset(e, 0, sizeof *e);
    e->obj = obj;
    e->close = close;
    e->arg = arg;
    pthread_mutex_lock(&r->mu);
    drip_handle_id got = e->id = r->next_id++;
    e->h.klen = sizeof e->id;
    e->h.hash = drip__hash(&e->id, sizeof e->id);
    drip__hmap_insert(&r->map, &e->h);
    e->prev = r->tail;
    if (r->tail) r->tail->next = e; else r->head = e;
    r->tail = e;
    pthread_mutex_unlock(&r->mu);
    /* Not e->id: once unlocked, another thread may already have closed and
     * freed e (found by safe_tsan). */
    *id = got;
    return 0;
}

static struct entry *take(drip_registry *r, drip_handle_id id)
{
    pthread_mutex_lock(&r->mu);
    struct entry *e = ENTRY(drip__hmap_find(&r->map, &id, sizeof id, drip__hash(&id, sizeof id)));
    if (e)
        unlink_entry(r, e);
    pthread_mutex_unlock(&r->mu);
    return e;
}

int drip_registry_close(drip_registry *r, drip_handle_id id)
{
    if (!r)
        return -EINVAL;
    struct entry *e = take(r, id);
    if (!e)
        return -ENOENT;
    close_list(r, e);
    return 0;
}

int drip_registry_forget(drip_registry *r, drip_handle_id id, void **obj)
{
    if (!r || !obj)
        return -EINVAL;
    struct entry *e = take(r, id);
    if (!e)
        return -ENOENT;
    *obj = e->obj;
    drip__free(&r->alloc, e);
    return 0;
}

size_t drip_registry_foreach(drip_registry *r, drip_registry_visit_fn fn, void *arg)
{
    if (!r || !fn)
        return 0;
    struct entry *closing = NULL, **ctail = &closing;
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (struct entry *e = r->head, *next; e; e = next) {
        next = e->next;
        n++;
        int flags = fn(e->id, e->obj, arg);
        if (flags & DRIP_REGISTRY_CLOSE) {
            unlink_entry(r, e);
            *ctail = e;
            ctail = &e->next;
        }
        if (flags & DRIP_REGISTRY_STOP)
            break;
    }
    pthread_mutex_unlock(&r->mu);
    close_list(r, closing);
    return n;
}

size_t drip_registry_close_all(drip_registry *r)
{
    if (!r)
        return 0;
    pthread_mutex_lock(&r->mu);
    /* Detach the whole list at once; unlink from the map entry by entry. */
    struct entry *list = r->head;
    size_t n = 0;
    for (struct entry *e = list; e; e = e->next, n++)
        drip__hmap_remove(&r->map, &e->h);
    r->head = r->tail = NULL;
    pthread_mutex_unlock(&r->mu);
    close_list(r, list);
    return n;
}

size_t drip_registry_count(drip_registry *r)
{
    if (!r)
        return 0;
    pthread_mutex_lock(&r->mu);
    size_t n = r->map.count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void drip_registry_destroy(drip_registry *r)
{
    if (!r)
        return;
    drip_registry_close_all(r);
    drip__hmap_fini(&r->map);
    pthread_mutex_destroy(&r->mu);
    drip_allocator a = r->alloc;
    drip__free(&a, r);
}
