/* Unit tests of the growth detector's rule (src/preload/growth_rule.c) on synthetic series: each
 * boundary of the rule is pinned from both sides with series that differ in that one respect
 * (net 64 KiB and 10% of the start, 75% of intervals not falling and 3 rises, the recent rise of
 * 25% of the net, a positive Theil-Sen slope, 8 points over 2 s), and the reported figures (rate,
 * net growth, window, share of the heap's growth, order) are asserted exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "growth_rule.h"

static double scratch[DRIP_GROWTH_SCRATCH];
static long long T[DRIP_GROWTH_POINTS];
static struct drip__growth_series S[8];

/* Series k gets the `m` values v (the rest untracked); times are every `step_ms` from 0. */
static void set_series(int k, uint32_t site, const int64_t *v, int m)
{
    S[k].site = site;
    for (int i = 0; i < DRIP_GROWTH_POINTS; i++)
        S[k].v[i] = i < m ? v[i] : -1;
}

static void set_times(int m, long long step_ms)
{
    for (int i = 0; i < m; i++)
        T[i] = i * step_ms;
}

/* The verdicts on one series of `m` points `step_ms` apart: how many (0 or 1), the suspect in *out. */
static int judge(const int64_t *v, int m, long long step_ms, struct drip__suspect *out)
{
    set_times(m, step_ms);
    set_series(0, 7, v, m);
    memset(out, 0, sizeof *out);
    return drip__growth_evaluate(T, m, S, 1, out, 1, scratch);
}

#define JUDGE(out, step, ...) ({ const int64_t v_[] = {__VA_ARGS__}; judge(v_, (int)(sizeof v_ / sizeof *v_), step, out); })

/* A straight line: the rate, net growth, window and share are exact. */
static void linear_rate(void **state)
{
    int64_t v[21];
    for (int i = 0; i < 21; i++)
        v[i] = 1000 + 10000 * i;    /* 10,000 bytes per 100 ms */
    struct drip__suspect s;
    assert_int_equal(judge(v, 21, 100, &s), 1);
    assert_int_equal(s.site, 7);
    assert_true(s.bytes_per_second == 100000.0);
    /* quarter = 5 points: medians v[2] and v[18] */
    assert_true(s.net_bytes == 160000.0);
    assert_true(s.window_seconds == 2.0);
    assert_true(s.heap_growth_share == 1.0);
}

/* Theil-Sen: one spike (a burst freed at once) does not move the median pairwise slope. */
static void spike_does_not_move_rate(void **state)
{
    int64_t v[21];
    for (int i = 0; i < 21; i++)
        v[i] = 10000 * i;
    v[12] += 5000000;
    struct drip__suspect s;
    assert_int_equal(judge(v, 21, 100, &s), 1);
    assert_true(s.bytes_per_second == 100000.0);
}

/* 8 points over 2 s: 2,000 ms span passes, 1,999 fails, 7 points over 3 s fail. */
static void min_points_and_span(void **state)
{
    int64_t v[8] = {0, 0, 16384, 32768, 49152, 81920, 131072, 131072};
    struct drip__suspect s;
    long long t[8] = {0, 300, 600, 900, 1200, 1500, 1800, 2000};
    memcpy(T, t, sizeof t);
    set_series(0, 1, v, 8);
    assert_int_equal(drip__growth_evaluate(T, 8, S, 1, &s, 1, scratch), 1);
    T[7] = 1999;
    assert_int_equal(drip__growth_evaluate(T, 8, S, 1, &s, 1, scratch), 0);
    assert_int_equal(judge(v, 7, 500, &s), 0);
    assert_int_equal(judge(v, 8, 500, &s), 1);
}

/* Points before the site was tracked (-1) are not points: 15 tracked points over 1.4 s are too few. */
static void untracked_points(void **state)
{
    int64_t v[25];
    for (int i = 0; i < 25; i++)
        v[i] = i < 10 ? -1 : 10000 * (i - 10);
    struct drip__suspect s;
    assert_int_equal(judge(v, 25, 100, &s), 0);
    set_times(25, 200);   /* the same points 200 ms apart: 2.8 s, a suspect at 50,000 B/s */
    set_series(0, 1, v, 25);
    assert_int_equal(drip__growth_evaluate(T, 25, S, 1, &s, 1, scratch), 1);
    assert_true(s.bytes_per_second == 50000.0);
    assert_true(s.window_seconds == 2.8);
}

