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
 * No locks, no state: the caller serialises its use of `scratch`.
 */
#include "growth_rule.h"
#include "growth.h"

#include <stdlib.h>
#include <string.h>

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

int drip__growth_evaluate(const long long *tall, int n, const struct drip__growth_series *s, int ns,
                          struct drip__suspect *out, int max, double *scratch)
{
    enum { POINTS = DRIP_GROWTH_POINTS };
    int nout = 0;
    double total_net = 0;
    if (n > POINTS)
        n = POINTS;
    for (int k = 0; k < ns; k++) {
        long long t[POINTS];
        double v[POINTS], *q = scratch;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (s[k].v[i] >= 0) {
                t[m] = tall[i];
                v[m++] = (double)s[k].v[i];
            }
        if (m < DRIP_GROWTH_MIN_POINTS || t[m - 1] - t[0] < DRIP_GROWTH_MIN_SPAN_MS)
            continue;
        int quarter = m / 4;
        memcpy(q, v, (size_t)quarter * sizeof *q);
        double first = median(q, quarter);
        memcpy(q, v + m - quarter, (size_t)quarter * sizeof *q);
        double last = median(q, quarter);
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
        double slope = theil_sen(t, v, 0, m, scratch);
        if (slope <= 0)
            continue;
        struct drip__suspect x = {.site = s[k].site, .bytes_per_second = slope, .net_bytes = net,
                                  .window_seconds = (double)(t[m - 1] - t[0]) / 1000.0};
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
