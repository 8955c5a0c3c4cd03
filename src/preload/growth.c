/* growth.c — the growth detector: names the allocation sites whose live memory keeps rising
 * while the program runs (a cache that only grows, sessions never expired, a log never
 * truncated): the reachable leaks that an at-exit reachability scan cannot call leaks.
 *
 * Series: drip's thread (or the allocation path, while drip has no thread: background.c)
 * samples every site's live bytes at an interval (100 ms to start with).
 * Up to SERIES sites whose live bytes reached 4 KiB get a series of at most POINTS samples (live
 * bytes, and allocations so far); when the series are full, every other point is dropped and the
 * interval doubles, so a series always spans the whole run with a bounded memory of SERIES x
 * POINTS x 16 bytes (4 MiB, mapped as used) whatever its length, plus 12 bytes per site (its
 * series, and the tick before its first allocation, where its series begins).
 *
 * Every periodic job costs O(sites), never O(live blocks): a tick reads each site's counters once,
 * and the figures added to a suspect (drip__growth_fill: live bytes and objects, the age of the
 * oldest live block) come from the counters and the series, not from a walk over the live table
 * (at 10M live blocks the walk made a /debug/drip/suspects request take 0.13-0.19 s, 1-6 ms now).
 *
 * The rule that judges the series is growth_rule.c's, a pure function (unit-tested apart).
 * Off in sampling mode (the sampled counters are too coarse for the rule).
 * Locks: `mu` guards the series (drip's thread writes, report readers read).
 */
#include "growth_rule.h"
#include "arena.h"
#include "counters.h"
#include "depot.h"
#include "growth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SERIES = 4096, POINTS = DRIP_GROWTH_POINTS, TRACK_BYTES = 4096, MAX_VERDICTS = 64 };