/* net: the median of the last quarter minus that of the first must reach 64 KiB exactly. */
static void net_64k(void **state)
{
    struct drip__suspect s;
    assert_int_equal(JUDGE(&s, 300, 0, 0, 16384, 32768, 32768, 49152, 65536, 65536), 1);
    assert_true(s.net_bytes == 65536.0);
    assert_int_equal(JUDGE(&s, 300, 0, 0, 16384, 32768, 32768, 49152, 65535, 65535), 0);
}

/* net: and at least 10% of where it started. */
static void net_10_percent(void **state)
{
    struct drip__suspect s;
    assert_int_equal(JUDGE(&s, 300, 2000000, 2000000, 2050000, 2100000, 2100000, 2150000, 2200000, 2200000), 1);
    assert_true(s.net_bytes == 200000.0);
    assert_int_equal(JUDGE(&s, 300, 2000000, 2000000, 2050000, 2100000, 2100000, 2150000, 2199999, 2199999), 0);
}

/* steady: at least 75% of the intervals do not fall (8 intervals: 2 falls pass, 3 fail). */
static void steady_75_percent(void **state)
{
    struct drip__suspect s;
    assert_int_equal(JUDGE(&s, 300, 0, 0, 100000, 90000, 200000, 190000, 300000, 400000, 400000), 1);
    assert_int_equal(JUDGE(&s, 300, 0, 0, 100000, 90000, 200000, 190000, 300000, 290000, 400000), 0);
}

/* steady: and at least 3 intervals rise (a single step, or two, is not a trend). */
static void three_rises(void **state)
{
    struct drip__suspect s;
    assert_int_equal(JUDGE(&s, 300, 0, 0, 0, 0, 20000, 40000, 80000, 80000), 1);
    assert_int_equal(JUDGE(&s, 300, 0, 0, 0, 0, 0, 40000, 80000, 80000), 0);
}

/* recent: within the second half, live bytes rose by at least 25% of the net growth (a warm-up
 * that flattened is not a suspect). Second half here: v[4..7]; net 400,000. */
static void recent_25_percent(void **state)
{
    struct drip__suspect s;
    assert_int_equal(JUDGE(&s, 300, 0, 0, 100000, 200000, 300000, 350000, 400000, 400000), 1);
    assert_int_equal(JUDGE(&s, 300, 0, 0, 100000, 200000, 300001, 350000, 400000, 400000), 0);
    /* a cache that filled in the first half and then stayed full */
    assert_int_equal(JUDGE(&s, 300, 0, 0, 100000, 200000, 300000, 400000, 400000, 400000, 400000, 400000, 400000, 400000, 400000, 400000), 0);
}

/* trend: a series that passes every other test but whose median pairwise slope is 0 (flat for 9
 * points, then three rises: 30 rising pairs of 66) is not a suspect; four rises make it one. */
static void positive_slope(void **state)
{
    struct drip__suspect s;
    assert_int_equal(JUDGE(&s, 300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100000, 200000, 300000), 0);
    assert_int_equal(JUDGE(&s, 300, 0, 0, 0, 0, 0, 0, 0, 0, 100000, 200000, 300000, 400000), 1);
    assert_true(s.bytes_per_second > 0);
}

/* Several sites: largest slope first, at most `max`, each with its share of all the positive net
 * growth (including sites that grew too little to be suspects). */
static void order_share_and_max(void **state)
{
    int64_t a[21], b[21], c[21], d[21];
    for (int i = 0; i < 21; i++) {
        a[i] = 10000 * i;    /* 100,000 B/s, net 160,000 */
        b[i] = 30000 * i;    /* 300,000 B/s, net 480,000 */
        c[i] = 20000 * i;    /* 200,000 B/s, net 320,000 */
        d[i] = 2000 * i;     /* net 32,000: below 64 KiB, counted in the total only */
    }
    set_times(21, 100);
    set_series(0, 1, a, 21);
    set_series(1, 2, b, 21);
    set_series(2, 3, c, 21);
    set_series(3, 4, d, 21);
    struct drip__suspect out[4];
    assert_int_equal(drip__growth_evaluate(T, 21, S, 4, out, 4, scratch), 3);
    assert_int_equal(out[0].site, 2);
    assert_int_equal(out[1].site, 3);
    assert_int_equal(out[2].site, 1);
    assert_true(out[0].bytes_per_second == 300000.0);
    assert_true(out[1].bytes_per_second == 200000.0);
    assert_true(out[2].bytes_per_second == 100000.0);
    assert_true(out[0].heap_growth_share == 480000.0 / 992000.0);
    assert_true(out[2].heap_growth_share == 160000.0 / 992000.0);
    assert_int_equal(drip__growth_evaluate(T, 21, S, 4, out, 2, scratch), 2);
    assert_int_equal(out[0].site, 2);
    assert_int_equal(out[1].site, 3);
}

