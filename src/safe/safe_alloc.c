/*
 * safe_alloc.c - the one exported helper behind drip/safe_alloc.h.
 *
 * The allocator itself needs no code here: each structure resolves and copies
 * it (src/safe/util.h).  This file holds drip_safe_now_ns(), CLOCK_MONOTONIC:
 * the clock of ctx deadlines, group timeouts and ttlmap's cleanup thread.  The
 * expiry clock of lru and ttlmap when their `clock` is NULL is another one,
 * CLOCK_MONOTONIC_COARSE (drip__coarse_now_ns in util.h), for speed.
 */
#include "drip/safe_alloc.h"

#include <time.h>

uint64_t drip_safe_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
