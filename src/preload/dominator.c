/* dominator.c — Lengauer–Tarjan's dominator algorithm, the simple version (path compression
 * without balancing: O(m log n)), written without recursion (a heap graph of 5M blocks is a
 * linked list 5M deep) and without allocation (the scratch buffer: 8 words a node and 1 an edge, besides the caller's idom and order).
 * Why not the Cooper–Harvey–Kennedy iteration: it is quadratic on the long chains a heap holds
 * (a linked list reached from both ends), LT is not. See dominator.h; no locks, no state.
 */
#include "dominator.h"

#include <string.h>

size_t drip__dom_scratch_bytes(uint32_t n, size_t m) { return ((size_t)n * 8 + 1 + m) * sizeof(uint32_t); }

struct lt {
    uint32_t *semi, *parent, *ancestor, *label, *bucket, *bnext, *stack, *poff, *pred;
};

/* The node of least semi-dominator on the compressed ancestor path of v. */
static uint32_t eval(struct lt *t, uint32_t v)
{
    if (t->ancestor[v] == DRIP_DOM_NONE)
        return v;
    size_t sp = 0;
    uint32_t x = v;
    while (t->ancestor[t->ancestor[x]] != DRIP_DOM_NONE) {
        t->stack[sp++] = x;
        x = t->ancestor[x];
    }
    while (sp) {
        x = t->stack[--sp];
        uint32_t a = t->ancestor[x];
        if (t->semi[t->label[a]] < t->semi[t->label[x]])
            t->label[x] = t->label[a];
        t->ancestor[x] = t->ancestor[a];
    }
    return t->label[v];
}

long drip__dom_compute(uint32_t n, const uint32_t *off, const uint32_t *adj, uint32_t *idom, uint32_t *order,
                      void *scratch, int (*stop)(void *), void *ctx)
{
    if (n == 0)
        return 0;
    size_t m = off[n];
    uint32_t *s = scratch;
    struct lt t = {s, s + n, s + 2 * (size_t)n, s + 3 * (size_t)n, s + 4 * (size_t)n, s + 5 * (size_t)n,
                   s + 6 * (size_t)n, s + 7 * (size_t)n, s + 8 * (size_t)n + 1};
    unsigned steps = 0;
#define STEP()                                                   \
    do {                                                         \
        if (stop && !(++steps & 0xffff) && stop(ctx))            \
            return -1;                                           \
    } while (0)
    memset(t.semi, 0, n * sizeof *t.semi);   /* 0: not visited; else the preorder number + 1 */
    /* predecessors, by counting */
    memset(t.poff, 0, ((size_t)n + 1) * sizeof *t.poff);
    for (size_t e = 0; e < m; e++)
        t.poff[adj[e] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        t.poff[v + 1] += t.poff[v];
    uint32_t *fill = t.bucket;   /* the buckets are not in use yet */
    memcpy(fill, t.poff, n * sizeof *fill);
    for (uint32_t v = 0; v < n; v++)
        for (uint32_t e = off[v]; e < off[v + 1]; e++)
            t.pred[fill[adj[e]]++] = v;
    /* depth-first numbering from 0; ancestor holds each node's next edge meanwhile */
    long N = 0;
    size_t sp = 0;
    t.semi[0] = 1;
    order[N++] = 0;
    t.parent[0] = DRIP_DOM_NONE;
    t.ancestor[0] = off[0];
    t.stack[sp++] = 0;
    while (sp) {
        STEP();
        uint32_t v = t.stack[sp - 1];
        if (t.ancestor[v] == off[v + 1]) {
            sp--;
            continue;
        }
        uint32_t w = adj[t.ancestor[v]++];
        if (t.semi[w])
            continue;
        t.semi[w] = (uint32_t)++N;
        order[N - 1] = w;
        t.parent[w] = v;
        t.ancestor[w] = off[w];
        t.stack[sp++] = w;
    }
    for (long i = 0; i < N; i++) {
        uint32_t v = order[i];
        t.ancestor[v] = DRIP_DOM_NONE;
        t.label[v] = v;
        t.bucket[v] = DRIP_DOM_NONE;
    }
    for (uint32_t v = 0; v < n; v++)
        idom[v] = DRIP_DOM_NONE;
    for (long i = N - 1; i >= 1; i--) {
        uint32_t w = order[i];
        for (uint32_t e = t.poff[w]; e < t.poff[w + 1]; e++) {
            STEP();
            uint32_t v = t.pred[e];
            if (!t.semi[v])
                continue;   /* not reachable from 0 */
            uint32_t u = eval(&t, v);
            if (t.semi[u] < t.semi[w])
                t.semi[w] = t.semi[u];
        }
        uint32_t sd = order[t.semi[w] - 1];
        t.bnext[w] = t.bucket[sd];
        t.bucket[sd] = w;
        uint32_t p = t.parent[w];
        t.ancestor[w] = p;
        for (uint32_t v = t.bucket[p]; v != DRIP_DOM_NONE; v = t.bnext[v]) {
            uint32_t u = eval(&t, v);
            idom[v] = t.semi[u] < t.semi[v] ? u : p;
        }
        t.bucket[p] = DRIP_DOM_NONE;
    }
    for (long i = 1; i < N; i++) {
        uint32_t w = order[i];
        if (idom[w] != order[t.semi[w] - 1])
            idom[w] = idom[idom[w]];
    }
    idom[0] = 0;
#undef STEP
    return N;
}

void drip__dom_retained(long reached, const uint32_t *order, const uint32_t *idom, const uint64_t *size, uint64_t *bytes,
                       uint64_t *count)
{
    for (long i = 0; i < reached; i++) {
        uint32_t v = order[i];
        bytes[v] = size[v];
        if (count)
            count[v] = size[v] != 0;
    }
    /* preorder puts each node after its dominator: in reverse, every subtree is complete */
    for (long i = reached - 1; i >= 1; i--) {
        uint32_t v = order[i];
        bytes[idom[v]] += bytes[v];
        if (count)
            count[idom[v]] += count[v];
    }
}
