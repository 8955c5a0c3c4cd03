/* Unit tests of the shared Theil-Sen module (src/common/theil_sen.c), used by the growth detector
 * and by drip watch: the selection gives exactly what a full sort gives (every rank, with ties,
 * sorted, reversed and random input), the median of odd and even counts, the slope of a line, its
 * robustness to a spike, Sen's interval on a hand-checked series, and no allocation (malloc,
 * calloc, realloc and qsort are wrapped at link time and must not be called). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "theil_sen.h"

/* --wrap'ed in tests/unit/CMakeLists.txt: calls from this test's own objects land here. */
static int allocs;
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__real_calloc(size_t n, size_t k);
void *__wrap_calloc(size_t n, size_t k) { allocs++; return __real_calloc(n, k); }
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }
void __real_qsort(void *b, size_t n, size_t k, int (*cmp)(const void *, const void *));
void __wrap_qsort(void *b, size_t n, size_t k, int (*cmp)(const void *, const void *)) { allocs++; __real_qsort(b, n, k, cmp); }

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Every rank of arrays of 1..40 values (random with many ties, sorted, reversed) against a sort. */
static void kth_matches_sort(void **state)
{
    double v[40], sorted[40], work[40];
    for (int shape = 0; shape < 3; shape++)
        for (size_t n = 1; n <= 40; n++) {
            for (size_t i = 0; i < n; i++)
                v[i] = shape == 0 ? (double)(next() % 7) : shape == 1 ? (double)i : (double)(n - i);
            memcpy(sorted, v, n * sizeof *v);
            __real_qsort(sorted, n, sizeof *sorted, cmp);
            for (size_t k = 0; k < n; k++) {
                memcpy(work, v, n * sizeof *v);
                assert_true(drip__ts_kth(work, n, k) == sorted[k]);
            }
        }
    assert_int_equal(allocs, 0);
}

static void median_odd_even(void **state)
{
    double a[] = {5, 1, 4, 2, 3};
    assert_true(drip__ts_median(a, 5) == 3.0);
    double b[] = {10, 1, 4, 2};
    assert_true(drip__ts_median(b, 4) == 3.0);
    double c[] = {7, 7, 7, 7, 1, 9};
    assert_true(drip__ts_median(c, 6) == 7.0);
    assert_true(drip__ts_median(NULL, 0) == 0.0);
    assert_int_equal(allocs, 0);
}

/* A line in ms gives its slope per second exactly; one spike does not move it; pairs with equal
 * times are skipped. */
static void slope_line_and_spike(void **state)
{
    double t[21], v[21], scratch[21 * 20 / 2];
    for (int i = 0; i < 21; i++) {
        t[i] = 100.0 * i;
        v[i] = 1000 + 10000.0 * i;
    }
    assert_true(drip__ts_slope(t, v, 21, 1000.0, scratch) == 100000.0);
    v[12] += 5e6;
    assert_true(drip__ts_slope(t, v, 21, 1000.0, scratch) == 100000.0);
    double t2[] = {0, 0, 0}, v2[] = {1, 2, 3};
    assert_true(drip__ts_slope(t2, v2, 3, 1.0, scratch) == 0.0);
    assert_int_equal(drip__ts_pair_slopes(t2, v2, 3, 1.0, scratch), 0);
    assert_int_equal(allocs, 0);
}

/* Sen's interval on 6 points: 15 slopes; C = 1.96 * sqrt(6*5*17/18) = 10.43; ranks
 * lround((15 - 10.43) / 2) - 1 = 1 and lround((15 + 10.43) / 2) = 13 of the sorted slopes. */
static void sen_interval(void **state)
{
    double t[] = {0, 1, 2, 3, 4, 5}, v[] = {0, 3, 1, 6, 4, 9}, scratch[15], all[15];
    struct drip__ts_fit f;
    drip__ts_fit(t, v, 6, 1.0, scratch, &f);
    size_t n = 0;
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            all[n++] = (v[j] - v[i]) / (t[j] - t[i]);
    __real_qsort(all, n, sizeof *all, cmp);
    assert_int_equal(f.pairs, 15);
    assert_true(f.slope == all[7]);
    assert_true(f.lo == all[1]);
    assert_true(f.hi == all[13]);
    assert_true(f.lo <= f.slope && f.slope <= f.hi);
    /* two points: one slope, the interval clamps to it */
    drip__ts_fit(t, v, 2, 1.0, scratch, &f);
    assert_true(f.slope == 3.0 && f.lo == 3.0 && f.hi == 3.0);
    assert_int_equal(allocs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kth_matches_sort),
        cmocka_unit_test(median_odd_even),
        cmocka_unit_test(slope_line_and_spike),
        cmocka_unit_test(sen_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
