/*
 * drip/safe_alloc.h - allocator hook and export macro shared by libdrip-safe.
 *
 * libdrip-safe (lru, ttlmap, ref, ctx, registry) is a standalone library of
 * leak-prevention patterns; it depends on nothing else in drip.  Every
 * constructor takes a `const drip_allocator *`: NULL means libc malloc/free,
 * otherwise the structure copies the three fields and routes every allocation
 * it makes through them for its whole life.  That is what lets the tests fail
 * the Nth allocation, and it is the only customisation point: the library has
 * no global state.
 *
 * Error convention for the whole library: functions return 0 or -errno,
 * constructors return NULL (and set errno) and change nothing on failure,
 * destructors accept NULL.
 */
#ifndef DRIP_SAFE_ALLOC_H
#define DRIP_SAFE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#if defined(DRIP_SAFE_BUILDING)
#define DRIP_SAFE_API __attribute__((visibility("default")))
#else
#define DRIP_SAFE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A caller-supplied allocator.  `malloc` returns NULL on failure (the library
 * then reports -ENOMEM); `free` must accept NULL.  `ctx` is passed through
 * untouched.  The functions must be thread-safe if the structure using them is
 * used from several threads (the ttlmap cleanup thread and ctx groups always
 * are). */
typedef struct drip_allocator {
    void *(*malloc)(size_t size, void *ctx);
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} drip_allocator;

/* Clock hook used by lru and ttlmap to judge expiry: nanoseconds on a
 * monotonic scale.  NULL means CLOCK_MONOTONIC_COARSE (a plain memory read,
 * kernel-tick resolution of 1-4 ms: see src/safe/util.h).  Tests inject a fake
 * clock so that expiry is exact instead of timing-dependent. */
typedef uint64_t (*drip_clock_fn)(void *arg);

/* The value of CLOCK_MONOTONIC in nanoseconds: the scale of ctx deadlines and
 * group timeouts, and the clock ttlmap's cleanup thread sleeps on.  Not what a
 * NULL drip_clock_fn means (that is the coarse clock above); both clocks
 * count from the same origin, so a deadline taken on one can be compared
 * with the other to within a tick. */
DRIP_SAFE_API uint64_t drip_safe_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* DRIP_SAFE_ALLOC_H */
