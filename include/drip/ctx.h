/*
 * drip/ctx.h - cancellation contexts (after Go's context package).
 *
 * A context says "stop": it is done once it is cancelled, once its deadline
 * passes, or once any ancestor is done.  Contexts form a tree: cancelling a
 * node cancels its whole subtree, never its parent.  Workers learn about it by
 * polling drip_ctx_err(), by blocking in drip_ctx_wait() (condition variable,
 * no polling), or from an event loop through drip_ctx_fd().  Deadlines are on
 * CLOCK_MONOTONIC, in nanoseconds on the drip_safe_now_ns() scale.
 *
 * Lifetime: contexts are reference counted.  A constructor returns one
 * reference; drip_ctx_release drops it.  A child holds a reference on its
 * parent (so the parent lives while any child does); a parent does not keep
 * its children alive.  Releasing does NOT cancel: cancel explicitly when the
 * work must stop, release when you no longer need the handle.
 *
 * Locking: one mutex per tree (in the root) guards the child lists, the
 * cancellation state and the fds; every function is thread-safe.  err() and
 * done() are lock-free.
 */
#ifndef DRIP_CTX_H
#define DRIP_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include "drip/safe_alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drip_ctx drip_ctx;

/* "No timeout" for drip_ctx_wait, "no deadline" from drip_ctx_deadline. */
#define DRIP_CTX_FOREVER UINT64_MAX

/* A new root: never done until cancelled.  NULL with errno ENOMEM. */
DRIP_SAFE_API drip_ctx *drip_ctx_new(const drip_allocator *alloc);

/* A child of `parent` (which must be non-NULL and stay referenced by the
 * caller during the call), using the parent's allocator.  A child of a done
 * parent is born done with the parent's error.  NULL with errno EINVAL or
 * ENOMEM, parent unchanged. */
DRIP_SAFE_API drip_ctx *drip_ctx_with_cancel(drip_ctx *parent);
/* Also done at now + timeout_ns (or the parent's deadline, if sooner). */
DRIP_SAFE_API drip_ctx *drip_ctx_with_timeout(drip_ctx *parent, uint64_t timeout_ns);
/* Also done at `deadline_ns` (absolute, drip_safe_now_ns() scale). */
DRIP_SAFE_API drip_ctx *drip_ctx_with_deadline(drip_ctx *parent, uint64_t deadline_ns);

DRIP_SAFE_API drip_ctx *drip_ctx_retain(drip_ctx *c);   /* NULL passes through */
/* Drop a reference; the last one detaches from the parent, closes the fd and
 * frees.  NULL is a no-op. */
DRIP_SAFE_API void drip_ctx_release(drip_ctx *c);

/* Cancel `c` and every descendant not already done (they report
 * -ECANCELED); wake their waiters and make their fds readable.  Idempotent;
 * NULL is a no-op. */
DRIP_SAFE_API void drip_ctx_cancel(drip_ctx *c);

/* 0 while live; -ECANCELED if cancelled (itself or through an ancestor);
 * -ETIMEDOUT if its deadline passed first.  Once non-zero it never changes. */
DRIP_SAFE_API int drip_ctx_err(drip_ctx *c);
DRIP_SAFE_API bool drip_ctx_done(drip_ctx *c);

/* The effective deadline (own or inherited), or DRIP_CTX_FOREVER. */
DRIP_SAFE_API uint64_t drip_ctx_deadline(drip_ctx *c);

/* Block until `c` is done or `timeout_ns` elapses (DRIP_CTX_FOREVER: no
 * limit).  Returns drip_ctx_err() once done, or 0 if the timeout came first. */
DRIP_SAFE_API int drip_ctx_wait(drip_ctx *c, uint64_t timeout_ns);

/* A file descriptor that becomes readable (POLLIN/EPOLLIN) when `c` is done,
 * whether by cancellation or by deadline, and stays readable.  Created on
 * first call and owned by the context: do not read, write or close it.
 * Without a deadline it is an eventfd; with one, an epoll fd watching that
 * eventfd and a timerfd (so no helper thread is needed).  Returns the fd or
 * -errno (EMFILE, ENOMEM, ...). */
DRIP_SAFE_API int drip_ctx_fd(drip_ctx *c);

#ifdef __cplusplus
}
#endif
#endif /* DRIP_CTX_H */
