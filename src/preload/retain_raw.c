/* retain_raw.c — the retention summary (retain.h) into the raw report (src/common/raw.h): the
 * root words, the paths, what each path holds of each record, the retained sizes, and the
 * allocation stacks the paths name. Runs after the scan with the guard set (report.c).
 * Locks: none of its own.
 */
#include "retain.h"
#include "export.h"
#include "runtime.h"
#include "raw.h"
#include "writer.h"

#include <stdlib.h>

static const char *const dom_state[] = {"off", "done", "over_budget", "oom"};

static void range(struct drip_writer *w, const char *key, uint32_t lo, uint32_t hi)
{
    if (lo <= hi)
        drip__printf(w, " %s=%u-%u", key, lo, hi);
}

void drip__retain_raw(struct drip_writer *w, struct drip__siteset *set, const struct drip__rsum *s)
{
    if (!s)
        return;
    drip__printf(w, "retain dom=%s dom_us=%lld sum_us=%lld nodes=%llu edges=%llu budget_ms=%lld\n", dom_state[s->dom & 3],
                 s->dom_us, s->sum_us,
                (unsigned long long)s->graph_nodes, (unsigned long long)s->graph_edges, (long long)drip__opt.retain_budget);
    const struct drip__rsum_root *r = DRIP_RSUM_ROOTS(s);
    for (uint32_t i = 0; i < s->nroots; i++) {
        if (r[i].map_site)
            drip__raw_site(w, set, r[i].map_site);
        drip__printf(w, "root id=%u kind=%s addr=%lx", i, drip__root_kind_name[r[i].kind & 3], (unsigned long)r[i].addr);
        if (r[i].tid)
            drip__printf(w, " tid=%d", r[i].tid);
        if (r[i].ret)
            drip__printf(w, " ret=%lx", (unsigned long)r[i].ret);
        if (r[i].start)
            drip__printf(w, " start=%lx", (unsigned long)r[i].start);
        if (r[i].hi)
            drip__printf(w, " lo=%lx hi=%lx", (unsigned long)r[i].lo, (unsigned long)r[i].hi);
        if (r[i].has_tls)
            drip__printf(w, " tls_bias=%lx tls_off=%lx%s", (unsigned long)r[i].tls_bias, (unsigned long)r[i].tls_off,
                         r[i].has_tls == 2 ? " tls_dtv=1" : "");
        if (r[i].map_site)
            drip__printf(w, " map_site=%u", r[i].map_site);
        drip__puts(w, "\n");
    }
    const struct drip__rsum_node *p = DRIP_RSUM_NODES(s);
    const struct drip__rsum_held *h = DRIP_RSUM_HELD(s);
    /* only the paths a record is held along, renumbered in order: a forked child's summary also
     * holds the paths to the blocks it inherited, which its report never shows (a bash subshell:
     * 964 paths and 818 stacks for 53 records, 260 KB to write, send and read) */
    uint32_t *id = s->nnodes ? calloc(s->nnodes, sizeof *id) : NULL;   /* new id + 1; 0: unused */
    for (uint32_t i = 0; id && i < s->nheld; i++)
        for (uint32_t k = h[i].node; k < s->nnodes && !id[k]; k = p[k].prev & ~DRIP_RET_ELIDED) {
            id[k] = 1;
            if (p[k].prev & DRIP_RET_ROOT)
                break;
        }
    for (uint32_t i = 0, n = 0; id && i < s->nnodes; i++)
        id[i] = id[i] ? ++n : 0;
#define NODE(k) (id ? id[k] - 1 : (k))
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (id && !id[i])
            continue;
        drip__raw_site(w, set, p[i].site);
        bool root = p[i].prev & DRIP_RET_ROOT;
        uint32_t prev = root ? p[i].prev & ~DRIP_RET_ROOT : p[i].prev & ~DRIP_RET_ELIDED;
        drip__printf(w, "path id=%u prev=%u root=%d site=%u bytes=%llu blocks=%llu", NODE(i),
                     root || prev >= s->nnodes ? prev : NODE(prev), root, p[i].site,
                     (unsigned long long)p[i].bytes, (unsigned long long)p[i].blocks);
        if (!root && (p[i].prev & DRIP_RET_ELIDED))
            drip__puts(w, " elided=1");
        range(w, "in", p[i].in_min, p[i].in_max);
        range(w, "self", p[i].self_min, p[i].self_max);
        drip__puts(w, "\n");
    }
    for (uint32_t i = 0; i < s->nheld; i++)
        drip__printf(w, "held kind=%s path=%u bytes=%llu blocks=%llu\n", drip_raw_kind_names[h[i].kind % 5],
                     h[i].node < s->nnodes ? NODE(h[i].node) : h[i].node, (unsigned long long)h[i].bytes,
                     (unsigned long long)h[i].blocks);
#undef NODE
    free(id);
    const struct drip__rsum_ret *t = DRIP_RSUM_RET(s);
    for (uint32_t i = 0; i < s->nret; i++)
        drip__printf(w, "retained lo=%u hi=%u bytes=%llu blocks=%llu\n", t[i].lo, t[i].hi, (unsigned long long)t[i].bytes,
                    (unsigned long long)t[i].blocks);
    const struct drip__rsum_site *z = DRIP_RSUM_SITE(s);
    for (uint32_t i = 0; i < s->nsite; i++) {
        drip__raw_site(w, set, z[i].site);
        drip__printf(w, "rsite site=%u bytes=%llu blocks=%llu\n", z[i].site, (unsigned long long)z[i].bytes,
                    (unsigned long long)z[i].blocks);
    }
    const struct drip__rsum_why *y = DRIP_RSUM_WHY(s);
    for (uint32_t i = 0; i < s->nwhy; i++) {
        drip__printf(w, "why kind=%s site=%u root=%u chain=", drip_raw_kind_names[y[i].kind % 5], y[i].site, y[i].root);
        for (uint32_t k = 0; k < y[i].n; k++)
            drip__printf(w, "%s%lx+%lu", k ? "," : "", (unsigned long)y[i].chain[2 * k], (unsigned long)y[i].chain[2 * k + 1]);
        drip__puts(w, "\n");
    }
}
