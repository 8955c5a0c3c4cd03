/* retain_dom.c — retained sizes for the retention summary (retain.h): the heap graph recorded by
 * the mark phase as a CSR graph, its dominator tree (dominator.c), and from it what each root
 * word, each group of root words and each allocation site retains. Within a time budget
 * (`retain_budget`): past it the tree is dropped and the report says so (paths are still given).
 * Graph nodes: 0 the super-root, 1..R the root words, R+1.. the blocks. Memory (arena, only
 * while it runs): about 60 bytes a node and 8 an edge; most arrays are reused between phases.
 * Locks: none; runs inside the scan.
 */
#include "retain.h"
#include "arena.h"
#include "depot.h"
#include "dominator.h"

#include <string.h>
#include <time.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int past_deadline(void *ctx) { return now_us() > *(const long long *)ctx; }

static bool push_ret(struct drip__dom_out *d, uint32_t lo, uint32_t hi, uint64_t bytes, uint64_t blocks)
{
    if (!drip__arena_grow(&d->ret, &d->ret_cap, d->nret, d->nret + 1, sizeof *d->ret, 256))
        return false;
    d->ret[d->nret++] = (struct drip__rsum_ret){lo, hi, bytes, blocks};
    return true;
}

enum { SHARED = UINT32_MAX - 1, EXIT = 1u << 31 };

/* Per site: the subtrees of its blocks that no block of the same site dominates (a depth-first
 * walk of the dominator tree counting, per site, the blocks of it on the way down). */
static bool per_site(const struct drip__block *b, uint32_t R, uint32_t N, const uint32_t *idom, const uint64_t *bytes,
                     const uint64_t *count, uint32_t *coff, uint32_t *child, uint32_t *stack, struct drip__dom_out *d)
{
    uint32_t nsites = drip__depot_count() + 1;
    size_t abytes = (size_t)nsites * sizeof(uint32_t), tbytes = (size_t)nsites * 2 * sizeof(uint64_t);
    uint32_t *active = drip__arena_alloc(abytes);
    uint64_t *tot = drip__arena_alloc(tbytes);
    bool ok = active && tot;
    if (ok) {
        memset(active, 0, abytes);
        memset(tot, 0, tbytes);
        memset(coff, 0, ((size_t)N + 1) * sizeof *coff);
        for (uint32_t v = 1; v < N; v++)
            if (idom[v] != DRIP_DOM_NONE)
                coff[idom[v] + 1]++;
        for (uint32_t v = 0; v < N; v++)
            coff[v + 1] += coff[v];
        uint32_t total = coff[N];
        for (uint32_t v = N; v-- > 1;)   /* placing each child moves its parent's end back */
            if (idom[v] != DRIP_DOM_NONE)
                child[--coff[idom[v] + 1]] = v;
        /* coff[v + 1] now starts v's children; they end where v + 1's start (or at the total) */
        size_t sp = 0;
        stack[sp++] = 0;
        while (sp) {
            uint32_t e = stack[--sp], v = e & ~EXIT;
            uint32_t site = v > R ? b[v - 1 - R].site : 0;
            if (e & EXIT) {
                if (site < nsites)
                    active[site]--;
                continue;
            }
            if (v > R && site < nsites) {
                if (!active[site]++) {
                    tot[2 * site] += bytes[v];
                    tot[2 * site + 1] += count[v];
                }
                stack[sp++] = v | EXIT;
            }
            uint32_t end = v + 2 <= N ? coff[v + 2] : total;
            for (uint32_t c = coff[v + 1]; c < end; c++)
                stack[sp++] = child[c];
        }
        for (uint32_t s = 1; s < nsites && ok; s++) {
            if (!tot[2 * s])
                continue;
            if (!drip__arena_grow(&d->site, &d->site_cap, d->nsite, d->nsite + 1, sizeof *d->site, 256)) {
                ok = false;
                break;
            }
            d->site[d->nsite++] = (struct drip__rsum_site){s, 0, tot[2 * s], tot[2 * s + 1]};
        }
    }
    drip__arena_free(active, abytes);
    drip__arena_free(tot, tbytes);
    return ok;
}

