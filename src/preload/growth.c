/* growth.c — the growth detector: names the allocation sites whose live memory keeps rising
 * while the program runs (a cache that only grows, sessions never expired, a log never
 * truncated): the reachable leaks that an at-exit reachability scan cannot call leaks.
 *
 * Series: drip's thread samples every site's live bytes at an interval (100 ms to start with).
 * Up to SERIES sites whose live bytes reached 4 KiB get a series of at most POINTS samples; when
 * the series are full, every other point is dropped and the interval doubles, so a series always
 * spans the whole run with a bounded memory of SERIES x POINTS x 8 bytes (2 MiB) whatever its length.
 *
 * The rule, for a site with at least 8 points over at least 2 s:
 *   slope   Theil-Sen slope of live bytes over time (median of pairwise slopes: robust to the
 *           spikes of a site that churns) must be positive;
 *   net     median of the last quarter of points minus median of the first quarter must be at
 *           least 64 KiB and at least 10% of where it started;
 *   steady  at least 75% of the intervals must not go down, and at least 3 must go up (an array
 *           grown by doubling rises in steps, a list rises every time: both count);
 *   recent  live bytes must have risen within the second half of the window by at least 25% of
 *           the net growth, so a warm-up that flattens (a bounded cache that filled, then evicts)
 *           or a single early step is not a suspect.
 * Off in sampling mode (the sampled counters are too coarse for the rule).
 * Locks: `mu` guards the series (drip's thread writes, report readers read).
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SERIES = 4096, POINTS = 64, MIN_POINTS = 8, MIN_SPAN_MS = 2000, TRACK_BYTES = 4096, NET_MIN = 65536,
       MAX_VERDICTS = 64 };

struct series {
    uint32_t site;
    int64_t v[POINTS];        /* -1: not tracked yet at that point */
};

static struct {
    pthread_mutex_t mu;
    long long t[POINTS];      /* ms since start of each point */
    int n;                    /* points so far */
    long long interval;       /* ms */
    long long next;           /* ms of the next tick */
    struct series *s;         /* SERIES entries from the arena */
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

static int evaluate(struct drip__suspect *out, int max);

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
    G.nverdict = evaluate(G.verdict, MAX_VERDICTS);
    G.next = now_ms + G.interval;
    pthread_mutex_unlock(&G.mu);
    return G.next;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Theil-Sen slope (bytes per second) of points [a, b). */
static double theil_sen(const long long *t, const double *v, int a, int b, double *scratch)
{
    int k = 0;
    for (int i = a; i < b; i++)
        for (int j = i + 1; j < b; j++)
            if (t[j] > t[i])
                scratch[k++] = (v[j] - v[i]) * 1000.0 / (double)(t[j] - t[i]);
    return k ? median(scratch, k) : 0;
}

/* Fills up to `max` suspects, most growth first. Returns how many. */
/* Applies the rule to every series; fills up to `max` suspects, most growth first. Called with
 * G.mu held, by drip's thread after each sample: the verdicts only change when the series do. */
static int evaluate(struct drip__suspect *out, int max)
{
    static double scratch[POINTS * POINTS / 2 + POINTS];
    int n = 0;
    double total_net = 0;
    for (int k = 0; k < G.ns; k++) {
        long long t[POINTS];
        double v[POINTS], q[POINTS];
        int m = 0;
        for (int i = 0; i < G.n; i++)
            if (G.s[k].v[i] >= 0) {
                t[m] = G.t[i];
                v[m++] = (double)G.s[k].v[i];
            }
        if (m < MIN_POINTS || t[m - 1] - t[0] < MIN_SPAN_MS)
            continue;
        int quarter = m / 4;
        memcpy(q, v, (size_t)quarter * sizeof *q);
        double first = median(q, quarter);
        memcpy(q, v + m - quarter, (size_t)quarter * sizeof *q);
        double last = median(q, quarter);
        double net = last - first;
        if (net > 0)
            total_net += net;
        if (net < NET_MIN || net < 0.1 * first)
            continue;   /* the cheap test first: most sites do not grow */
        int rises = 0, falls = 0;
        for (int i = 1; i < m; i++) {
            rises += v[i] > v[i - 1];
            falls += v[i] < v[i - 1];
        }
        double lo = v[m / 2], hi = v[m / 2];
        for (int i = m / 2; i < m; i++) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        if (rises < 3 || falls * 4 > m - 1 || hi - lo < 0.25 * net)
            continue;
        double slope = theil_sen(t, v, 0, m, scratch);
        if (slope <= 0)
            continue;
        struct drip__suspect s = {.site = G.s[k].site, .bytes_per_second = slope, .net_bytes = net,
                                  .window_seconds = (double)(t[m - 1] - t[0]) / 1000.0};
        /* keep the `max` largest slopes */
        int pos = n < max ? n++ : max;
        while (pos > 0 && out[pos - 1].bytes_per_second < s.bytes_per_second) {
            if (pos < max)
                out[pos] = out[pos - 1];
            pos--;
        }
        if (pos < max)
            out[pos] = s;
    }
    for (int i = 0; i < n; i++)
        out[i].heap_growth_share = total_net > 0 ? out[i].net_bytes / total_net : 0;
    return n;
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
