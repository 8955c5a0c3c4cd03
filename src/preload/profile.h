/* profile.h — profile.c: heap profiles and stats from the depot's per-site counters. */
#ifndef DRIP_PRELOAD_PROFILE_H
#define DRIP_PRELOAD_PROFILE_H

#include "internal.h"

struct drip_stats;
struct drip_writer;
struct drip_pprof_sample;
struct drip__siteset;
void drip__stats(struct drip_stats *out);
/* Writes the heap profile to fd (gzipped pprof), or its text form when `text`. 0 or -errno. */
int drip__profile_write(int fd, int allocs_default, int text);
/* The per-site counters now, one pprof sample per site in id order (caller frees). */
struct drip_pprof_sample *drip__profile_snapshot(size_t *count);
/* The profile of what changed since snapshot p0 (Go's ?seconds=N delta). */
int drip__profile_write_delta(int fd, int allocs_default, const struct drip_pprof_sample *p0, size_t n0,
                              long long duration_ms);
/* The heap profile's part of a raw report. */
void drip__raw_profile(struct drip_writer *w, struct drip__siteset *set, long long duration_ms,
                       const struct drip_pprof_sample *p0, size_t n0);
/* The process's virtual size and resident set from /proc/self/statm, in bytes. */
void drip__statm(uint64_t *vsz, uint64_t *rss);

#endif