/* Sites that shrink or churn around a level are not suspects. */
static void flat_and_falling(void **state)
{
    int64_t v[32];
    struct drip__suspect s;
    for (int i = 0; i < 32; i++)
        v[i] = 1000000 + (i % 2 ? 300000 : 0);
    assert_int_equal(judge(v, 32, 100, &s), 0);
    for (int i = 0; i < 32; i++)
        v[i] = 4000000 - 100000 * i;
    assert_int_equal(judge(v, 32, 100, &s), 0);
}

/* The oldest live block's age from the series' allocation counts (drip__growth_oldest_ms). One
 * series from t0: origin (t0, 10 allocations), points every 100 ms with 10, 20, 30, 40, 50. */
static double oldest(long long t0, int64_t allocs, int64_t frees, long long now)
{
    static struct drip__growth_series g;
    long long t[5];
    g.origin_t = t0;
    g.origin_allocs = 10;
    for (int i = 0; i < 5; i++) {
        t[i] = t0 + 100 * i;
        g.allocs[i] = 10 * (i + 1);
    }
    return drip__growth_oldest_ms(t, 5, &g, allocs, frees, now);
}

static void oldest_age(void **state)
{
    /* never freed: the oldest was made before the series began, at least 1,000 ms ago */
    assert_true(oldest(0, 50, 0, 1000) == 1000.0);
    /* 15 freed, in order: number 16 was made between 0 ms (10 made) and 100 ms (20 made), the
     * middle of its 10 ms share: 55 ms */
    assert_true(oldest(0, 50, 15, 1000) == 945.0);
    /* exactly at a point: number 21 is the first of the 20..30 interval: 105 ms */
    assert_true(oldest(0, 50, 20, 1000) == 895.0);
    /* made after the last point (400 ms, 50 made), by now 1,000 ms with 60 made: number 56 at
     * 400 + 600 * 5.5 / 10 = 730 ms */
    assert_true(oldest(0, 60, 55, 1000) == 270.0);
    /* nothing live */
    assert_true(oldest(0, 60, 60, 1000) == 0.0);
    /* untracked points (-1) are skipped: the same answer from the points around them */
    static struct drip__growth_series g;
    long long t[5] = {0, 100, 200, 300, 400};
    int64_t a[5] = {10, -1, 30, -1, 50};
    g.origin_t = 0;
    g.origin_allocs = 10;
    memcpy(g.allocs, a, sizeof a);
    assert_true(drip__growth_oldest_ms(t, 5, &g, 50, 15, 1000) == 1000.0 - 200.0 * 5.5 / 20);
}

/* Times near the ends of 32-bit milliseconds (24.8 and 49.7 days after the clock's zero): the
 * ages are those of a series that starts at 0 (an int of milliseconds went negative there). */
static void oldest_age_near_wrap(void **state)
{
    const long long starts[] = {((long long)1 << 31) - 250, ((long long)1 << 32) - 250, ((long long)1 << 40)};
    for (int i = 0; i < 3; i++) {
        long long t0 = starts[i];
        assert_true(oldest(t0, 50, 0, t0 + 1000) == 1000.0);
        assert_true(oldest(t0, 50, 15, t0 + 1000) == 945.0);
        assert_true(oldest(t0, 60, 55, t0 + 1000) == 270.0);
    }
    /* and the rule's figures do not move either */
    int64_t v[21];
    for (int k = 0; k < 21; k++)
        v[k] = 1000 + 10000 * k;
    set_series(0, 7, v, 21);
    struct drip__suspect s;
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 21; k++)
            T[k] = starts[i] + 100 * k;
        assert_int_equal(drip__growth_evaluate(T, 21, S, 1, &s, 1, scratch), 1);
        assert_true(s.bytes_per_second == 100000.0);
        assert_true(s.window_seconds == 2.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_rate),
        cmocka_unit_test(spike_does_not_move_rate),
        cmocka_unit_test(min_points_and_span),
        cmocka_unit_test(untracked_points),
        cmocka_unit_test(net_64k),
        cmocka_unit_test(net_10_percent),
        cmocka_unit_test(steady_75_percent),
        cmocka_unit_test(three_rises),
        cmocka_unit_test(recent_25_percent),
        cmocka_unit_test(positive_slope),
        cmocka_unit_test(order_share_and_max),
        cmocka_unit_test(flat_and_falling),
        cmocka_unit_test(oldest_age),
        cmocka_unit_test(oldest_age_near_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
