/*
 * drip/registry.h - the set of live handles (connections, sessions, files).
 *
 * The "server forgets closed connections" pattern: every open handle is
 * registered with a close callback and gets an id; closing it through the
 * registry removes the entry and frees it, so the set never accumulates dead
 * handles, and drip_registry_close_all at shutdown closes whatever is left.
 *
 * Handles are named by a 64-bit id, never reused, rather than by a pointer:
 * the common race "connection thread closes its handle while shutdown's
 * close_all closes everything" then ends with one side getting -ENOENT instead
 * of a use-after-free or a double close.  Each close callback runs exactly
 * once.
 *
 * Locking: an internal mutex guards the set; every function is thread-safe
 * except drip_registry_destroy, which must not race with other calls.  Close
 * callbacks run after the mutex is dropped, so they may call back in (e.g. to
 * register a replacement); foreach callbacks run under it and must not.
 */
#ifndef DRIP_REGISTRY_H
#define DRIP_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include "drip/safe_alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drip_registry drip_registry;
typedef uint64_t drip_handle_id;   /* 0 is never a valid id */

/* Releases the handle's resources (close the fd, free the struct). */
typedef void (*drip_registry_close_fn)(void *obj, void *arg);

/* foreach callback: return a mask of the flags below (0 = continue). */
enum {
    DRIP_REGISTRY_STOP = 1,  /* stop iterating */
    DRIP_REGISTRY_CLOSE = 2, /* close this handle (after the walk, unlocked) */
};
typedef int (*drip_registry_visit_fn)(drip_handle_id id, void *obj, void *arg);

/* NULL with errno ENOMEM. */
DRIP_SAFE_API drip_registry *drip_registry_create(const drip_allocator *alloc);

/* close_all, then free.  NULL is a no-op. */
DRIP_SAFE_API void drip_registry_destroy(drip_registry *r);

/* Register `obj`; `close` (may be NULL) runs once when it is closed.  Returns
 * the new id (> 0) through *id.  0, or -EINVAL / -ENOMEM with the registry
 * unchanged and obj still the caller's. */
DRIP_SAFE_API int drip_registry_add(drip_registry *r, void *obj, drip_registry_close_fn close,
                                    void *arg, drip_handle_id *id);

/* Remove `id`, call its close callback and free the entry.  0, or -ENOENT if
 * there is no such handle (never registered or already closed). */
DRIP_SAFE_API int drip_registry_close(drip_registry *r, drip_handle_id id);

/* Remove `id` without calling close: the caller takes obj back.  0/-ENOENT. */
DRIP_SAFE_API int drip_registry_forget(drip_registry *r, drip_handle_id id, void **obj);

/* Visit live handles oldest first; see DRIP_REGISTRY_STOP / _CLOSE.  Returns
 * the number visited. */
DRIP_SAFE_API size_t drip_registry_foreach(drip_registry *r, drip_registry_visit_fn fn, void *arg);

/* Close every handle (oldest first); returns how many. */
DRIP_SAFE_API size_t drip_registry_close_all(drip_registry *r);

DRIP_SAFE_API size_t drip_registry_count(drip_registry *r);

#ifdef __cplusplus
}
#endif
#endif /* DRIP_REGISTRY_H */