int drip__retain_dominators(struct drip__retain *r, const struct drip__block *b, size_t n,
                            const struct drip__retain_ctx *ctx, struct drip__dom_out *d, long long *us)
{
    long long t0 = now_us(), deadline = t0 + ctx->budget_us;
    if (ctx->budget_us <= 0) {   /* retain_budget=0: paths only, said so in the report */
        *us = 0;
        return DRIP_DOM_OVER_BUDGET;
    }
    size_t R = r->nroots, N = 1 + R + n, M = R + r->nedges;
    if (N >= EXIT || M >= UINT32_MAX)
        return DRIP_DOM_OOM;
    d->graph_nodes = N;
    size_t ob = (N + 1) * sizeof(uint32_t), ab = (M ? M : 1) * sizeof(uint32_t), nb = N * sizeof(uint32_t);
    size_t sb = drip__dom_scratch_bytes((uint32_t)N, M), zb = N * sizeof(uint64_t);
    uint32_t *off = drip__arena_alloc(ob), *adj = drip__arena_alloc(ab), *idom = drip__arena_alloc(nb),
             *order = drip__arena_alloc(nb);
    void *scratch = drip__arena_alloc(sb);
    uint64_t *size = drip__arena_alloc(zb);
    int rc = DRIP_DOM_OOM;
    if (!off || !adj || !idom || !order || !scratch || !size)
        goto out;
    /* the graph, by counting: 0 -> every root word, then the recorded edges */
    memset(off, 0, ob);
    off[1] = (uint32_t)R;
    for (size_t e = 0; e < r->nedges; e++) {
        uint32_t h = r->edges[2 * e];
        off[((h & DRIP_RET_ROOT) ? 1 + (h & ~DRIP_RET_ROOT) : 1 + R + h) + 1]++;
    }
    for (size_t v = 0; v < N; v++)
        off[v + 1] += off[v];
    memcpy(order, off, nb);   /* fill cursors */
    for (uint32_t i = 0; i < R; i++)
        adj[order[0]++] = 1 + i;
    for (size_t e = 0; e < r->nedges; e++) {
        uint32_t h = r->edges[2 * e];
        size_t from = (h & DRIP_RET_ROOT) ? 1 + (h & ~DRIP_RET_ROOT) : 1 + R + h;
        adj[order[from]++] = (uint32_t)(1 + R + r->edges[2 * e + 1]);
    }
    long reached = drip__dom_compute((uint32_t)N, off, adj, idom, order, scratch, past_deadline, &deadline);
    if (reached < 0) {
        rc = DRIP_DOM_OVER_BUDGET;
        goto out;
    }
    memset(size, 0, zb);
    for (size_t i = 0; i < n; i++)
        size[1 + R + i] = b[i].size;
    uint64_t *bytes = scratch, *count = bytes + N;   /* the scratch is free again: 32 bytes a node */
    drip__dom_retained(reached, order, idom, size, bytes, count);
    /* top[v]: the child of the super-root above v in the dominator tree */
    uint32_t *top = off;
    for (long i = 0; i < reached; i++) {
        uint32_t v = order[i];
        top[v] = v == 0 ? 0 : idom[v] == 0 ? v : top[idom[v]];
    }
    /* a block under the super-root: which root words point at it, and whether any block outside
     * its own subtree does (then no group of root words retains it alone). The parents' arrays
     * are free now: min and max root word per block. */
    struct drip__link *rr = r->link;   /* parent: the least root word, off: the greatest */
#define rmin(i) rr[i].parent
#define rmax(i) rr[i].off
    for (size_t i = 0; i < n; i++)
        rmin(i) = UINT32_MAX, rmax(i) = 0;
    for (size_t e = 0; e < r->nedges; e++) {
        uint32_t h = r->edges[2 * e], x = r->edges[2 * e + 1];
        if (idom[1 + R + x] != 0 || rmin(x) == SHARED)
            continue;
        if (!(h & DRIP_RET_ROOT)) {
            if (top[1 + R + h] != 1 + R + x)
                rmin(x) = SHARED;
        } else {
            uint32_t rid = h & ~DRIP_RET_ROOT;
            rmin(x) = rid < rmin(x) ? rid : rmin(x);
            rmax(x) = rid > rmax(x) ? rid : rmax(x);
        }
    }
    bool ok = true;
    for (uint32_t i = 0; i < R && ok; i++)
        if (bytes[1 + i])
            ok = push_ret(d, i, i, bytes[1 + i], count[1 + i]);
    for (size_t i = 0; i < n && ok; i++)
        if (idom[1 + R + i] == 0 && rmin(i) < SHARED)
            ok = push_ret(d, rmin(i), rmax(i), bytes[1 + R + i], count[1 + R + i]);
    /* the same group of root words once: sorted by (lo, hi) (the first word of each entry) */
    drip__sort_by_address(d->ret, d->nret, sizeof *d->ret);
    size_t k = 0;
    for (size_t i = 0; i < d->nret; i++) {
        if (k && d->ret[k - 1].lo == d->ret[i].lo && d->ret[k - 1].hi == d->ret[i].hi) {
            d->ret[k - 1].bytes += d->ret[i].bytes;
            d->ret[k - 1].blocks += d->ret[i].blocks;
        } else
            d->ret[k++] = d->ret[i];
    }
    d->nret = k;
    if (ok)
        ok = per_site(b, (uint32_t)R, (uint32_t)N, idom, bytes, count, off, adj, order, d);
    rc = ok ? DRIP_DOM_DONE : DRIP_DOM_OOM;
out:
    drip__arena_free(off, ob);
    drip__arena_free(adj, ab);
    drip__arena_free(idom, nb);
    drip__arena_free(order, nb);
    drip__arena_free(scratch, sb);
    drip__arena_free(size, zb);
    *us = now_us() - t0;
    return rc;
}
