/* theil_sen.c — see theil_sen.h. No allocation, no locks. */
#include "theil_sen.h"

#include <math.h>

static inline void swap(double *a, double *b)
{
    double x = *a;
    *a = *b;
    *b = x;
}

double drip__ts_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        /* median of three as the pivot: sorted and reversed input stay O(n) */
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo])
            swap(&v[mid], &v[lo]);
        if (v[hi] < v[lo])
            swap(&v[hi], &v[lo]);
        if (v[hi] < v[mid])
            swap(&v[hi], &v[mid]);
        double pivot = v[mid];
        /* Hoare partition: [lo, j] <= pivot <= [i, hi] */
        size_t i = lo, j = hi;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (pivot < v[j])
                j--;
            if (i >= j)
                break;
            swap(&v[i], &v[j]);
            i++;
            j--;
        }
        if (i == j) {        /* v[i] == pivot, in its final place */
            if (k == i)
                return v[i];
            if (k < i)
                hi = i - 1;
            else
                lo = i + 1;
        } else if (k <= j) { /* i == j + 1 */
            hi = j;
        } else {
            lo = i;
        }
    }
    return v[k];
}

double drip__ts_median(double *v, size_t n)
{
    if (!n)
        return 0;
    double upper = drip__ts_kth(v, n, n / 2);
    if (n % 2)
        return upper;
    /* after the selection v[0, n/2) holds the n/2 smallest: the lower middle is their maximum */
    double lower = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lower)
            lower = v[i];
    return (lower + upper) / 2;
}

size_t drip__ts_pair_slopes(const double *t, const double *v, size_t n, double scale, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (t[j] > t[i])
                out[k++] = (v[j] - v[i]) * scale / (t[j] - t[i]);
    return k;
}

double drip__ts_slope(const double *t, const double *v, size_t n, double scale, double *scratch)
{
    return drip__ts_median(scratch, drip__ts_pair_slopes(t, v, n, scale, scratch));
}

void drip__ts_fit(const double *t, const double *v, size_t n, double scale, double *scratch, struct drip__ts_fit *out)
{
    size_t np = drip__ts_pair_slopes(t, v, n, scale, scratch);
    out->pairs = np;
    if (!np) {
        out->slope = out->lo = out->hi = 0;
        return;
    }
    out->slope = drip__ts_median(scratch, np);
    double c = 1.96 * sqrt((double)n * (double)(n - 1) * (2.0 * (double)n + 5) / 18.0);
    double m1 = ((double)np - c) / 2, m2 = ((double)np + c) / 2;
    long i1 = lround(m1) - 1, i2 = lround(m2);
    out->lo = drip__ts_kth(scratch, np, (size_t)(i1 < 0 ? 0 : i1 >= (long)np ? (long)np - 1 : i1));
    out->hi = drip__ts_kth(scratch, np, (size_t)(i2 < 0 ? 0 : i2 >= (long)np ? (long)np - 1 : i2));
}
