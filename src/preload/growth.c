/* growth.c — the growth detector: names the allocation sites whose live memory keeps rising
 * while the program runs (a cache that only grows, sessions never expired, a log never
 * truncated): the reachable leaks that an at-exit reachability scan cannot call leaks.
 *
 * Series: drip's thread samples every site's live bytes at an interval (100 ms to start with).
 * Up to SERIES sites whose live bytes reached 4 KiB get a series of at most POINTS samples; when
 * the series are full, every other point is dropped and the interval doubles, so a series always
 * spans the whole run with a bounded memory of SERIES x POINTS x 8 bytes (2 MiB) whatever its length.
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
#include "table.h"

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
    struct drip__growth_series *s;   /* SERIES entries from the arena */
    int ns;
    int32_t *slot_of;         /* site id -> series index + 1, grown with the depot */
    uint32_t slot_cap;
    struct drip__suspect verdict[MAX_VERDICTS];   /* the rule's answer after the last sample */
    int nverdict;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

long long drip__growth_interval(void) { return G.interval; }

static int slot_for(uint32_t id)
{
    if (id >= G.slot_cap) {
        uint32_t cap = G.slot_cap ? G.slot_cap : 4096;
        while (cap <= id)
            cap *= 2;
        int32_t *ns = drip__arena_alloc(cap * sizeof *ns);
        if (!ns)
            return -1;
        if (G.slot_of)
            memcpy(ns, G.slot_of, G.slot_cap * sizeof *ns);
        drip__arena_free(G.slot_of, G.slot_cap * sizeof *ns);
        G.slot_of = ns;
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
    pthread_mutex_lock(&G.mu);
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
            for (int k = 0; k < G.ns; k++)
                G.s[k].v[i] = G.s[k].v[2 * i + 1];
        }
        G.n = POINTS / 2;
        G.interval *= 2;
    }
    int i = G.n++;
    G.t[i] = now_ms;
    for (int k = 0; k < G.ns; k++)
        G.s[k].v[i] = -1;
    uint32_t count = drip__depot_count();
    int64_t (*pend)[4] = drip__counters_pending_alloc(count);   /* drip's thread: untracked */
    for (uint32_t id = 1; id <= count; id++) {
        struct drip__site *site = drip__depot_get(id);
        if (!site)
            continue;
        int64_t c[4];
        drip__site_counts(site, pend, c);
        int64_t lb = c[0] - c[2];
        int slot = slot_for(id);
        if (slot < 0) {
            if (lb < TRACK_BYTES || G.ns == SERIES || G.slot_cap <= id)
                continue;
            slot = G.ns++;
            G.s[slot].site = id;
            for (int p = 0; p < POINTS; p++)
                G.s[slot].v[p] = -1;
            G.slot_of[id] = slot + 1;
        }
        G.s[slot].v[i] = lb > 0 ? lb : 0;
    }
    free(pend);
    static double scratch[DRIP_GROWTH_SCRATCH];   /* G.mu held */
    G.nverdict = drip__growth_evaluate(G.t, G.n, G.s, G.ns, G.verdict, MAX_VERDICTS, scratch);
    G.next = now_ms + G.interval;
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

struct oldest {
    struct drip__suspect *s;
    int n;
    int now;
};

static void oldest_cb(const struct drip__rec *r, void *arg)
{
    struct oldest *o = arg;
    for (int i = 0; i < o->n; i++)
        if (o->s[i].site == r->site) {
            double age = (double)(o->now - (int)r->birth_ms) / 1000.0;
            if (age > o->s[i].oldest_age_seconds)
                o->s[i].oldest_age_seconds = age;
            o->s[i].live_objects++;
            o->s[i].live_bytes += r->size;
        }
}

/* Adds live bytes/objects and the age of the oldest live block to each suspect (one pass over
 * the live table). */
void drip__growth_fill(struct drip__suspect *s, int n)
{
    if (!n)
        return;
    struct oldest o = {s, n, drip__now_ms()};
    drip__table_foreach_chunked(oldest_cb, &o);
}

/* After fork: drip's thread does not exist in the child (and may have held the lock), so the
 * child samples nothing; the parent's history is not the child's, so it is dropped. */
void drip__growth_child_reset(void)
{
    pthread_mutex_init(&G.mu, NULL);
    G.n = 0;
    G.ns = 0;
    G.nverdict = 0;
    if (G.slot_of)
        memset(G.slot_of, 0, G.slot_cap * sizeof *G.slot_of);
}
