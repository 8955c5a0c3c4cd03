/* retention_index.h — the raw report's held entries by the site their path ends at, so that the
 * best path of a record looks only at its own (retention.c): looking at every held entry for
 * every record was quadratic, most of a JSON report of thousands of records. */
#ifndef DRIP_COMMON_RETENTION_INDEX_H
#define DRIP_COMMON_RETENTION_INDEX_H

#include "raw.h"

#include <stddef.h>
#include <stdint.h>

/* The indices of rt's held entries (those with a path), sorted by (site, index): *n of them,
 * malloc'd. NULL when out of memory. */
uint32_t *drip__held_by_site(const struct drip_raw_retain *rt, size_t *n);
/* Of those (idx, nidx), the ones whose site is one of sites, in index order (the order a walk
 * over every held entry has: the choice among equal names depends on it), malloc'd. NULL when out
 * of memory (the caller then looks at every entry). */
uint32_t *drip__held_of_sites(const struct drip_raw_retain *rt, const uint32_t *idx, size_t nidx,
                              const uint32_t *sites, int nsites, size_t *n);

#endif
