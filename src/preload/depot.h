/* depot.h — depot.c: allocation stacks interned once, with per-site counters. */
#ifndef DRIP_PRELOAD_DEPOT_H
#define DRIP_PRELOAD_DEPOT_H

#include "internal.h"

struct drip__site {
    struct drip__site *_Atomic next;   /* hash chain; published with release, read lock-free */
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    /* cumulative counters; live = alloc - free. The hot path does not touch them: it counts in
     * its thread's table (counters.c), folded in here in batches */
    _Atomic uint64_t alloc_bytes, alloc_objs;
    _Atomic uint64_t free_bytes, free_objs;
    uintptr_t frames[];                /* return addresses, innermost first */
};

uint32_t drip__depot_intern(const uintptr_t *frames, int depth); /* 0 when out of memory */
/* The same, with the frames' hash already computed (drip__stack_hash). */
uint32_t drip__depot_intern_hashed(const uintptr_t *frames, int depth, uint64_t hash);
uint64_t drip__stack_hash(const uintptr_t *frames, int depth);
/* The stack hash one frame at a time, so that a walk folds each frame in as it finds it: the
 * multiply then runs in the shadow of the walk's chain of dependent loads, where it costs
 * nothing, instead of in a second pass over the frames. */
#define DRIP_HASH_SEED 0x9e3779b97f4a7c15ULL
static inline uint64_t drip__hash_step(uint64_t h, uintptr_t frame)
{
    h = (h ^ frame) * 0xff51afd7ed558ccdULL;
    return h << 29 | h >> 35;
}
static inline uint64_t drip__hash_finish(uint64_t h, int depth)
{
    h ^= (uint64_t)depth;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h ? h : 1;
}
struct drip__site *drip__depot_get(uint32_t id);
uint32_t drip__depot_count(void);                                /* ids are 1..count */
void drip__depot_lock_all(void);
void drip__depot_unlock_all(void);
void drip__depot_child_reset(void);
/* The calling thread ends: its stack cache goes back to drip's arena. */
void drip__depot_release(void);
unsigned drip__depot_cache_sets(void);   /* the calling thread's stack cache: 64 or 1,024 sets */

#endif
