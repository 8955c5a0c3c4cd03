/*
 * drip/ref.h - atomic reference counting with real weak references.
 *
 * A drip_ref is a control block that owns one object through a destructor
 * callback.  Strong references keep the object alive; when the last strong
 * reference is released the destructor runs exactly once.  Weak references
 * (drip_weak) never keep the object alive: drip_weak_get() returns a new
 * strong reference while the object lives and NULL once it is gone, with no
 * window in which it could resurrect an object that is being destroyed.
 *
 * How: the control block holds `strong` and `weak` counts.  All strong
 * references together hold one weak count, so the block outlives the object
 * until the last weak reference (or the last strong one, if there never were
 * weak ones) is dropped.  drip_weak_get increments `strong` only by
 * compare-and-swap from a non-zero value; once `strong` reaches zero it never
 * rises again.  This is the std::shared_ptr / Rust Arc design.
 *
 * Threads: every function is lock-free and thread-safe on distinct references
 * to the same block; what a caller may not do is release a reference it does
 * not hold.  The destructor runs on whichever thread drops the last strong
 * reference, and sees every write made by threads before their release.
 */
#ifndef DRIP_REF_H
#define DRIP_REF_H

#include <stddef.h>
#include "drip/safe_alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drip_ref drip_ref;   /* a strong reference */
typedef struct drip_weak drip_weak; /* a weak reference (same block, other type) */

/* Frees (or otherwise disposes of) the object; called once. */
typedef void (*drip_ref_dtor)(void *obj, void *arg);

/* Wrap `obj` in a new control block holding one strong reference.  `dtor` may
 * be NULL (nothing to do at zero).  Returns NULL with errno ENOMEM, and then
 * obj is still the caller's. */
DRIP_SAFE_API drip_ref *drip_ref_create(void *obj, drip_ref_dtor dtor, void *arg,
                                        const drip_allocator *alloc);

/* The object; valid while the caller holds this strong reference. */
DRIP_SAFE_API void *drip_ref_obj(const drip_ref *r);

/* Take another strong reference; returns r (NULL passes through). */
DRIP_SAFE_API drip_ref *drip_ref_retain(drip_ref *r);

/* Drop a strong reference: the last one runs the destructor, and frees the
 * block too if no weak reference remains.  NULL is a no-op. */
DRIP_SAFE_API void drip_ref_release(drip_ref *r);

/* Strong count at the instant of reading: only meaningful to tests and
 * diagnostics, since other threads may change it right after. */
DRIP_SAFE_API size_t drip_ref_count(const drip_ref *r);

/* A new weak reference to r's object; the caller must hold a strong reference
 * while calling.  Never fails (no allocation).  NULL passes through. */
DRIP_SAFE_API drip_weak *drip_weak_create(drip_ref *r);

/* Another weak reference to the same block. */
DRIP_SAFE_API drip_weak *drip_weak_retain(drip_weak *w);

/* A new strong reference if the object is still alive, else NULL.  Pair a
 * non-NULL result with drip_ref_release. */
DRIP_SAFE_API drip_ref *drip_weak_get(drip_weak *w);

/* Drop a weak reference; the last reference of either kind frees the block.
 * NULL is a no-op. */
DRIP_SAFE_API void drip_weak_release(drip_weak *w);

#ifdef __cplusplus
}
#endif
#endif /* DRIP_REF_H */
