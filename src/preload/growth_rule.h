/* growth_rule.h — the growth detector's rule, apart from its sampler (growth.c): a pure function
 * of the sampled series, so tests/unit/test_growth.c can feed it synthetic series. No locks. */
#ifndef DRIP_GROWTH_RULE_H
#define DRIP_GROWTH_RULE_H

#include "growth.h"

enum {
    DRIP_GROWTH_POINTS = 64,        /* points per series */
    DRIP_GROWTH_MIN_POINTS = 8,     /* a series is judged from 8 points ... */
    DRIP_GROWTH_MIN_SPAN_MS = 2000, /* ... spanning 2 s */
    DRIP_GROWTH_NET_MIN = 65536,    /* net growth of at least 64 KiB */
    /* scratch doubles drip__growth_evaluate needs: every pair's slope, and the quarter medians */
    DRIP_GROWTH_SCRATCH = DRIP_GROWTH_POINTS * DRIP_GROWTH_POINTS / 2 + DRIP_GROWTH_POINTS,
};

struct drip__growth_series {
    uint32_t site;
    int64_t v[DRIP_GROWTH_POINTS];       /* live bytes at each point; -1: not tracked yet then */
    int64_t allocs[DRIP_GROWTH_POINTS];  /* the site's allocations so far at each point (-1 as v) */
    long long origin_t;                  /* where the series begins (ms; the sampler: the last tick */
    int64_t origin_allocs;               /* before the site's first allocation, 0 made), with the
                                            site's allocations so far then: kept when points drop */
};

/* Applies the rule (growth.c's header comment) to `ns` series sampled at the `n` times `t` (ms);
 * fills up to `max` suspects, largest slope first, with their site, rate, net growth, window and
 * share of the heap's growth. `scratch` holds DRIP_GROWTH_SCRATCH doubles. Returns how many. */
int drip__growth_evaluate(const long long *t, int n, const struct drip__growth_series *s, int ns,
                          struct drip__suspect *out, int max, double *scratch);

/* The age in ms at `now` of the oldest live block of series s's site, which has made `allocs`
 * allocations and `frees` frees by then, from the series' allocation counts alone (no walk over
 * the live blocks): blocks are taken to be freed in the order they were allocated, so the oldest
 * live one is allocation number frees + 1, whose time is interpolated between the points that
 * bracket it. Exact (to the interpolation) when the site frees in allocation order or never; a
 * lower bound when it frees younger blocks first; at most now - origin_t (what came before the
 * series is not known). 0 when nothing is live. Times are ms on one clock, `now` >= every point. */
double drip__growth_oldest_ms(const long long *t, int n, const struct drip__growth_series *s, int64_t allocs,
                              int64_t frees, long long now);

#endif
