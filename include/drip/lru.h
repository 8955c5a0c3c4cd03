/*
 * drip/lru.h - bounded least-recently-used cache.
 *
 * Caps a cache by entry count and/or by bytes, so it cannot grow into a leak.
 * get/put/delete are O(1) (hash map + doubly-linked recency list; with
 * second_chance, eviction is amortised O(1)).  Keys are
 * byte strings that the cache copies; values are opaque pointers that the cache
 * owns from a successful put until it hands them back through the `on_evict`
 * callback (evicted, expired, replaced, deleted, or destroyed) — that callback
 * is where the owner frees them.  Entries may carry a TTL.
 *
 * Locking:
 *   - thread_safe = true: every call takes an internal mutex; any thread may
 *     call anything, except drip_lru_destroy, which must not race with other
 *     calls.  Callbacks run *after* the mutex is dropped (so they may call back
 *     into the cache), except `retain`, which runs under it.
 *   - thread_safe = false: no locking at all.  The caller must serialise
 *     *every* call, including drip_lru_get (a get moves the entry to the front
 *     of the recency list, or sets its reference bit, so it is a write — a
 *     reader/writer lock is not enough; use a plain mutex).
 *
 * Eviction order:
 *   - default (exact LRU): the least recently used entry goes first.  Every hit
 *     relinks the entry at the front of the list, which writes to its two
 *     neighbours: in a cache larger than the CPU's, two more cache misses per
 *     get, and under the mutex the next lock waits for them (bench_safe: gets
 *     1.3x a plain map's unlocked, 1.5x with the mutex).
 *   - second_chance = true (CLOCK): a hit only sets a bit in the entry.  When
 *     room is needed, the entry at the tail is looked at: if its bit is set,
 *     the bit is cleared and the entry goes to the front (its second chance);
 *     otherwise it is evicted.  The victim is the least recently inserted or
 *     passed-over entry not used since: the approximation of LRU that page
 *     caches use, with a similar hit ratio on most workloads and gets nearly
 *     as cheap as a plain map's.  An expired entry at the tail is evicted
 *     (EXPIRED) whatever its bit says.
 *
 * Value lifetime after get: the pointer returned by drip_lru_get may be freed
 * by on_evict as soon as another call evicts/replaces/deletes it.  In a shared
 * cache, set `retain` (e.g. to take a drip_ref) so the reader owns a reference
 * before the lock drops.
 */
#ifndef DRIP_LRU_H
#define DRIP_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "drip/safe_alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct drip_lru drip_lru;

/* Why a value is being handed back to its owner. */
typedef enum drip_lru_reason {
    DRIP_LRU_EVICTED,   /* pushed out by a capacity limit */
    DRIP_LRU_EXPIRED,   /* its TTL passed (found by get, put or sweep) */
    DRIP_LRU_REPLACED,  /* a put of the same key replaced it */
    DRIP_LRU_DELETED,   /* drip_lru_delete */
    DRIP_LRU_DESTROYED, /* drip_lru_destroy or drip_lru_clear */
} drip_lru_reason;

/* Ownership of `value` returns to the callee.  `key` is only valid during the
 * call. */
typedef void (*drip_lru_evict_fn)(const void *key, size_t klen, void *value,
                                  size_t bytes, drip_lru_reason why, void *arg);

/* Called under the cache lock on every hit, before get returns. */
typedef void (*drip_lru_retain_fn)(void *value, void *arg);

typedef struct drip_lru_options {
    size_t max_entries;         /* 0 = no entry limit */
    size_t max_bytes;           /* 0 = no byte limit; bytes are what put says */
    bool thread_safe;           /* internal mutex, see the header comment */
    bool second_chance;         /* CLOCK eviction order, see the header comment */
    drip_lru_evict_fn on_evict; /* NULL: values are simply forgotten */
    drip_lru_retain_fn retain;  /* NULL: get just returns the pointer */
    void *cb_arg;               /* passed to on_evict and retain */
    drip_clock_fn clock;        /* NULL = CLOCK_MONOTONIC_COARSE (ms resolution) */
    void *clock_arg;
    const drip_allocator *alloc;/* NULL = libc; copied */
} drip_lru_options;

/* Create a cache.  At least one of max_entries / max_bytes must be non-zero
 * (an unbounded LRU is the leak this module exists to prevent).  Returns NULL
 * with errno EINVAL or ENOMEM. */
DRIP_SAFE_API drip_lru *drip_lru_create(const drip_lru_options *opt);

/* Hand every value back through on_evict(DRIP_LRU_DESTROYED), then free the
 * cache.  NULL is a no-op.  No other call may run concurrently. */
DRIP_SAFE_API void drip_lru_destroy(drip_lru *c);

/* Insert or replace `key`.  `bytes` is the value's charge against max_bytes;
 * `ttl_ns` 0 means no expiry.  On success the cache owns `value`, a previous
 * value of the key goes to on_evict(REPLACED), and least-recently-used entries
 * go to on_evict(EVICTED or EXPIRED) until the limits hold again.  Errors
 * leave the cache unchanged and `value` with the caller:
 *   -EINVAL  c or key NULL (klen may be 0 only with a non-NULL key)
 *   -E2BIG   bytes > max_bytes (it could never fit)
 *   -ENOMEM  the entry could not be allocated. */
DRIP_SAFE_API int drip_lru_put(drip_lru *c, const void *key, size_t klen,
                               void *value, size_t bytes, uint64_t ttl_ns);

/* Look `key` up and mark it used (most recent; with second_chance, its bit
 * set).  0 and *value set (after
 * calling retain, if configured); -ENOENT if absent or expired (an expired
 * entry is removed and handed to on_evict(EXPIRED)); -EINVAL on NULL args. */
DRIP_SAFE_API int drip_lru_get(drip_lru *c, const void *key, size_t klen, void **value);

/* Remove `key`, handing its value to on_evict(DELETED).  0 or -ENOENT. */
DRIP_SAFE_API int drip_lru_delete(drip_lru *c, const void *key, size_t klen);

/* Remove every expired entry (on_evict(EXPIRED)).  Returns how many.  Expired
 * entries otherwise stay counted until a get, put or sweep meets them. */
DRIP_SAFE_API size_t drip_lru_sweep(drip_lru *c);

/* Remove everything (on_evict(DESTROYED)); the cache stays usable. */
DRIP_SAFE_API void drip_lru_clear(drip_lru *c);

/* Current entry count and byte total (a snapshot in thread-safe mode). */
DRIP_SAFE_API size_t drip_lru_count(drip_lru *c);
DRIP_SAFE_API size_t drip_lru_bytes(drip_lru *c);

#ifdef __cplusplus
}
#endif
#endif /* DRIP_LRU_H */
