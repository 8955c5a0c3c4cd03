/* scan_mark.c — the scan's marking, as valgrind's memcheck marks (see scan.c for the kinds):
 * from the roots, what a start pointer from a root or a reachable block reaches is reachable,
 * anything else a pointer reaches possible; then each unreached block heads a group of lost ones.
 * Blocks are found in the live map read in place (scan_index.c). Split out of scan.c.
 *
 * Per block, one byte of state (kind, and the heuristic that reached it), indexed by the block's
 * number in address order (scan_index.h); a possible block's interior offset (and path) in a
 * small table of its own. The mark stack holds (block, where to go on reading it): a block larger
 * than CHUNK is read a chunk at a time, the rest of it pushed back below what the chunk reached,
 * so the stack holds about what one chunk points at per level, not every pointer of a huge array.
 * Memory: drip's arena. Locks: none (the caller stopped the world and froze the map).
 */
#include "scan_mark.h"
#include "lsan.h"
#include "arena.h"
#include "stop.h"
#include "table.h"

#include <string.h>

static size_t pos_slot(uint32_t idx, size_t mask) { return (size_t)((idx * 0x9e3779b97f4a7c15ULL) >> 32) & mask; }

static bool pos_grow(struct possible *p)
{
    struct possible np = {.cap = p->cap ? p->cap * 2 : 1024, .n = p->n};
    size_t b = np.cap * sizeof(uint32_t);
    np.key = drip__arena_alloc(b);
    np.ioff = drip__arena_alloc(b);
    np.node = drip__arena_alloc(b);
    if (!np.key || !np.ioff || !np.node) {
        drip__arena_free(np.key, b);
        drip__arena_free(np.ioff, b);
        drip__arena_free(np.node, b);
        return false;
    }
    memset(np.key, 0, b);
    for (size_t i = 0; i < p->cap; i++)
        if (p->key[i]) {
            size_t s = pos_slot(p->key[i], np.cap - 1);
            while (np.key[s])
                s = (s + 1) & (np.cap - 1);
            np.key[s] = p->key[i];
            np.ioff[s] = p->ioff[i];
            np.node[s] = p->node[i];
        }
    drip__arena_free(p->key, p->cap * sizeof(uint32_t));
    drip__arena_free(p->ioff, p->cap * sizeof(uint32_t));
    drip__arena_free(p->node, p->cap * sizeof(uint32_t));
    *p = np;
    return true;
}

/* The slot of block idx (its own, or the empty one where it would go); SIZE_MAX: none and full. */
static size_t pos_find(const struct possible *p, uint32_t idx)
{
    if (!p->cap)
        return SIZE_MAX;
    size_t s = pos_slot(idx + 1, p->cap - 1);
    while (p->key[s] && p->key[s] != idx + 1)
        s = (s + 1) & (p->cap - 1);
    return s;
}

static bool pos_put(struct possible *p, uint32_t idx, uint32_t ioff, uint32_t node)
{
    if ((p->n + 1) * 2 > p->cap && !pos_grow(p))
        return false;
    size_t s = pos_find(p, idx);
    if (!p->key[s])
        p->n++;
    p->key[s] = idx + 1;
    p->ioff[s] = ioff;
    p->node[s] = node;
    return true;
}

void drip__mark_free(struct marker *mk)
{
    struct possible *p = &mk->pos;
    drip__arena_free(p->key, p->cap * sizeof(uint32_t));
    drip__arena_free(p->ioff, p->cap * sizeof(uint32_t));
    drip__arena_free(p->node, p->cap * sizeof(uint32_t));
    memset(p, 0, sizeof *p);
    drip__arena_free(mk->stack, mk->cap * sizeof *mk->stack);
    mk->stack = NULL;
    mk->top = mk->cap = 0;
}

uint32_t drip__mark_ioff(const struct marker *mk, uint32_t idx)
{
    size_t s = pos_find(&mk->pos, idx);
    return s != SIZE_MAX && mk->pos.key[s] ? mk->pos.ioff[s] : 0;
}

/* glibc's allocator keeps pointers to chunk headers (the top chunk, free-list heads), and the
 * header of the chunk after a block overlaps that block's last bytes. Such a word is the
 * allocator's, not the program's: it is not taken as an interior pointer. The block's size field
 * sits just before it (glibc layout; under another allocator this merely never matches). */
