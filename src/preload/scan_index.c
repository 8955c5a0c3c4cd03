/* scan_index.c — the live blocks as the scan reads them: in place, from the live map frozen by
 * the stopped world (table.h's drip__table_spans), not copied. What the scan keeps besides is
 * small beside the map:
 *   - the non-empty spans of the map in address order, with the number of each one's first
 *     block (24 bytes a span: a span is 2 KiB, so at most 24 bytes a block, about 1.5 for a heap
 *     of small blocks);
 *   - a directory from a span's number to its index (4 bytes a span in the 512 MiB regions of
 *     2^18 spans that hold blocks; pages of it that no span uses are never touched);
 *   - the blocks that reach past the next span's start (24 bytes each: blocks over 2 KiB).
 * A word w is resolved by its own span (the last block at or below w in it), else the span
 * before (its last block), else the large blocks (a binary search): a block that covers w and
 * starts before the span before w's covers that whole span, so it is one of them.
 * Memory: drip's arena. Locks: none (the caller froze the map and reads it alone).
 */
#include "scan_index.h"
#include "arena.h"

#include <string.h>

enum { SPAN_BITS = 11, DIR_BITS = 18, DIR_TOP = 1 << (47 - SPAN_BITS - DIR_BITS), NUSED = 16 };

static void dir_free(struct drip__bindex *x)
{
    if (!x->dir)
        return;
    /* walking all of top (2 MiB, mostly never touched) costs more than a small program's scan */
    if (x->dir_nused <= NUSED)
        for (size_t i = 0; i < x->dir_nused; i++)
            drip__arena_free(x->dir[x->dir_used[i]], sizeof(uint32_t) << DIR_BITS);
    else
        for (size_t i = 0; i < DIR_TOP; i++)
            drip__arena_free(x->dir[i], sizeof(uint32_t) << DIR_BITS);
    drip__arena_free(x->dir, DIR_TOP * sizeof *x->dir);
    x->dir = NULL;
}

static bool dir_set(struct drip__bindex *x, uintptr_t base, uint32_t v)
{
    uintptr_t sp = base >> SPAN_BITS;
    uint32_t **t = &x->dir[sp >> DIR_BITS];
    if (!*t) {
        if (!(*t = drip__arena_alloc(sizeof(uint32_t) << DIR_BITS)))
            return false;
        if (x->dir_nused < NUSED)
            x->dir_used[x->dir_nused] = (uint32_t)(sp >> DIR_BITS);
        x->dir_nused++;
    }
    (*t)[sp & ((1u << DIR_BITS) - 1)] = v;
    return true;
}

static uint32_t dir_get(const struct drip__bindex *x, uintptr_t sp)
{
    const uint32_t *t = (sp >> DIR_BITS) < DIR_TOP ? x->dir[sp >> DIR_BITS] : NULL;
    return t ? t[sp & ((1u << DIR_BITS) - 1)] : 0;
}

static void add_span(const struct drip__tspan *t, void *arg)
{
    struct drip__bindex *x = arg;
    if (!t->n)
        return;   /* (the map keeps no empty leaf; should one appear, it holds no block) */
    if (x->oom || x->n + t->n >= UINT32_MAX ||
        !drip__arena_grow(&x->s, &x->s_cap, x->ns, x->ns + 1, sizeof *x->s, 4096)) {
        x->oom = true;
        return;
    }
    x->s[x->ns] = (struct drip__bspan){*t, (uint32_t)x->n};
    x->ns++;
    x->n += t->n;
}

bool drip__bindex_build(struct drip__bindex *x)
{
    memset(x, 0, sizeof *x);
    x->min = 1;   /* no block: nothing is in [min, max) */
    x->buf = drip__arena_alloc(256 * sizeof *x->buf);
    x->dir = drip__arena_alloc(DIR_TOP * sizeof *x->dir);
    if (!x->buf || !x->dir) {
        drip__bindex_free(x);
        return false;
    }
    drip__table_spans(add_span, x);
    if (x->oom) {
        drip__bindex_free(x);
        return false;
    }
    for (size_t k = 0; k < x->ns; k++) {
        const struct drip__bspan *s = &x->s[k];
        struct drip__rec last;
        if (!dir_set(x, s->t.base, (uint32_t)k + 1) || drip__table_span_find(&s->t, UINTPTR_MAX, &last) < 0) {
            drip__bindex_free(x);
            return false;
        }
        uintptr_t end = last.addr + last.size;
        if (end > s->t.base + (2u << SPAN_BITS)) {   /* it may cover a span with no block */
            if (!drip__arena_grow(&x->big, &x->big_cap, x->nbig, x->nbig + 1, sizeof *x->big, 256)) {
                drip__bindex_free(x);
                return false;
            }
            x->big[x->nbig++] = (struct drip__bbig){last.addr, end, s->first + s->t.n - 1, last.site, (uint32_t)last.gen, 0};
        }
        if (end > x->max)
            x->max = end;
    }
    if (x->ns) {
        x->min = drip__bindex_span(x, 0)[0].addr;
        x->max++;   /* a pointer just past the last block may still be its start (size 0) */
    }
    return true;
}

void drip__bindex_free(struct drip__bindex *x)
{
    dir_free(x);
    drip__arena_free(x->s, x->s_cap * sizeof *x->s);
    drip__arena_free(x->big, x->big_cap * sizeof *x->big);
    drip__arena_free(x->buf, 256 * sizeof *x->buf);
    memset(x, 0, sizeof *x);
}

static void ref_of(struct drip__bref *o, const struct drip__rec *r, uint32_t idx)
{
    *o = (struct drip__bref){r->addr, r->size, idx, r->site, (uint32_t)r->gen};
}

bool drip__bindex_find(const struct drip__bindex *x, uintptr_t w, struct drip__bref *out)
{
    if (w < x->min || w >= x->max)
        return false;
    uintptr_t sp = w >> SPAN_BITS;
    struct drip__rec r;
    uint32_t k = dir_get(x, sp);
    int i;
    if (k && (i = drip__table_span_find(&x->s[k - 1].t, w, &r)) >= 0) {
        ref_of(out, &r, x->s[k - 1].first + (uint32_t)i);
        return true;
    }
    if ((k = dir_get(x, sp - 1)) != 0) {   /* the span before: its last block, or none covers w */
        i = drip__table_span_find(&x->s[k - 1].t, UINTPTR_MAX, &r);
        ref_of(out, &r, x->s[k - 1].first + (uint32_t)i);
        return true;
    }
    size_t a = 0, b = x->nbig;
    while (a < b) {   /* last large block with addr <= w */
        size_t mid = (a + b) / 2;
        if (x->big[mid].addr <= w)
            a = mid + 1;
        else
            b = mid;
    }
    if (a == 0)
        return false;
    const struct drip__bbig *g = &x->big[a - 1];
    *out = (struct drip__bref){g->addr, g->end - g->addr, g->idx, g->site, g->gen};
    return true;
}

const struct drip__rec *drip__bindex_span(struct drip__bindex *x, size_t k)
{
    drip__table_span_recs(&x->s[k].t, x->buf);
    return x->buf;
}
