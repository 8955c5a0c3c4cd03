/* theil_sen.h — the Theil–Sen slope (the median of the slopes between every pair of points:
 * robust to the odd spike) and the order statistics it needs, written once for both sides: the
 * growth detector inside the traced process (src/preload/growth_rule.c) and `drip watch`'s RSS
 * trend (src/cli/watch_trend.c).
 *
 * Nothing here allocates (the caller passes the scratch) or sorts with libc's qsort, which may
 * allocate: selection is an in-place quickselect, O(n) on average. The values returned are those
 * a full sort would give (the same order statistics), so results do not depend on the method.
 * Pure functions, no locks, no state.
 */
#ifndef DRIP_COMMON_THEIL_SEN_H
#define DRIP_COMMON_THEIL_SEN_H

#include <stddef.h>

/* The k-th smallest of v[0..n) (k from 0), n > k. Reorders v. */
double drip__ts_kth(double *v, size_t n, size_t k);

/* The median of v[0..n) (the mean of the two middle values when n is even); 0 when n is 0.
 * Reorders v. */
double drip__ts_median(double *v, size_t n);

/* The slopes (v[j] - v[i]) * scale / (t[j] - t[i]) of every pair i < j with t[j] > t[i], into
 * out (room for n(n-1)/2); returns how many. scale converts units (1000 for ms -> per second). */
size_t drip__ts_pair_slopes(const double *t, const double *v, size_t n, double scale, double *out);

struct drip__ts_fit {
    double slope;      /* the median pairwise slope; 0 when no pair has t[j] > t[i] */
    double lo, hi;     /* Sen's (1968) rank-based 95% confidence interval of the slope */
    size_t pairs;      /* slopes the median was taken over */
};

/* The Theil–Sen slope of the n points (t[i], v[i]), with its 95% interval: with N pairwise slopes
 * and C = 1.96 * sqrt(n(n-1)(2n+5)/18) (the standard deviation of Kendall's S for n points
 * without ties), the bounds are the slopes of rank (N - C)/2 and (N + C)/2 + 1, clamped to the
 * slopes there are. scratch holds n(n-1)/2 doubles. */
void drip__ts_fit(const double *t, const double *v, size_t n, double scale, double *scratch, struct drip__ts_fit *out);

/* The slope alone (no interval): cheaper when the interval is not wanted. */
double drip__ts_slope(const double *t, const double *v, size_t n, double scale, double *scratch);

#endif