static bool is_next_chunk_header(const struct marker *mk, const struct drip__bref *blk, uintptr_t w)
{
    if (w & 15)
        return false;
    size_t field;
    if (!mk->racy)
        field = ((const size_t *)blk->addr)[-1];
    else if (drip__safe_read(&field, blk->addr - sizeof field, sizeof field) != (long)sizeof field)
        return false;   /* freed and unmapped meanwhile, or no such read here */
    if (field & 2)   /* IS_MMAPPED: nothing follows */
        return false;
    return w == blk->addr - 2 * sizeof(size_t) + (field & ~(size_t)7);
}

/* The block w points into (its start or inside it), or false. */
static bool find_block(const struct marker *mk, uintptr_t w, struct drip__bref *out)
{
    if (w < mk->min || w >= mk->max || !drip__bindex_find(mk->x, w, out))
        return false;
    if (w == out->addr)
        return true;
    return w < out->addr + out->size && !is_next_chunk_header(mk, out, w);
}

static void push(struct marker *mk, const struct drip__bref *b, uint32_t node, int mode)
{
    if (mk->top == mk->cap && !drip__arena_grow(&mk->stack, &mk->cap, mk->top, mk->top + 1, sizeof *mk->stack, 4096)) {
        mk->oom = true;
        return;
    }
    mk->stack[mk->top++] = (struct mentry){b->addr, b->size, 0, (uint64_t)mode, b->idx, node};
}

/* Block b was just marked `kind` from the holder being read (retention paths). */
static uint32_t path_of(struct marker *mk, const struct drip__bref *b, uintptr_t src, int kind, bool inh)
{
    uint32_t off = src - mk->hbase > UINT32_MAX ? UINT32_MAX : (uint32_t)(src - mk->hbase);
    return drip__retain_path(mk->ret, mk->holder == 0, mk->hnode, src, mk->holder ? off : 0, b->site, b->size, kind, inh);
}

/* A pointer w found in memory whose holder is `definite_holder` (a root or a reachable block)
 * or not (a possibly-lost block). Upgrades the target's state as valgrind's
 * lc_push_if_a_chunk_ptr does: a start pointer (or an interior one that a heuristic accepts)
 * from a definite holder makes it reachable; anything else makes an unreached block possible. */
void drip__mark_reach(struct marker *mk, uintptr_t w, bool definite_holder, uintptr_t src)
{
    struct drip__bref b;
    if (!find_block(mk, w, &b))
        return;
    uint8_t *st = &mk->st[b.idx];
    int kind = *st & ST_KIND, heur = *st >> ST_HEUR_SHIFT;
    if (kind == DRIP_REACHABLE) {
        if (heur && w == b.addr)
            *st = DRIP_REACHABLE;   /* reached by its start after all */
        if (mk->ret && definite_holder && (w == b.addr || heur))
            drip__retain_edge(mk->ret, b.idx, mk->holder, src);
        return;
    }
    bool start = w == b.addr;
    if (!start && mk->heur_set) {
        struct drip__block blk = {.addr = b.addr, .size = b.size};
        heur = drip__heuristic(mk->heur_set, mk->rt, &blk, w);
        *st = (uint8_t)(kind | heur << ST_HEUR_SHIFT);
        start = heur != DRIP_HEUR_NONE;
    }
    if (start && definite_holder) {
        uint32_t node = 0;
        if (mk->ret) {
            bool inh = drip__inherited(b.gen);
            size_t s = kind == DRIP_POSSIBLE ? pos_find(&mk->pos, b.idx) : SIZE_MAX;
            if (s != SIZE_MAX && mk->pos.key[s])   /* off the path it was possible along */
                drip__retain_unpath(mk->ret, mk->pos.node[s], b.size, DRIP_POSSIBLE, inh);
            node = path_of(mk, &b, src, DRIP_REACHABLE, inh);
        }
        *st = (uint8_t)(DRIP_REACHABLE | heur << ST_HEUR_SHIFT);
        push(mk, &b, node, M_DEF);
        if (mk->ret) {   /* the first holder found: the retention path goes through it */
            drip__retain_mark(mk->ret, b.idx, mk->holder, mk->hbase, src);
            drip__retain_edge(mk->ret, b.idx, mk->holder, src);
        }
    } else if (kind == DRIP_UNREACHED) {
        uint32_t node = mk->ret ? path_of(mk, &b, src, DRIP_POSSIBLE, drip__inherited(b.gen)) : 0;
        *st = (uint8_t)(DRIP_POSSIBLE | heur << ST_HEUR_SHIFT);
        uint32_t ioff = w - b.addr > UINT32_MAX ? UINT32_MAX : (uint32_t)(w - b.addr);
        if (!pos_put(&mk->pos, b.idx, ioff, node))
            mk->oom = true;
        push(mk, &b, node, M_POS);
        if (mk->ret)
            drip__retain_mark(mk->ret, b.idx, mk->holder, mk->hbase, src);
    }
}

