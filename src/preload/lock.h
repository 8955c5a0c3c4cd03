/* lock.h — the leaf spinlocks of the hot path. */
#ifndef DRIP_PRELOAD_LOCK_H
#define DRIP_PRELOAD_LOCK_H

#include <sched.h>
#include <stdatomic.h>

#include "internal.h"

/* Held for a few dozen instructions and never around anything that waits: cheaper than a mutex
 * when free (one exchange, one store), and they yield the CPU instead of burning it when a
 * holder has been preempted. */
typedef struct { atomic_int v; } drip__spinlock;
#define DRIP_SPINLOCK_INIT {0}

static inline void drip__spin_lock(drip__spinlock *l)
{
    if (DRIP_LIKELY(!atomic_exchange_explicit(&l->v, 1, memory_order_acquire)))
        return;
    for (unsigned i = 0;; i++) {
        while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
            if (i++ < 100)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
    }
}

static inline void drip__spin_unlock(drip__spinlock *l) { atomic_store_explicit(&l->v, 0, memory_order_release); }

#endif
