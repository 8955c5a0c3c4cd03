/* retain.c — retention paths and retained sizes (issue #16), see retain.h.
 *
 * Paths. Each block the mark phase reached has one path: its first holder's (a block, or a root
 * word), with the block's site as one more hop, except that a run of blocks of one allocation
 * site is one hop (a linked list of 10,000 nodes is one hop "these 10,000 blocks, linked at
 * offset 0", not 10,000). Paths are interned as nodes (previous node or root word, site), so a
 * path costs one node however many blocks share it. The mark phase makes each block's path as
 * it marks it (the holder, being read, has its path already) and counts the block there, so
 * nothing is kept per block and nothing is walked back afterwards. A record (kind, site) is then
 * held by a few nodes; the symbolizer names the root words, merges the paths whose roots have the
 * same name (two words of one global) and shows the one that holds most of the record's bytes,
 * with how many blocks it covers.
 *
 * Roots are named here only as far as the traced process can without symbols: a word in a copy
 * of some thread's registers is a register; in a thread's stack mapping a stack slot, with the
 * first return address below it (a word that points into a file's executable mapping just after
 * a call instruction): the frame that holds the slot is the function that made that call; a
 * word at most 512 bytes below a thread pointer or in its descriptor is TLS; anything else is
 * memory (a module's global, or a mapping, which the symbolizer tells apart by the modules'
 * writable segments).
 *
 * Retained sizes (with `retainers`): the dominator tree (dominator.c) of the graph whose nodes
 * are a super-root, the root words and the reachable blocks, and whose edges are every start
 * pointer from a root word or a reachable block. A root word retains its dominator subtree; a
 * block dominated by the super-root only (held by several root words) is retained by those
 * words together when every other pointer to it comes from inside its own subtree (a doubly
 * linked list's back links): the symbolizer credits it to their variable when they all lie in
 * one. A site retains the subtrees of its blocks that no block of the same site dominates.
 * Locks: none of its own; runs inside the scan (world stopped, or in the snapshot).
 */
#include "retain.h"
#include "arena.h"
#include "threads.h"
#include "depot.h"
#include "dominator.h"
#include "stop.h"
#include "modules.h"
#include "mmaps.h"

#include <string.h>
#include <time.h>

const char *const drip__root_kind_name[4] = {"memory", "stack", "tls", "register"};

/* Grows *p (arena) to hold at least need elements of elem bytes (all *cap of them are kept). */
static bool grow(void **p, size_t *cap, size_t need, size_t elem) { return drip__arena_grow(p, cap, *cap, need, elem, 1024); }

bool drip__retain_begin(struct drip__retain *r, size_t n, bool want_edges, bool want_links)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->want_edges = want_edges;
    r->want_links = want_links;
    if (!want_links)
        return true;
    size_t bytes = (n ? n : 1) * sizeof *r->link;
    r->link = drip__arena_alloc(bytes);
    if (!r->link) {
        drip__retain_end(r);
        return false;
    }
    memset(r->link, 0, bytes);   /* arena memory may be recycled */
    return true;
}

void drip__retain_end(struct drip__retain *r)
{
    if (r->link)
        drip__arena_free(r->link, (r->n ? r->n : 1) * sizeof *r->link);
    drip__arena_free(r->named, r->named_bytes);
    drip__arena_free(r->roots, r->roots_cap * sizeof *r->roots);
    drip__arena_free(r->edges, r->edges_cap * 2 * sizeof *r->edges);
    drip__arena_free(r->node, r->node_cap * sizeof *r->node);
    drip__arena_free(r->hash, r->hcap * sizeof *r->hash);
    drip__arena_free(r->held, r->held_cap * sizeof *r->held);
    drip__arena_free(r->hix, r->hix_cap * 2 * sizeof *r->hix);
    memset(r, 0, sizeof *r);
}

uint32_t drip__retain_root(struct drip__retain *r, uintptr_t src)
{
    if (r->nroots && (r->roots[r->nroots - 1] == src || r->nroots >= DRIP_RET_MAX_ROOTS))
        return (uint32_t)r->nroots - 1;
    if (!grow((void **)&r->roots, &r->roots_cap, r->nroots + 1, sizeof *r->roots)) {
        r->oom = true;
        return UINT32_MAX;
    }
    r->roots[r->nroots] = src;
    return (uint32_t)r->nroots++;
}

void drip__retain_note_regs(struct drip__retain *r, uintptr_t lo, uintptr_t hi, int tid)
{
    if (r->nregs < DRIP_RET_MAX_REGS && lo < hi) {
        r->regs[r->nregs].lo = lo;
        r->regs[r->nregs].hi = hi;
        r->regs[r->nregs++].tid = tid;
    }
}

