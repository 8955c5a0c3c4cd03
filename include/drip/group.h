/*
 * drip/group.h - a group of worker threads bound to one cancellation context.
 *
 * drip_group_start runs N threads of fn(ctx, index, arg) on the group's
 * context (a child of the context given at create); drip_group_shutdown
 * cancels that context, waits up to a timeout for the workers to return,
 * joins them, and reports how many did not stop in time.  Workers are
 * expected to watch the context (drip_ctx_wait / err / fd) and return.
 *
 * Stragglers are never killed (pthread_cancel would leak whatever they hold)
 * and never silently forgotten: shutdown returns their number, they stay
 * joinable, and a later shutdown call waits for them again.  If the group is
 * destroyed while some are still running, they are detached; each keeps the
 * group's internal state and its context reference alive until its fn
 * returns, and the last one to return frees them.  Nothing leaks unless a
 * worker never returns, in which case that thread and a few hundred bytes stay
 * reachable from it - the count from shutdown is your signal.
 *
 * Locking: a mutex inside the group guards its worker list.  start, shutdown,
 * running and destroy may be called from any thread but not from inside a
 * worker of the same group (shutdown would wait for itself).
 */
#ifndef DRIP_GROUP_H
#define DRIP_GROUP_H

#include <stdint.h>
#include "drip/ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drip_group drip_group;

/* A worker.  `ctx` is borrowed and valid until fn returns. */
typedef void (*drip_group_fn)(drip_ctx *ctx, unsigned index, void *arg);

/* A group whose context is a child of `parent` (cancelling the parent stops
 * the group) or a new root if parent is NULL.  `alloc` is used for the
 * group's own records (and the root ctx when parent is NULL).  NULL with errno
 * ENOMEM. */
DRIP_SAFE_API drip_group *drip_group_create(drip_ctx *parent, const drip_allocator *alloc);

/* The group's context (borrowed; valid until drip_group_destroy). */
DRIP_SAFE_API drip_ctx *drip_group_ctx(drip_group *g);

/* Start `n` workers, indices 0..n-1 (counting per call).  All or nothing: if
 * any allocation or pthread_create fails, the threads already created exit
 * without running fn, are joined, and the call returns -ENOMEM / -EAGAIN
 * with the group unchanged.  -EINVAL on NULL g/fn or n == 0.  Starting on a
 * cancelled group is allowed: the workers see a done context. */
DRIP_SAFE_API int drip_group_start(drip_group *g, unsigned n, drip_group_fn fn, void *arg);

/* Cancel the group's context, wait up to `timeout_ns` (DRIP_CTX_FOREVER: no
 * limit) for every worker to return, and join those that did.  Returns the
 * number of workers still running (0 = all stopped and joined), or -EINVAL. */
DRIP_SAFE_API int drip_group_shutdown(drip_group *g, uint64_t timeout_ns);

/* Workers started and not yet returned. */
DRIP_SAFE_API unsigned drip_group_running(drip_group *g);

/* Cancel, join the workers that have returned, detach any still running (see
 * the header comment) and free the group.  Call shutdown first to bound the
 * wait and learn about stragglers.  NULL is a no-op. */
DRIP_SAFE_API void drip_group_destroy(drip_group *g);

#ifdef __cplusplus
}
#endif
#endif /* DRIP_GROUP_H */
