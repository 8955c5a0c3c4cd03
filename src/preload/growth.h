/* growth.h — growth.c: the growth detector (sampler); its rule is growth_rule.h's. */
#ifndef DRIP_PRELOAD_GROWTH_H
#define DRIP_PRELOAD_GROWTH_H

#include "internal.h"

struct drip__suspect {
    uint32_t site;
    double bytes_per_second, net_bytes, window_seconds, heap_growth_share;
    double oldest_age_seconds;
    uint64_t live_bytes, live_objects;
};
long long drip__growth_tick(long long now_ms);
int drip__growth_suspects(struct drip__suspect *out, int max);
void drip__growth_fill(struct drip__suspect *s, int n);
long long drip__growth_interval(void);
void drip__growth_child_reset(void);

#endif
