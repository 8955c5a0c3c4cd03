/*
 * test_alloc.h - counting, fault-injecting allocator for libdrip-safe tests.
 *
 * Counts successful allocations and frees (a test ends with allocs == frees,
 * which is "nothing leaked") and can fail exactly the Nth call from now, so a
 * test can walk N = 1, 2, ... over an operation until it succeeds.  Atomic,
 * because ttlmap, ctx and group allocate from other threads.
 */
#ifndef SAFE_TEST_ALLOC_H
#define SAFE_TEST_ALLOC_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "drip/safe_alloc.h"

struct talloc {
    atomic_long calls;   /* malloc calls, failed ones included */
    atomic_long allocs;  /* successful mallocs */
    atomic_long frees;   /* frees of non-NULL pointers */
    atomic_long fail_at; /* fail the call whose number equals this; 0 = never */
    drip_allocator a;
};

static inline void *talloc_malloc(size_t n, void *ctx)
{
    struct talloc *t = ctx;
    long c = atomic_fetch_add(&t->calls, 1) + 1;
    if (c == atomic_load(&t->fail_at))
        return NULL;
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&t->allocs, 1);
    return p;
}

static inline void talloc_free(void *p, void *ctx)
{
    struct talloc *t = ctx;
    if (p) {
        atomic_fetch_add(&t->frees, 1);
        free(p);
    }
}

static inline void talloc_init(struct talloc *t)
{
    atomic_init(&t->calls, 0);
    atomic_init(&t->allocs, 0);
    atomic_init(&t->frees, 0);
    atomic_init(&t->fail_at, 0);
    t->a = (drip_allocator){ talloc_malloc, talloc_free, t };
}

/* Fail the nth allocation counted from now (n >= 1); 0 disarms. */
static inline void talloc_fail_nth(struct talloc *t, long n)
{
    atomic_store(&t->fail_at, n ? atomic_load(&t->calls) + n : 0);
}

static inline long talloc_live(struct talloc *t)
{
    return atomic_load(&t->allocs) - atomic_load(&t->frees);
}

/* A fake clock the tests advance by hand, so expiry is exact. */
struct fake_clock { atomic_uint_least64_t ns; };

static inline uint64_t fake_now(void *arg)
{
    return atomic_load(&((struct fake_clock *)arg)->ns);
}

/* Stress helpers: a seeded xorshift PRNG and a wall-clock budget. */
static inline uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Worker threads must not call cmocka's assert_* (a failure longjmps into the main thread's
 * frame from another thread): WORKER_CHECK records the first failure of a worker, and the main
 * thread, after joining them, fails the test with it (WORKER_CHECKS_PASSED). */
static __attribute__((unused)) atomic_int worker_failures;
static __attribute__((unused)) char worker_failure[256];

#define WORKER_CHECK(cond)                                                                         \
    do {                                                                                           \
        if (!(cond) && atomic_fetch_add(&worker_failures, 1) == 0)                                 \
            snprintf(worker_failure, sizeof worker_failure, "%s:%d: %s", __FILE__, __LINE__, #cond); \
    } while (0)

#define WORKER_CHECKS_PASSED()                                                                     \
    do {                                                                                           \
        int n_ = atomic_load(&worker_failures);                                                    \
        if (n_)                                                                                    \
            fail_msg("%d failed check(s) in worker threads; the first: %s", n_, worker_failure);   \
    } while (0)

/* Stress tests stop at their iteration count or after this much wall time,
 * whichever comes first, so they stay within ~2 s even under TSan on a busy
 * machine.  No test asserts on time. */
#define STRESS_BUDGET_NS (1500ULL * 1000000ULL)

#endif