/* What a scanned word does: reach its target from a definite or a possible holder, or (CLIQUE)
 * pull it into the group of the lost block `head`. */
enum { VISIT_POSSIBLE = 0, VISIT_DEFINITE = 1, VISIT_CLIQUE = 2 };

/* p: a copy of (or the very) words at `at` in the program's memory. */
static void visit_words(struct marker *mk, const uintptr_t *p, size_t n, int mode, uintptr_t at)
{
    if (mode != VISIT_CLIQUE) {
        for (size_t i = 0; i < n; i++) {
            uintptr_t w = p[i];
            if (w >= mk->min && w < mk->max)
                drip__mark_reach(mk, w, mode == VISIT_DEFINITE, at + i * sizeof(uintptr_t));
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct drip__bref t;
        if (p[i] < mk->min || p[i] >= mk->max || !find_block(mk, p[i], &t) || t.idx == mk->head)
            continue;
        uint8_t *st = &mk->st[t.idx];
        if ((*st & ST_KIND) == DRIP_UNREACHED || (*st & ST_KIND) == DRIP_DEFINITE) {
            *st = (uint8_t)((*st & ~ST_KIND) | DRIP_INDIRECT);
            push(mk, &t, 0, M_CLIQUE);
        }
    }
}

/* Reads [lo, hi) through a copy that cannot fault; unreadable pages are skipped. Without the
 * signal-free read, memory that is only racy is read directly and file-backed memory skipped. */
static void visit_careful(struct marker *mk, uintptr_t lo, uintptr_t hi, int how, int mode)
{
    uintptr_t buf[2048];
    lo = (lo + 7) & ~(uintptr_t)7;
    while (lo + sizeof(uintptr_t) <= hi) {
        size_t len = (hi - lo) & ~(size_t)7;
        if (len > sizeof buf)
            len = sizeof buf;
        long r = drip__safe_read(buf, lo, len);
        if (r < 0) {
            if (how == READ_RACY)
                visit_words(mk, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), mode, lo);
            return;
        }
        if (r < (long)sizeof(uintptr_t)) {   /* an unreadable page: on to the next one */
            lo = (lo + 4096) & ~(uintptr_t)4095;
            continue;
        }
        visit_words(mk, buf, (size_t)r / sizeof(uintptr_t), mode, lo);
        lo += (size_t)r & ~(size_t)7;
    }
}

static void visit_range(struct marker *mk, uintptr_t lo, uintptr_t hi, int how, int mode)
{
    if (how != READ_DIRECT) {
        visit_careful(mk, lo, hi, how, mode);
        return;
    }
    lo = (lo + 7) & ~(uintptr_t)7;
    if (lo + sizeof(uintptr_t) <= hi)
        visit_words(mk, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), mode, lo);
}

/* Part [lo, hi) of a block's words: directly when it lies in one directly readable mapping (the
 * common case), else piece by piece as the maps allow (a block with a PROT_NONE page still has
 * its other pages scanned). */
static void visit_block(struct marker *mk, const struct maps *m, uintptr_t lo, uintptr_t hi, int mode)
{
    if (drip__maps_direct(m, lo, hi)) {
        visit_range(mk, lo, hi, READ_DIRECT, mode);
        return;
    }
    for (size_t i = 0; i < m->readable.n; i++) {
        uintptr_t a = m->readable.r[i].lo > lo ? m->readable.r[i].lo : lo;
        uintptr_t b = m->readable.r[i].hi < hi ? m->readable.r[i].hi : hi;
        if (a < b)
            visit_range(mk, a, b, drip__how_of(m, &m->readable.r[i]), mode);
    }
}

