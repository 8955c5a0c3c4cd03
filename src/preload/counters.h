/* counters.h — counters.c: counting goes through per-thread tables (see there). */
#ifndef DRIP_PRELOAD_COUNTERS_H
#define DRIP_PRELOAD_COUNTERS_H

#include "depot.h"

/* `bytes` is negative to undo a count (a realloc that failed). */
void drip__count(uint32_t site, int64_t bytes, int is_free);
void drip__counters_release(void);
void drip__counters_child_reset(void);
/* Adds every thread's not-yet-folded counts to out[site id][alloc bytes, alloc objs, free bytes,
 * free objs]; out has nsites + 1 rows. */
void drip__counters_pending(int64_t (*out)[4], uint32_t nsites);
int64_t (*drip__counters_pending_alloc(uint32_t nsites))[4];

/* A site's cumulative figures now: its shared counters plus the pending counts in `pend` (from
 * drip__counters_pending; NULL: none). v = alloc bytes, alloc objs, free bytes, free objs. */
static inline void drip__site_counts(struct drip__site *s, int64_t (*pend)[4], int64_t v[4])
{
    v[0] = (int64_t)atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed);
    v[1] = (int64_t)atomic_load_explicit(&s->alloc_objs, memory_order_relaxed);
    v[2] = (int64_t)atomic_load_explicit(&s->free_bytes, memory_order_relaxed);
    v[3] = (int64_t)atomic_load_explicit(&s->free_objs, memory_order_relaxed);
    for (int k = 0; pend && k < 4; k++)
        v[k] += pend[s->id][k];
}

#endif