void drip__retain_edge_slow(struct drip__retain *r, uint32_t holder, uint32_t to)
{
    size_t cap = r->edges_cap;
    if (!grow((void **)&r->edges, &cap, r->nedges + 1, 2 * sizeof *r->edges)) {
        r->oom = true;
        r->want_edges = false;
        return;
    }
    r->edges_cap = cap;
    r->edges[2 * r->nedges] = holder;
    r->edges[2 * r->nedges + 1] = to;
    r->nedges++;
}

/* ---- paths, as the blocks are marked ----------------------------------------------------------
 * A block's path is its holder's, with the block's site as one more hop unless the holder is of
 * the same site (then the hop is a run of blocks, "linked at offset ..."). The holder is marked,
 * and its path made, before anything it holds: the scan carries each marked block's path with it
 * until it reads the block's words, so no per-block parent is kept nor walked back afterwards
 * (the walk back was random access over every block, after the marking). */
static size_t node_slot(uint32_t prev, uint32_t site, size_t mask)
{
    /* the high half of the product mixes both words (its low bits would depend on site alone) */
    uint64_t k = ((uint64_t)prev << 32 | site) * 0x9e3779b97f4a7c15ULL;
    return (size_t)(k ^ (k >> 32)) & mask;
}

static bool rehash(struct drip__retain *t)
{
    /* small at first: a forked subshell's scan makes a handful of nodes, and each fresh page of
     * its arena is a page fault (doubling keeps a big heap's rehashes amortised) */
    size_t hc = t->hcap ? t->hcap * 2 : 256;
    uint32_t *h = drip__arena_alloc(hc * sizeof *h);
    if (!h)
        return false;
    memset(h, 0, hc * sizeof *h);
    for (size_t i = 0; i < t->nnodes; i++) {
        size_t s = node_slot(t->node[i].prev, t->node[i].site, hc - 1);
        while (h[s])
            s = (s + 1) & (hc - 1);
        h[s] = (uint32_t)i + 1;
    }
    drip__arena_free(t->hash, t->hcap * sizeof *t->hash);
    t->hash = h;
    t->hcap = hc;
    return true;
}

/* The node (prev, site), made on first use; UINT32_MAX when out of memory. */
static uint32_t intern_slow(struct drip__retain *t, uint32_t prev, uint32_t site)
{
    if ((t->nnodes + 1) * 2 > t->hcap && !rehash(t))
        return UINT32_MAX;
    size_t s = node_slot(prev, site, t->hcap - 1);
    while (t->hash[s]) {
        struct drip__rsum_node *x = &t->node[t->hash[s] - 1];
        if (x->prev == prev && x->site == site)
            return t->hash[s] - 1;
        s = (s + 1) & (t->hcap - 1);
    }
    size_t hc = t->hix_cap;
    if (!grow((void **)&t->node, &t->node_cap, t->nnodes + 1, sizeof *t->node) ||
        !grow((void **)&t->hix, &hc, t->nnodes + 1, 2 * sizeof *t->hix))
        return UINT32_MAX;
    t->hix_cap = hc;
    uint32_t depth = (prev & DRIP_RET_ROOT) ? 1 : (prev & DRIP_RET_ELIDED) ? DRIP_RET_MAX_DEPTH + 1 : t->node[prev].depth + 1;
    t->node[t->nnodes] = (struct drip__rsum_node){prev, site, UINT32_MAX, 0, UINT32_MAX, 0, depth, 0, 0, 0};
    t->hix[2 * t->nnodes] = t->hix[2 * t->nnodes + 1] = 0;
    t->hash[s] = (uint32_t)t->nnodes + 1;
    return (uint32_t)t->nnodes++;
}

static uint32_t intern(struct drip__retain *t, uint32_t prev, uint32_t site)
{
    /* the blocks one holder points at are mostly of one site (an array of them): the last node
     * found answers again without the hash */
    if (t->nnodes && t->memo_prev == prev && t->memo_site == site)
        return t->memo_id;
    uint32_t id = intern_slow(t, prev, site);
    if (id != UINT32_MAX) {
        t->memo_prev = prev;
        t->memo_site = site;
        t->memo_id = id;
    }
    return id;
}

static void widen(uint32_t *lo, uint32_t *hi, uint32_t v)
{
    *lo = v < *lo ? v : *lo;
    *hi = v > *hi ? v : *hi;
}

