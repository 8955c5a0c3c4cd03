/* growth_rule.c — the growth detector's rule (growth.c samples, this judges): which series of
 * live bytes are growth suspects, and at what rate. A pure function of its arguments, so the unit
 * test (tests/unit/test_growth.c) pins every boundary with synthetic series. The rule, for a
 * series with at least 8 points over at least 2 s:
 *   slope   Theil-Sen slope of live bytes over time (median of pairwise slopes: robust to the
 *           spikes of a site that churns) must be positive;
 *   net     median of the last quarter of points minus median of the first quarter must be at
 *           least 64 KiB and at least 10% of where it started;
 *   steady  at least 75% of the intervals must not go down, and at least 3 must go up (an array
 *           grown by doubling rises in steps, a list rises every time: both count);
 *   recent  live bytes must have risen within the second half of the window by at least 25% of
 *           the net growth, so a warm-up that flattens (a bounded cache that filled, then evicts)
 *           or a single early step is not a suspect.
 * The medians and the slope are src/common/theil_sen.c's (no allocation: this runs in the traced
 * process). No locks, no state: the caller serialises its use of `scratch`.
 */
#include "growth_rule.h"
#include "growth.h"

#include "theil_sen.h"

#include <string.h>

int drip__growth_evaluate(const long long *tall, int n, const struct drip__growth_series *s, int ns,
                          struct drip__suspect *out, int max, double *scratch)
{
    enum { POINTS = DRIP_GROWTH_POINTS };
    int nout = 0;
    double total_net = 0;
    if (n > POINTS)
        n = POINTS;
    for (int k = 0; k < ns; k++) {
        double t[POINTS], v[POINTS], *q = scratch;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (s[k].v[i] >= 0) {
                t[m] = (double)tall[i];
                v[m++] = (double)s[k].v[i];
            }
        if (m < DRIP_GROWTH_MIN_POINTS || t[m - 1] - t[0] < DRIP_GROWTH_MIN_SPAN_MS)
            continue;
        int quarter = m / 4;
        memcpy(q, v, (size_t)quarter * sizeof *q);
        double first = drip__ts_median(q, (size_t)quarter);
        memcpy(q, v + m - quarter, (size_t)quarter * sizeof *q);
        double last = drip__ts_median(q, (size_t)quarter);
        double net = last - first;
        if (net > 0)
            total_net += net;
        if (net < DRIP_GROWTH_NET_MIN || net < 0.1 * first)
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
        double slope = drip__ts_slope(t, v, (size_t)m, 1000.0, scratch);
        if (slope <= 0)
            continue;
        struct drip__suspect x = {.site = s[k].site, .bytes_per_second = slope, .net_bytes = net,
                                  .window_seconds = (t[m - 1] - t[0]) / 1000.0};
        /* keep the `max` largest slopes */
        int pos = nout < max ? nout++ : max;
        while (pos > 0 && out[pos - 1].bytes_per_second < x.bytes_per_second) {
            if (pos < max)
                out[pos] = out[pos - 1];
            pos--;
        }
        if (pos < max)
            out[pos] = x;
    }
    for (int i = 0; i < nout; i++)
        out[i].heap_growth_share = total_net > 0 ? out[i].net_bytes / total_net : 0;
    return nout;
}

double drip__growth_oldest_ms(const long long *t, int n, const struct drip__growth_series *s, int64_t allocs,
                              int64_t frees, long long now)
{
    int64_t target = frees + 1;   /* the oldest live block, when blocks go in allocation order */
    if (allocs < target)
        return 0;                 /* nothing live */
    if (s->origin_allocs >= target)
        return (double)(now - s->origin_t);
    long long pt = s->origin_t;   /* the last point known to be before it, and its count */
    int64_t pa = s->origin_allocs;
    for (int i = 0; i <= n; i++) {
        long long ct = i < n ? t[i] : now;
        int64_t ca = i < n ? s->allocs[i] : allocs;
        if (ca < 0 || ct <= pt)
            continue;             /* not tracked then, or the origin itself */
        if (ca >= target) {       /* made between pt and ct: at a steady pace, here (the middle of its share) */
            double born = (double)pt + (double)(ct - pt) * ((double)(target - pa) - 0.5) / (double)(ca - pa);
            return (double)now - born;
        }
        pt = ct;
        pa = ca;
    }
    return 0;                     /* not reached (allocs >= target at now) */
}