/* The first span that ends after address a. */
static size_t span_after(const struct drip__bindex *x, uintptr_t a)
{
    size_t lo = 0, hi = x->ns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->s[mid].t.base + 2048 <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A root range, less the tracked blocks inside it (a block mmapped on its own lies in a mapping
 * that is otherwise a root candidate): a block's words count only once it is reached. */
void drip__mark_root(struct marker *mk, const struct range *r)
{
    mk->holder = 0;
    mk->hnode = 0;
    mk->hbase = 0;
    uintptr_t cur = r->lo;
    if (DRIP_UNLIKELY(drip__lsan_in_region(r->lo, r->hi))) {   /* __lsan_register_root_region */
        visit_range(mk, r->lo, r->hi, r->how, VISIT_DEFINITE);
        return;
    }
    struct drip__bref b;
    if (drip__bindex_find(mk->x, r->lo, &b) && b.addr + b.size > cur)   /* a block across lo */
        cur = b.addr + b.size;
    for (size_t k = span_after(mk->x, r->lo); k < mk->x->ns && mk->x->s[k].t.base < r->hi; k++) {
        const struct drip__rec *rec = drip__bindex_span(mk->x, k);
        for (uint32_t j = 0; j < mk->x->s[k].t.n && rec[j].addr < r->hi; j++) {
            if (rec[j].addr <= r->lo)
                continue;   /* the block across lo, or one before it */
            if (rec[j].addr > cur)
                visit_range(mk, cur, rec[j].addr, r->how, VISIT_DEFINITE);
            if (rec[j].addr + rec[j].size > cur)
                cur = rec[j].addr + rec[j].size;
        }
    }
    if (cur < r->hi)
        visit_range(mk, cur, r->hi, r->how, VISIT_DEFINITE);
}

void drip__mark_drain(struct marker *mk, const struct maps *m)
{
    while (mk->top) {
        struct mentry e = mk->stack[--mk->top];
        int kind = mk->st[e.idx] & ST_KIND;
        if (e.mode == M_POS && kind == DRIP_REACHABLE)
            continue;   /* reached by a start pointer since: read again whole, as reachable */
        uint64_t end = e.size - e.pos > CHUNK ? e.pos + CHUNK : e.size;
        if (end < e.size) {   /* the rest after what this chunk points at */
            struct mentry rest = e;
            rest.pos = end;
            mk->stack[mk->top++] = rest;   /* in e's place: no growth */
        }
        mk->holder = e.idx + 1;
        mk->hbase = e.addr;
        mk->hnode = e.node;
        int mode = e.mode == M_CLIQUE ? VISIT_CLIQUE : kind == DRIP_REACHABLE ? VISIT_DEFINITE : VISIT_POSSIBLE;
        visit_block(mk, m, e.addr + e.pos, e.addr + end, mode);
    }
}

/* Lost blocks, in address order: each one not yet claimed heads a group (definite); every block
 * it leads to that is not reached otherwise joins the group (indirect), including the head of an
 * earlier group, which is then demoted. */
void drip__mark_cliques(struct marker *mk, const struct maps *m)
{
    struct drip__bindex *x = mk->x;
    for (size_t k = 0; k < x->ns; k++) {
        uint32_t first = x->s[k].first, n = x->s[k].t.n, j;
        for (j = 0; j < n && (mk->st[first + j] & ST_KIND) != DRIP_UNREACHED; j++)
            ;
        if (j == n)
            continue;
        const struct drip__rec *rec = drip__bindex_span(x, k);   /* draining leaves x->buf alone */
        for (; j < n; j++) {
            if ((mk->st[first + j] & ST_KIND) != DRIP_UNREACHED)
                continue;
            mk->st[first + j] = (uint8_t)((mk->st[first + j] & ~ST_KIND) | DRIP_DEFINITE);
            mk->head = first + j;
            mk->top = 0;
            struct drip__bref b = {rec[j].addr, rec[j].size, first + j, rec[j].site, (uint32_t)rec[j].gen};
            push(mk, &b, 0, M_CLIQUE);
            drip__mark_drain(mk, m);
        }
    }
}

