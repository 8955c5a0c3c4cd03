/*
 * ref.c - strong/weak reference counting (see drip/ref.h).
 *
 * Invariants:
 *   weak == (number of drip_weak references) + (strong > 0 ? 1 : 0)
 *   once strong == 0 it stays 0 (weak_get only CASes up from non-zero)
 * Memory ordering follows the usual refcount recipe: increments by a holder
 * are relaxed (it already keeps the block alive); decrements are acq_rel, so
 * the thread that reaches zero sees every other holder's writes to the object.
 * (acq_rel on the decrement rather than release + acquire fence: ThreadSanitizer
 * does not model standalone fences, and the cost is nil on x86.)  No locks.
 */
#include "drip/ref.h"

#include <errno.h>
#include <stdatomic.h>
#include "util.h"

struct drip_ref {
    atomic_size_t strong;
    atomic_size_t weak;
    void *obj;
    drip_ref_dtor dtor;
    void *arg;
    drip_allocator alloc;
};

/* drip_weak is the same block viewed through another type. */
static struct drip_ref *block(drip_weak *w) { return (struct drip_ref *)w; }

drip_ref *drip_ref_create(void *obj, drip_ref_dtor dtor, void *arg, const drip_allocator *alloc)
{
    drip_allocator a = drip__alloc_resolve(alloc);
    drip_ref *r = drip__malloc(&a, sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    atomic_init(&r->strong, 1);
    atomic_init(&r->weak, 1);   /* the one held on behalf of all strong refs */
    r->obj = obj;
    r->dtor = dtor;
    r->arg = arg;
    r->alloc = a;
    return r;
}

void *drip_ref_obj(const drip_ref *r)
{
    return r ? r->obj : NULL;
}

drip_ref *drip_ref_retain(drip_ref *r)
{
    if (r)
        atomic_fetch_add_explicit(&r->strong, 1, memory_order_relaxed);
    return r;
}

static void weak_drop(struct drip_ref *r)
{
    if (atomic_fetch_sub_explicit(&r->weak, 1, memory_order_acq_rel) == 1) {
        drip_allocator a = r->alloc;
        drip__free(&a, r);
    }
}

void drip_ref_release(drip_ref *r)
{
    if (!r)
        return;
    if (atomic_fetch_sub_explicit(&r->strong, 1, memory_order_acq_rel) == 1) {
        if (r->dtor)
            r->dtor(r->obj, r->arg);
        r->obj = NULL;
        weak_drop(r);   /* the strong refs' collective weak count */
    }
}

size_t drip_ref_count(const drip_ref *r)
{
    return r ? atomic_load_explicit(&((drip_ref *)r)->strong, memory_order_relaxed) : 0;
}

drip_weak *drip_weak_create(drip_ref *r)
{
    if (!r)
        return NULL;
    atomic_fetch_add_explicit(&r->weak, 1, memory_order_relaxed);
    return (drip_weak *)r;
}

drip_weak *drip_weak_retain(drip_weak *w)
{
    if (w)
        atomic_fetch_add_explicit(&block(w)->weak, 1, memory_order_relaxed);
    return w;
}

drip_ref *drip_weak_get(drip_weak *w)
{
    if (!w)
        return NULL;
    struct drip_ref *r = block(w);
    size_t n = atomic_load_explicit(&r->strong, memory_order_relaxed);
    while (n != 0) {
        /* Acquire on success pairs with the release in drip_ref_release, so
         * the new holder sees the object as the last releaser left it. */
        if (atomic_compare_exchange_weak_explicit(&r->strong, &n, n + 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return r;
    }
    return NULL;
}

void drip_weak_release(drip_weak *w)
{
    if (w)
        weak_drop(block(w));
}
