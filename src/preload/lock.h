/* lock.h — drip's lock order, the pair that takes every lock the records need (fork and the
 * leak scan), and the leaf spinlocks of the hot path.
 *
 * The lock order, as jemalloc's witness ranks: a thread that holds a lock of rank r takes only
 * locks of a higher rank. Outermost first:
 *   DRIP_RANK_JOB       background.c job_mu: the ticker's job (nothing is taken under it; a stop
 *                       of the world only try-locks it, drip__ticker_park, which cannot deadlock)
 *   DRIP_RANK_HELPER    helper.c serve_mu: one exchange with the symbolizer process
 *   DRIP_RANK_GROWTH    growth.c G.mu: the growth detector's series (allocates: arena below)
 *   DRIP_RANK_MODULES   modules.c refresh_mu, then names_mu: the module table, unloaded names
 *   DRIP_RANK_THREADS   threads.c mu: the thread registry
 *   DRIP_RANK_DEPOT     depot.c mu[0..STRIPES) in index order, then id_mu
 *   DRIP_RANK_TABLE     table.c: `frozen`, grow_mu, the size-class pools' spinlocks
 *   DRIP_RANK_ARENA     arena.c A.lock: drip's memory, taken under any of the above
 * drip__lock_world takes THREADS, DEPOT and TABLE in that order: then no thread changes a record,
 * a site or the registry until drip__unlock_world. Fork takes the arena after them; the leak
 * scan does not (it allocates while the world is locked: drip__threads_stop_world takes the
 * arena lock only to stop no thread inside it).
 * The debug build (DRIP_DEBUG) checks the order where it is written down: drip__lock_world and
 * the *_locked functions assert that what they need is held.
 */
#ifndef DRIP_PRELOAD_LOCK_H
#define DRIP_PRELOAD_LOCK_H

#include <sched.h>
#include <stdatomic.h>

#include "internal.h"

enum drip__lock_rank {
    DRIP_RANK_JOB = 1,
    DRIP_RANK_HELPER,
    DRIP_RANK_GROWTH,
    DRIP_RANK_MODULES,
    DRIP_RANK_THREADS,
    DRIP_RANK_DEPOT,
    DRIP_RANK_TABLE,
    DRIP_RANK_ARENA,
};

/* Takes every lock that guards drip's records, in rank order (threads, depot, table): fork's
 * prepare handler and the leak scan. Called inside drip__enter. */
void drip__lock_world(void);
void drip__unlock_world(void);   /* the reverse order */
/* A forked child: the world's locks were re-initialised one by one (runtime.c's fork_child). */
void drip__lock_child_reset(void);

/* A mutex is held (by some thread: pthread mutexes do not say which). Debug build only. */
#ifdef DRIP_DEBUG
#include <errno.h>
#define DRIP_ASSERT_HELD(m) DRIP_ASSERT(pthread_mutex_trylock(m) == EBUSY)
#else
#define DRIP_ASSERT_HELD(m) ((void)0)
#endif

/* ---- leaf spinlocks ----------------------------------------------------------------------------
 * Held for a few dozen instructions and never around anything that waits: cheaper than a mutex
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