/* The blocks of (kind, node) held along node's path, made on first use; NULL when out of memory. */
static struct drip__rsum_held *held_of(struct drip__retain *r, uint32_t node, int kind)
{
    uint32_t *slot = &r->hix[2 * node + (kind == DRIP_POSSIBLE)];
    if (!*slot) {
        if (!grow((void **)&r->held, &r->held_cap, r->nheld + 1, sizeof *r->held))
            return NULL;
        r->held[r->nheld] = (struct drip__rsum_held){node, (uint32_t)kind, 0, 0};
        *slot = (uint32_t)++r->nheld;
    }
    return &r->held[*slot - 1];
}

uint32_t drip__retain_path(struct drip__retain *r, bool root, uint32_t hnode, uintptr_t src, uint32_t off,
                           uint32_t site, uint64_t size, int kind, bool inherited)
{
    uint32_t id;
    if (root) {
        uint32_t rid = drip__retain_root(r, src);
        if (rid == UINT32_MAX)
            return 0;
        id = intern(r, DRIP_RET_ROOT | rid, site);
    } else {
        if (!hnode)
            return 0;   /* its holder has no path (cut short) */
        const struct drip__rsum_node *q = &r->node[hnode - 1];
        if (q->site == site) {
            id = hnode - 1;
            widen(&r->node[id].self_min, &r->node[id].self_max, off);
        } else {
            /* past DRIP_RET_MAX_DEPTH hops: the path's first hops, then this site */
            uint32_t prev = q->depth < DRIP_RET_MAX_DEPTH ? hnode - 1
                            : (q->prev & DRIP_RET_ELIDED) ? q->prev : (DRIP_RET_ELIDED | (hnode - 1));
            id = intern(r, prev, site);
            if (id != UINT32_MAX)
                widen(&r->node[id].in_min, &r->node[id].in_max, off);
        }
    }
    struct drip__rsum_held *h = id == UINT32_MAX || inherited ? NULL : held_of(r, id, kind);
    if (id == UINT32_MAX || (!inherited && !h)) {
        r->oom = true;
        return 0;
    }
    r->node[id].bytes += size;
    r->node[id].blocks++;
    if (h) {
        h->bytes += size;
        h->blocks++;
    }
    return id + 1;
}

void drip__retain_unpath(struct drip__retain *r, uint32_t node, uint64_t size, int kind, bool inherited)
{
    if (!node)
        return;
    r->node[node - 1].bytes -= size;
    r->node[node - 1].blocks--;
    uint32_t slot = inherited ? 0 : r->hix[2 * (node - 1) + (kind == DRIP_POSSIBLE)];
    if (slot) {
        r->held[slot - 1].bytes -= size;
        r->held[slot - 1].blocks--;
    }
}

/* ---- naming the roots --------------------------------------------------------------------------- */
static bool read_word(const struct drip__retain_ctx *c, uintptr_t a, uintptr_t *v)
{
    if (!c->racy) {
        *v = *(const uintptr_t *)a;
        return true;
    }
    return drip__safe_read(v, a, sizeof *v) == (long)sizeof *v;
}

/* A return address: in a file's executable mapping, just after a call (e8 rel32; ff /2 with a
 * register, [reg], disp8 or disp32/rip operand). Code is read through the copy that cannot
 * fault (a truncated file). */
static bool is_return_address(const struct drip__retain_ctx *c, uintptr_t v)
{
    if (v < 4096 || !drip__ranges_find(&c->rt->file_x, v) || !drip__ranges_find(&c->rt->file_x, v - 7))
        return false;
    uint8_t code[7];
    if (drip__safe_read(code, v - 7, sizeof code) != (long)sizeof code)
        return false;
    return code[2] == 0xe8 || (code[5] == 0xff && (code[6] & 0x38) == 0x10) ||
           (code[4] == 0xff && (code[5] & 0x38) == 0x10) || (code[1] == 0xff && (code[2] & 0x38) == 0x10);
}

/* The first return address below the stack slot a, down to lo: the frame that holds a called
 * from there. 0 when none. */
static uintptr_t frame_of(const struct drip__retain_ctx *c, uintptr_t a, uintptr_t lo)
{
    if (a - lo > 256 * 1024)
        lo = a - 256 * 1024;
    for (uintptr_t s = (a & ~(uintptr_t)7) - 8; s >= lo && s < a; s -= 8) {
        uintptr_t v;
        if (!read_word(c, s, &v))
            return 0;
        if (is_return_address(c, v))
            return v;
    }
    return 0;
}