static struct {
    pthread_mutex_t mu;
    long long t[POINTS];      /* ms since start of each point */
    int n;                    /* points so far */
    long long interval;       /* ms */
    long long next;           /* ms of the next tick */
    long long last;           /* ms of the last tick (0: none yet, drip's start) */
    uint64_t start;           /* CLOCK_MONOTONIC ms of the caller's time 0 (set at each tick) */
    struct drip__growth_series *s;   /* SERIES entries from the arena */
    int ns;
    int32_t *slot_of;         /* site id -> series index + 1, grown with the depot */
    long long *born_of;       /* site id -> the last tick before its first allocation (-1: none seen) */
    int born_stale;           /* a forked child: born_of is the parent's, to be cleared before use */
    uint32_t slot_cap;
    struct drip__suspect verdict[MAX_VERDICTS];   /* the rule's answer after the last sample */
    int nverdict;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

long long drip__growth_interval(void) { return G.interval; }

/* CLOCK_MONOTONIC in ms, unsigned: the callers' clock (server.c), so ages need no signed wrap. */
static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int slot_for(uint32_t id)
{
    if (id >= G.slot_cap) {
        uint32_t cap = G.slot_cap ? G.slot_cap : 4096;
        while (cap <= id)
            cap *= 2;
        int32_t *ns = drip__arena_alloc(cap * sizeof *ns);
        long long *nb = drip__arena_alloc(cap * sizeof *nb);
        if (!ns || !nb) {
            drip__arena_free(ns, cap * sizeof *ns);
            drip__arena_free(nb, cap * sizeof *nb);
            return -1;
        }
        memset(nb, 0xff, cap * sizeof *nb);   /* -1 */
        if (G.slot_of) {
            memcpy(ns, G.slot_of, G.slot_cap * sizeof *ns);
            memcpy(nb, G.born_of, G.slot_cap * sizeof *nb);
        }
        drip__arena_free(G.slot_of, G.slot_cap * sizeof *ns);
        drip__arena_free(G.born_of, G.slot_cap * sizeof *nb);
        G.slot_of = ns;
        G.born_of = nb;
        G.slot_cap = cap;
    }
    return G.slot_of[id] - 1;
}

/* One sample of every site when one is due, at `now_ms` since start. Called by drip's thread.
 * Returns when the next sample is due. */
long long drip__growth_tick(long long now_ms)
{
    if (!drip__opt.growth || drip__opt.sample)
        return -1;
    if (now_ms < G.next)
        return G.next;
    /* try: the allocation path samples too (background.c), and must never wait on a report */
    if (pthread_mutex_trylock(&G.mu) != 0)
        return now_ms + 1;
    if (!G.s) {
        G.s = drip__arena_alloc(SERIES * sizeof *G.s);
        G.interval = (long long)drip__opt.growth;
        if (!G.s) {
            pthread_mutex_unlock(&G.mu);
            return -1;
        }
    }
    if (G.n == POINTS) {   /* full: keep every other point, sample half as often */
        for (int i = 0; i < POINTS / 2; i++) {
            G.t[i] = G.t[2 * i + 1];
            for (int k = 0; k < G.ns; k++) {
                G.s[k].v[i] = G.s[k].v[2 * i + 1];
                G.s[k].allocs[i] = G.s[k].allocs[2 * i + 1];
            }
        }
        G.n = POINTS / 2;
        G.interval *= 2;
    }
    if (G.born_stale && G.born_of)
        memset(G.born_of, 0xff, G.slot_cap * sizeof *G.born_of);
    G.born_stale = 0;
    int i = G.n++;
    G.t[i] = now_ms;
    G.start = mono_ms() - (uint64_t)now_ms;
    for (int k = 0; k < G.ns; k++)
        G.s[k].v[i] = G.s[k].allocs[i] = -1;
    uint32_t count = drip__depot_count();
    /* from drip's arena: this may run on the allocation path, where libc's allocator is not drip's */
    size_t pend_size = ((size_t)count + 1) * sizeof(int64_t[4]);
    int64_t (*pend)[4] = drip__arena_alloc(pend_size);
    if (pend)   /* zeroed */
        drip__counters_pending(pend, count);
    for (uint32_t id = 1; id <= count; id++) {
        struct drip__site *site = drip__depot_get(id);
        if (!site)
            continue;
        int64_t c[4];
        drip__site_counts(site, pend, c);
        int64_t lb = c[0] - c[2];
        int slot = slot_for(id);
        if (id < G.slot_cap && G.born_of[id] < 0 && c[1] > 0)
            G.born_of[id] = G.last;   /* it had made no allocation at the last tick */
        if (slot < 0) {
            if (lb < TRACK_BYTES || G.ns == SERIES || G.slot_cap <= id)
                continue;
            slot = G.ns++;
            G.s[slot].site = id;
            for (int p = 0; p < POINTS; p++)
                G.s[slot].v[p] = G.s[slot].allocs[p] = -1;
            /* the series begins when the site had made no allocation yet, so the age of a block
             * made before its live bytes reached TRACK_BYTES is known too */
            G.s[slot].origin_t = G.born_of[id] >= 0 ? G.born_of[id] : now_ms;
            G.s[slot].origin_allocs = G.born_of[id] >= 0 ? 0 : c[1];
            G.slot_of[id] = slot + 1;
        }
        G.s[slot].v[i] = lb > 0 ? lb : 0;
        G.s[slot].allocs[i] = c[1];
    }
    drip__arena_free(pend, pend_size);
    static double scratch[DRIP_GROWTH_SCRATCH];   /* G.mu held */
    G.nverdict = drip__growth_evaluate(G.t, G.n, G.s, G.ns, G.verdict, MAX_VERDICTS, scratch);
    G.next = now_ms + G.interval;
    G.last = now_ms;
    pthread_mutex_unlock(&G.mu);
    return G.next;
}

int drip__growth_suspects(struct drip__suspect *out, int max)
{
    if (!drip__opt.growth || drip__opt.sample)
        return 0;
    pthread_mutex_lock(&G.mu);
    int n = G.nverdict < max ? G.nverdict : max;
    memcpy(out, G.verdict, (size_t)n * sizeof *out);
    pthread_mutex_unlock(&G.mu);
    return n;
}

/* Adds live bytes and objects (the site's counters now) and the age of its oldest live block
 * (estimated from the series: drip__growth_oldest_ms) to each suspect. O(suspects + sites): the
 * pending counts of every thread are gathered once; no walk over the live blocks. */
void drip__growth_fill(struct drip__suspect *s, int n)
{
    if (!n)
        return;
    int64_t (*pend)[4] = drip__counters_pending_alloc(drip__depot_count());   /* NULL: none */
    pthread_mutex_lock(&G.mu);
    long long now = (long long)(mono_ms() - G.start);
    for (int k = 0; k < n; k++) {
        struct drip__site *site = drip__depot_get(s[k].site);
        if (!site)
            continue;
        int64_t c[4];
        drip__site_counts(site, pend, c);
        s[k].live_bytes = c[0] > c[2] ? (uint64_t)(c[0] - c[2]) : 0;
        s[k].live_objects = c[1] > c[3] ? (uint64_t)(c[1] - c[3]) : 0;
        int slot = s[k].site < G.slot_cap ? G.slot_of[s[k].site] - 1 : -1;
        if (slot >= 0)
            s[k].oldest_age_seconds = drip__growth_oldest_ms(G.t, G.n, &G.s[slot], c[1], c[3], now) / 1000.0;
    }
    pthread_mutex_unlock(&G.mu);
    free(pend);
}

/* After fork: drip's thread does not exist in the child (and may have held the lock), so the
 * child samples nothing; the parent's history is not the child's, so it is dropped. */
void drip__growth_child_reset(void)
{
    pthread_mutex_init(&G.mu, NULL);
    /* only the series' sites are set: clearing the whole map wrote (and so copied) every one of
     * its pages in each forked child, a shell's `$(...)` included */
    for (int k = 0; G.slot_of && k < G.ns; k++)
        if (G.s[k].site < G.slot_cap)
            G.slot_of[G.s[k].site] = 0;
    G.n = 0;
    G.ns = 0;
    G.nverdict = 0;
    G.last = 0;
    G.born_stale = 1;   /* cleared at the first tick, if this process ever has one (its own pages) */
}
