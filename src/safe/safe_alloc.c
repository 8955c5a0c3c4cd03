/*
 * safe_alloc.c - the one exported helper behind drip/safe_alloc.h.
 *
 * The allocator itself needs no code here: each structure resolves and copies
 * it (src/safe/util.h).  This file holds the default clock, shared by lru and
 * ttlmap, so that "NULL clock" means the same thing everywhere.
 */
#include "drip/safe_alloc.h"

#include <time.h>

uint64_t drip_safe_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
