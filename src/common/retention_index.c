/* retention_index.c — see retention_index.h. No locks (one thread: the symbolizer's). */
#include "retention_index.h"

#include <stdlib.h>

static const struct drip_raw_retain *sort_rt;   /* for by_site (qsort has no context) */

static uint32_t site_of(const struct drip_raw_retain *rt, uint32_t held)
{
    return rt->paths[rt->held[held].path].site;
}

static int by_site(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint32_t sx = site_of(sort_rt, x), sy = site_of(sort_rt, y);
    return sx != sy ? (sx < sy ? -1 : 1) : (x > y) - (x < y);
}

static int by_index(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

uint32_t *drip__held_by_site(const struct drip_raw_retain *rt, size_t *n)
{
    *n = 0;
    uint32_t *v = malloc((rt->nheld ? rt->nheld : 1) * sizeof *v);
    for (size_t i = 0; v && i < rt->nheld; i++)
        if (rt->held[i].path < rt->npaths)
            v[(*n)++] = (uint32_t)i;
    sort_rt = rt;
    if (v)
        qsort(v, *n, sizeof *v, by_site);
    return v;
}

uint32_t *drip__held_of_sites(const struct drip_raw_retain *rt, const uint32_t *idx, size_t nidx,
                              const uint32_t *sites, int nsites, size_t *n)
{
    size_t total = 0, cap = 16;
    uint32_t *out = malloc(cap * sizeof *out);
    for (int k = 0; out && k < nsites; k++) {
        int dup = 0;
        for (int j = 0; j < k; j++)
            dup |= sites[j] == sites[k];
        if (dup)
            continue;
        size_t a = 0, z = nidx;
        while (a < z) {   /* the first entry of this site */
            size_t mid = (a + z) / 2;
            if (site_of(rt, idx[mid]) < sites[k])
                a = mid + 1;
            else
                z = mid;
        }
        for (; a < nidx && site_of(rt, idx[a]) == sites[k]; a++) {
            if (total == cap) {
                uint32_t *no = realloc(out, (cap *= 2) * sizeof *out);
                if (!no) {
                    free(out);
                    return NULL;
                }
                out = no;
            }
            out[total++] = idx[a];
        }
    }
    if (out)
        qsort(out, total, sizeof *out, by_index);
    *n = out ? total : 0;
    return out;
}