static void name_root(const struct drip__retain *r, const struct drip__retain_ctx *c, uintptr_t a, struct drip__rsum_root *o)
{
    memset(o, 0, sizeof *o);
    o->addr = a;
    o->kind = DRIP_ROOT_MEMORY;
    for (int i = 0; i < r->nregs; i++)
        if (a >= r->regs[i].lo && a < r->regs[i].hi) {
            o->kind = DRIP_ROOT_REGISTER;
            o->tid = r->regs[i].tid;
            break;
        }
    for (struct drip__thread *t = drip__threads_list(); t && o->kind == DRIP_ROOT_MEMORY; t = t->next) {
        if (atomic_load(&t->state) != DRIP_THREAD_RUNNING || !t->os_tid)
            continue;
        uintptr_t tp = (uintptr_t)t->tid;
        o->has_tls = drip__module_tls_of(tp, a, &o->tls_bias, &o->tls_off) ? 1   /* modules.c: the variable's module */
                     : drip__module_dtv_of(tp, a, c->racy, &o->tls_bias, &o->tls_off) ? 2 : 0;   /* or its DTV entry */
        if (o->has_tls || (a + 512 >= tp && a < tp + 0x700)) {
            o->kind = DRIP_ROOT_TLS;
        } else {
            uintptr_t sp = t == drip__self ? c->my_sp : atomic_load(&t->stopped_sp);
            const struct drip__range *m = sp ? drip__roots_mapping(c->rt, sp) : NULL;
            if (!m && t->stack_lo && t->stack_lo <= a && a < t->stack_hi)
                sp = t->stack_lo;   /* not stopped: its whole stack was read */
            else if (!m || a < m->lo || a >= m->hi)
                continue;
            o->kind = DRIP_ROOT_STACK;
            /* the exiting thread: down to the return address into the frame that called exit */
            o->ret = a >= sp ? frame_of(c, a, t == drip__self ? sp - 16 : sp) : 0;
        }
        o->tid = t->os_tid;
        o->start = t->is_main ? 0 : t->start_routine;
    }
    if (o->kind == DRIP_ROOT_MEMORY) {
        const struct drip__range *m = drip__roots_mapping(c->rt, a);
        if (m) {
            o->lo = m->lo;
            o->hi = m->hi;
            drip__mmaps_find(a, &o->lo, &o->hi, &o->map_site);   /* who mapped it (mmaps.c) */
        }
    } else if (o->kind == DRIP_ROOT_REGISTER) {
        for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
            if (t->os_tid == o->tid)
                o->start = t->is_main ? 0 : t->start_routine;
    }
}

/* ---- log_roots: one chain of blocks per record ----------------------------------------------- */
static void why_chain(const struct drip__retain *r, const struct drip__block *b, size_t x, uint32_t *stack, size_t n,
                      struct drip__rsum_why *w)
{
    size_t depth = 0;
    for (uint32_t p = (uint32_t)x + 1; depth < n;) {   /* the block, then its holders up to the root */
        stack[depth++] = p - 1;
        uint32_t q = r->link[p - 1].parent;
        if (!q || (q & DRIP_RET_ROOT)) {
            w->root = q ? q & ~DRIP_RET_ROOT : UINT32_MAX;
            break;
        }
        p = q;
    }
    /* from the root's side down; past DRIP_WHY_HOPS, the middle is one gap */
    size_t keep_top = depth > DRIP_WHY_HOPS ? DRIP_WHY_HOPS / 2 : depth, keep_bottom = depth > DRIP_WHY_HOPS ? DRIP_WHY_HOPS / 2 - 1 : 0;
    w->n = 0;
    for (size_t i = 0; i < keep_top; i++) {
        uint32_t blk = stack[depth - 1 - i];
        w->chain[2 * w->n] = b[blk].addr;
        w->chain[2 * w->n + 1] = depth - 1 - i > 0 ? r->link[stack[depth - 2 - i]].off : 0;
        w->n++;
    }
    if (keep_bottom) {
        w->chain[2 * w->n] = 0;
        w->chain[2 * w->n + 1] = depth - keep_top - keep_bottom;
        w->n++;
        for (size_t i = keep_bottom; i-- > 0;) {
            uint32_t blk = stack[i];
            w->chain[2 * w->n] = b[blk].addr;
            w->chain[2 * w->n + 1] = i > 0 ? r->link[stack[i - 1]].off : 0;
            w->n++;
        }
    }
    w->kind = b[x].kind;
    w->site = b[x].site;
}

