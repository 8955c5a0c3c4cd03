/*
 * drip/ttlmap.h - map whose entries expire after a time-to-live.
 *
 * For state that must not outlive its usefulness (sessions, rate-limit
 * buckets, pending requests): every entry carries an expiry, and expired
 * entries are removed either by an optional background cleanup thread that
 * wakes every `sweep_interval_ns`, or by the caller through drip_ttlmap_sweep().
 * Values are owned by the map from a successful set until `free_value` is
 * called on them (expired, replaced, deleted, or at close); drip_ttlmap_take
 * hands ownership back instead.
 *
 * Locking: the map always has an internal mutex (the cleanup thread shares
 * it), so every call is thread-safe except drip_ttlmap_close, which must not
 * race with other calls.  free_value runs after the mutex is dropped; retain
 * runs under it and must not call back into the map.
 *
 * Value lifetime after get: with a cleanup thread (or other threads calling
 * set/delete/sweep), a value returned by get may be freed at any moment.  Set
 * `retain` to take a reference under the lock (e.g. drip_ref_retain), or use
 * drip_ttlmap_take to remove the entry and own it.
 */
#ifndef DRIP_TTLMAP_H
#define DRIP_TTLMAP_H

#include <stddef.h>
#include <stdint.h>
#include "drip/safe_alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drip_ttlmap drip_ttlmap;

typedef struct drip_ttlmap_options {
    uint64_t ttl_ns;            /* default TTL for set(..., 0); must be > 0 */
    uint64_t sweep_interval_ns; /* 0 = no cleanup thread; caller sweeps */
    void (*free_value)(void *value, void *arg); /* NULL: values forgotten */
    void (*retain)(void *value, void *arg);     /* under the lock on get hits */
    void *cb_arg;
    drip_clock_fn clock;        /* expiry clock; NULL = CLOCK_MONOTONIC_COARSE (ms resolution).  The
                                   cleanup thread always *sleeps* on
                                   CLOCK_MONOTONIC. */
    void *clock_arg;
    const drip_allocator *alloc;/* NULL = libc; copied */
} drip_ttlmap_options;

/* Create a map, starting the cleanup thread if sweep_interval_ns > 0.
 * Returns NULL with errno EINVAL (ttl_ns 0), ENOMEM, or the pthread_create
 * error. */
DRIP_SAFE_API drip_ttlmap *drip_ttlmap_create(const drip_ttlmap_options *opt);

/* Stop the cleanup thread and wait for it to exit (pthread_join), then
 * free_value every remaining value and free the map.  Only returns once no
 * thread of the map's is running.  NULL is a no-op. */
DRIP_SAFE_API void drip_ttlmap_close(drip_ttlmap *m);

/* Insert or replace `key` (copied) with an expiry of now + ttl_ns (0 = the
 * default TTL).  A replaced value goes to free_value.  Errors leave the map
 * unchanged and `value` with the caller: -EINVAL (NULL m/key), -ENOMEM. */
DRIP_SAFE_API int drip_ttlmap_set(drip_ttlmap *m, const void *key, size_t klen,
                                  void *value, uint64_t ttl_ns);

/* 0 and *value (after retain) if present and unexpired; -ENOENT otherwise (an
 * expired entry met here is removed and freed); -EINVAL on NULL args.  Does
 * not extend the TTL: use set (or touch) for sliding expiry. */
DRIP_SAFE_API int drip_ttlmap_get(drip_ttlmap *m, const void *key, size_t klen, void **value);

/* Push an unexpired entry's expiry to now + ttl_ns (0 = default).  0/-ENOENT. */
DRIP_SAFE_API int drip_ttlmap_touch(drip_ttlmap *m, const void *key, size_t klen, uint64_t ttl_ns);

/* Remove an unexpired entry and hand its value to the caller without calling
 * free_value.  0 and *value, or -ENOENT. */
DRIP_SAFE_API int drip_ttlmap_take(drip_ttlmap *m, const void *key, size_t klen, void **value);

/* Remove `key`, calling free_value.  0 or -ENOENT. */
DRIP_SAFE_API int drip_ttlmap_delete(drip_ttlmap *m, const void *key, size_t klen);

/* Remove every expired entry now; returns how many.  Cost is proportional to
 * the number removed (entries are kept in expiry order). */
DRIP_SAFE_API size_t drip_ttlmap_sweep(drip_ttlmap *m);

/* Entries currently stored, including expired ones not yet swept. */
DRIP_SAFE_API size_t drip_ttlmap_count(drip_ttlmap *m);

#ifdef __cplusplus
}
#endif
#endif /* DRIP_TTLMAP_H */
