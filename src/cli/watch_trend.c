/* watch_trend.c — is RSS growing? A verdict from a series of samples.
 *
 * The slope is Theil–Sen's (the median of the slopes between every pair of samples: robust to
 * the odd spike, such as a transient buffer), with Sen's (1968) rank-based 95% confidence
 * interval, both from src/common/theil_sen.c (shared with the growth detector).
 *
 * The judged window is the second half of the samples (all of them below 10 samples), so a
 * warm-up does not count as a leak. Growth is called only when the interval excludes zero and the
 * growth over the window is material: at least max(0.5% of the RSS, 256KiB), since RSS moves in
 * pages and allocators grab memory in chunks. When the window is flat but RSS rose before it by at
 * least max(2%, 1MiB), the verdict is "plateau after warm-up".
 */
#include "watch.h"
#include "prof.h"
#include "theil_sen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_POINTS = 400 }; /* pairs grow as n^2: sample evenly beyond this */

/* Theil–Sen slope with its 95% interval and the intercept, over s[from, to). 0 or -1 (ENOMEM). */
static int theil_sen(const struct drip__wsample *s, size_t from, size_t to, double *slope, double *lo,
                     double *hi, double *b)
{
    size_t n = to - from, m = n > MAX_POINTS ? MAX_POINTS : n;
    double *t = calloc(m, sizeof *t), *y = calloc(m, sizeof *y);
    double *sl = malloc((m * (m - 1) / 2 + 1) * sizeof *sl);
    if (!t || !y || !sl) {
        free(t);
        free(y);
        free(sl);
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        size_t k = from + (m > 1 ? i * (n - 1) / (m - 1) : 0);
        t[i] = s[k].t;
        y[i] = (double)s[k].rss;
    }
    struct drip__ts_fit fit;
    drip__ts_fit(t, y, m, 1.0, sl, &fit);
    *slope = fit.slope;
    *lo = fit.lo;
    *hi = fit.hi;
    for (size_t i = 0; i < m; i++)
        y[i] -= *slope * t[i];
    *b = drip__ts_median(y, m);
    free(t);
    free(y);
    free(sl);
    return 0;
}

void drip__fmt_secs(char *buf, size_t cap, double s)
{
    if (s < 600)
        snprintf(buf, cap, "%.1fs", s);
    else if (s < 36000)
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void drip__fmt_rate(char *buf, size_t cap, double bytes_per_s)
{
    char v[32];
    double per_h = bytes_per_s * 3600;
    if (per_h > 9e18)
        per_h = 9e18;
    if (per_h < -9e18)
        per_h = -9e18;
    drip__fmt_value(v, sizeof v, (int64_t)llround(per_h), "bytes");
    snprintf(buf, cap, "%s/h", strcmp(v, "0") ? v : "0B");
}

void drip__trend(const struct drip__wsample *s, size_t n, struct drip__trend *o)
{
    memset(o, 0, sizeof *o);
    o->n = n;
    o->verdict = DRIP_TREND_FEW;
    if (n < 5) {
        snprintf(o->text, sizeof o->text, "not enough samples for a trend (%zu; it takes 5)", n);
        return;
    }
    size_t from = n >= 10 ? n / 2 : 0;
    double *ys = malloc((n - from) * sizeof *ys);
    if (!ys || theil_sen(s, from, n, &o->rate, &o->lo, &o->hi, &o->b)) {
        free(ys);
        snprintf(o->text, sizeof o->text, "no trend (out of memory)");
        return;
    }
    o->from_t = s[from].t;
    o->to_t = s[n - 1].t;
    for (size_t i = from; i < n; i++)
        ys[i - from] = (double)s[i].rss;
    double med = drip__ts_median(ys, n - from);
    free(ys);
    double span = o->to_t - o->from_t;
    double material = fmax(0.005 * med, 256.0 * 1024);
    char r[40], lo[40], hi[40], a[24], b[24];
    drip__fmt_rate(r, sizeof r, o->rate);
    drip__fmt_rate(lo, sizeof lo, o->lo);
    drip__fmt_rate(hi, sizeof hi, o->hi);
    drip__fmt_secs(a, sizeof a, o->from_t);
    drip__fmt_secs(b, sizeof b, o->to_t);
    snprintf(o->detail, sizeof o->detail, "Theil-Sen slope %s, 95%% CI %s to %s, over %zu samples from %s to %s", r,
             lo, hi, n - from, a, b);
    if (o->lo > 0 && o->rate * span >= material) {
        o->verdict = DRIP_TREND_GROWING;
        snprintf(o->text, sizeof o->text, "growing at %s", r);
        return;
    }
    if (o->hi < 0 && -o->rate * span >= material) {
        o->verdict = DRIP_TREND_SHRINKING;
        snprintf(o->text, sizeof o->text, "shrinking at %s", r + (r[0] == '-'));
        return;
    }
    double start = (double)s[0].rss;
    for (size_t i = 1; i < 3 && i < n; i++)
        start = fmin(start, (double)s[i].rss);
    if (from && med - start >= fmax(0.02 * med, 1024.0 * 1024)) {
        o->verdict = DRIP_TREND_PLATEAU;
        o->plateau_rss = (uint64_t)med;
        double near = med - fmax(0.01 * med, 256.0 * 1024);
        for (size_t i = 0; i < n; i++)
            if ((double)s[i].rss >= near) {
                o->plateau_t = s[i].t;
                break;
            }
        char lv[48];
        drip__fmt_value(lv, sizeof lv, (int64_t)med, "bytes");
        drip__fmt_secs(a, sizeof a, o->plateau_t);
        snprintf(o->text, sizeof o->text, "plateau after warm-up (about %s from %s on)", lv, a);
        return;
    }
    o->verdict = DRIP_TREND_STEADY;
    snprintf(o->text, sizeof o->text, "steady");
}
