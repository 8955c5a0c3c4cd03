/*
 * util.h - allocator and clock helpers private to libdrip-safe.
 *
 * Header-only on purpose: these are one-line wrappers every module inlines.
 * Nothing here is exported; the library is built with -fvisibility=hidden.
 */
#ifndef DRIP_SAFE_UTIL_H
#define DRIP_SAFE_UTIL_H

#include <stdlib.h>
#include <time.h>
#include "drip/safe_alloc.h"

static void *drip__libc_malloc(size_t n, void *ctx) { (void)ctx; return malloc(n); }
static void drip__libc_free(void *p, void *ctx) { (void)ctx; free(p); }

/* Resolve a possibly-NULL allocator into a copy the structure keeps, so the
 * caller's struct need not outlive the structure. */
static inline drip_allocator drip__alloc_resolve(const drip_allocator *a)
{
    if (a && a->malloc && a->free)
        return *a;
    return (drip_allocator){ drip__libc_malloc, drip__libc_free, NULL };
}

static inline void *drip__malloc(const drip_allocator *a, size_t n)
{
    return a->malloc(n, a->ctx);
}

static inline void drip__free(const drip_allocator *a, void *p)
{
    if (p)
        a->free(p, a->ctx);
}

/* The default expiry clock of lru and ttlmap: CLOCK_MONOTONIC_COARSE. Expiry needs no more than
 * the kernel tick's resolution (1-4 ms), and the coarse clock is always a plain memory read,
 * while CLOCK_MONOTONIC can cost a system call (it did on the machine the benchmark ran on, which
 * made every lookup with a TTL 4-9x slower than one without). */
static inline uint64_t drip__coarse_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t drip__now(drip_clock_fn fn, void *arg)
{
    return fn ? fn(arg) : drip__coarse_now_ns();
}

/* Saturating add so that "now + ttl" with a huge ttl means "never". */
static inline uint64_t drip__add_sat(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

#endif