/* The first block of each (kind, site) that has a path, reachable or possible. */
static struct drip__rsum_why *why_all(const struct drip__retain *r, const struct drip__block *b, size_t n, size_t *count,
                                      size_t *bytes_out)
{
    uint32_t nsites = drip__depot_count() + 1;
    size_t sbytes = (size_t)nsites * 2, wbytes = (n ? n : 1) * sizeof(uint32_t);
    uint8_t *seen = drip__arena_alloc(sbytes);
    uint32_t *stack = drip__arena_alloc(wbytes);
    struct drip__rsum_why *w = NULL;
    size_t nw = 0, cap = 0;
    if (seen && stack) {
        memset(seen, 0, sbytes);
        for (size_t i = 0; i < n; i++) {
            const struct drip__block *x = &b[i];
            if (!r->link[i].parent || x->inherited || (x->kind != DRIP_REACHABLE && x->kind != DRIP_POSSIBLE) || x->site >= nsites ||
                seen[2 * x->site + (x->kind == DRIP_POSSIBLE)]++)
                continue;
            if (nw == cap && !grow((void **)&w, &cap, nw + 1, sizeof *w))
                break;
            why_chain(r, b, i, stack, n, &w[nw++]);
        }
    }
    drip__arena_free(seen, sbytes);
    drip__arena_free(stack, wbytes);
    *count = nw;
    *bytes_out = cap * sizeof *w;
    return w;
}

void drip__retain_name_roots(struct drip__retain *r, const struct drip__retain_ctx *ctx)
{
    r->named_bytes = (r->nroots ? r->nroots : 1) * sizeof *r->named;
    r->named = drip__arena_alloc(r->named_bytes);
    for (size_t i = 0; r->named && i < r->nroots; i++)
        name_root(r, ctx, r->roots[i], &r->named[i]);
}

/* ---- the summary -------------------------------------------------------------------------------- */
struct drip__rsum *drip__retain_summarize(struct drip__retain *r, const struct drip__block *b, size_t n,
                                          const struct drip__retain_ctx *ctx)
{
    struct drip__dom_out d = {0};
    struct drip__rsum *s = NULL;
    struct drip__rsum_why *why = NULL;
    size_t nwhy = 0, why_bytes = 0, nheld = 0;
    for (size_t i = 0; i < r->nheld; i++)   /* a record's blocks that all moved to another path */
        if (r->held[i].blocks)
            r->held[nheld++] = r->held[i];
    if (ctx->log_roots && b && r->link)   /* before the dominator tree reuses the parents */
        why = why_all(r, b, n, &nwhy, &why_bytes);
    int dom = DRIP_DOM_NOT_ASKED;
    long long us = 0;
    if (r->want_edges && !r->oom && b && r->link)
        dom = drip__retain_dominators(r, b, n, ctx, &d, &us);
    size_t total = sizeof *s + r->nroots * sizeof(struct drip__rsum_root) + r->nnodes * sizeof(struct drip__rsum_node) +
                   nheld * sizeof(struct drip__rsum_held) + d.nret * sizeof(struct drip__rsum_ret) +
                   d.nsite * sizeof(struct drip__rsum_site) + nwhy * sizeof(struct drip__rsum_why);
    s = drip__arena_alloc(total);
    if (!s)
        goto out;
    *s = (struct drip__rsum){.total = total, .nroots = (uint32_t)r->nroots, .nnodes = (uint32_t)r->nnodes,
                             .nheld = (uint32_t)nheld, .nret = (uint32_t)d.nret, .nsite = (uint32_t)d.nsite, .nwhy = (uint32_t)nwhy,
                             .dom = (uint32_t)dom, .dom_us = us, .graph_nodes = d.graph_nodes, .graph_edges = r->nedges};
    for (size_t i = 0; i < r->nroots; i++)
        if (r->named)
            DRIP_RSUM_ROOTS(s)[i] = r->named[i];
        else
            name_root(r, ctx, r->roots[i], &DRIP_RSUM_ROOTS(s)[i]);
    if (r->nnodes)
        memcpy(DRIP_RSUM_NODES(s), r->node, r->nnodes * sizeof *r->node);
    if (nheld)
        memcpy(DRIP_RSUM_HELD(s), r->held, nheld * sizeof *r->held);
    if (d.nret)
        memcpy(DRIP_RSUM_RET(s), d.ret, d.nret * sizeof *d.ret);
    if (d.nsite)
        memcpy(DRIP_RSUM_SITE(s), d.site, d.nsite * sizeof *d.site);
    if (nwhy)
        memcpy(DRIP_RSUM_WHY(s), why, nwhy * sizeof *why);
out:
    drip__arena_free(why, why_bytes);
    drip__arena_free(d.ret, d.ret_cap * sizeof *d.ret);
    drip__arena_free(d.site, d.site_cap * sizeof *d.site);
    return s;
}
