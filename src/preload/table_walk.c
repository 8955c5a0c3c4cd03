/* table_walk.c — reading the whole live map in address order: foreach (the scan, reports, the
 * growth detector's ages, leak-check scopes), snapshot (a copy, while the map is frozen) and
 * shape (capacity and leaves, for unit_table), and the frozen map read in place span by span (the
 * exit scan: drip__table_spans, _span_find, _span_recs); generations aged in place (check.c:
 * drip__table_regen). Each span's records are copied out under its
 * entry's lock (table.c's drip__map_walk) and handed on with no lock held.
 * Locks: none of its own (an entry's lock, through drip__map_walk).
 */
#include "table_map.h"

/* The records of one span, copied out in address order. */
struct span {
    struct drip__rec r[SLOTS];
    unsigned n;
    void (*fn)(const struct drip__rec *, void *);
    void *arg;
};

static void copy_span(uintptr_t base, const struct entry *e, uintptr_t w, void *arg)
{
    struct span *sp = arg;
    sp->n = 0;
    if (w & ONE) {
        to_rec(&sp->r[sp->n++], &e->one, base + ((uintptr_t)one_slot(w) << SLOT_SHIFT));
        return;
    }
    const struct item *l = leaf_items(e, w);
    for (unsigned i = 0; i < SLOTS / 64; i++)
        for (uint64_t b = e->bits[i]; b; b &= b - 1) {
            unsigned s = i * 64 + (unsigned)__builtin_ctzll(b);
            to_rec(&sp->r[sp->n], &l[sp->n], base + ((uintptr_t)s << SLOT_SHIFT));
            sp->n++;
        }
}

static void call_span(void *arg)
{
    struct span *sp = arg;
    for (unsigned k = 0; k < sp->n; k++)
        sp->fn(&sp->r[k], sp->arg);
}

/* Calls fn on every live record, in address order. A span's records are copied out under its
 * entry's lock, and fn runs with no lock held: drip's own thread, at low priority, must not be
 * preempted holding a lock an allocating thread spins on, and fn may allocate. A record added
 * or removed meanwhile may be seen or not. */
void drip__table_foreach(void (*fn)(const struct drip__rec *, void *), void *arg)
{
    struct span sp = {.fn = fn, .arg = arg};
    drip__map_walk(copy_span, call_span, &sp);
}

void drip__table_foreach_chunked(void (*fn)(const struct drip__rec *, void *), void *arg)
{
    drip__table_foreach(fn, arg);
}

struct snap {
    struct span sp;
    struct drip__rec *out;
    size_t n, max;
};

static void snap_span(void *arg)
{
    struct snap *s = arg;
    for (unsigned k = 0; k < s->sp.n && s->n < s->max; k++)
        s->out[s->n++] = s->sp.r[k];
}

static void snap_at(uintptr_t base, const struct entry *e, uintptr_t w, void *arg) { copy_span(base, e, w, &((struct snap *)arg)->sp); }

struct drip__rec *drip__table_snapshot(size_t *n, size_t *bytes)
{
    size_t total = drip__table_count();
    *bytes = (total ? total : 1) * sizeof(struct drip__rec);
    struct drip__rec *out = drip__arena_alloc(*bytes);
    *n = 0;
    if (!out)
        return NULL;
    static struct snap s;   /* 6 KiB: callers hold lock_all, so one at a time */
    s.out = out;
    s.n = 0;
    s.max = total;
    drip__map_walk(snap_at, snap_span, &s);
    *n = s.n;
    return out;
}

struct shape {
    size_t cap, leaves;
};

static void shape_at(uintptr_t base, const struct entry *e, uintptr_t w, void *arg)
{
    (void)base;
    struct shape *s = arg;
    if (w & ONE) {
        s->cap++;
        return;
    }
    s->cap += drip__leaf_cap[e->cls];
    s->leaves++;
}

/* Record capacity (inline records count one) and leaves, over the whole map. */
void drip__table_shape(size_t *capacity, size_t *leaves)
{
    struct shape s = {0, 0};
    drip__map_walk(shape_at, NULL, &s);
    *capacity = s.cap;
    *leaves = s.leaves;
}

/* ---- the frozen map in place (table.h: drip__table_spans) ------------------------------------- */
struct spans_walk {
    void (*fn)(const struct drip__tspan *, void *);
    void *arg;
};

static void spans_at(uintptr_t base, const struct entry *e, uintptr_t w, void *arg)
{
    struct spans_walk *sw = arg;
    struct drip__tspan s = {base, e, (w & ONE) ? 1u : e->n};
    sw->fn(&s, sw->arg);
}

void drip__table_spans(void (*fn)(const struct drip__tspan *, void *), void *arg)
{
    struct spans_walk sw = {fn, arg};
    drip__map_walk(spans_at, NULL, &sw);
}

/* The highest set bit of e's slot bits at or below slot s, or -1. */
static int slot_at_or_below(const struct entry *e, unsigned s)
{
    int i = (int)(s >> 6);
    uint64_t b = e->bits[i] & (((s & 63) == 63) ? ~0ULL : ((2ULL << (s & 63)) - 1));
    while (!b && --i >= 0)
        b = e->bits[i];
    return b ? i * 64 + 63 - __builtin_clzll(b) : -1;
}

int drip__table_span_find(const struct drip__tspan *s, uintptr_t a, struct drip__rec *out)
{
    const struct entry *e = s->h;
    uintptr_t w = atomic_load_explicit(&e->w, memory_order_relaxed) & ~LOCKED;
    unsigned slot = a - s->base >= ((uintptr_t)1 << SPAN_SHIFT) ? SLOTS - 1 : (unsigned)((a - s->base) >> SLOT_SHIFT);
    if (w & ONE) {
        if (one_slot(w) > slot)
            return -1;
        to_rec(out, &e->one, s->base + ((uintptr_t)one_slot(w) << SLOT_SHIFT));
        return 0;
    }
    int t = slot_at_or_below(e, slot);
    if (t < 0)
        return -1;
    unsigned k = e->cum[t >> 6] + drip__pop64(e->bits[t >> 6] & ((1ULL << (t & 63)) - 1));
    to_rec(out, &leaf_items(e, w)[k], s->base + ((uintptr_t)t << SLOT_SHIFT));
    return (int)k;
}

void drip__table_span_recs(const struct drip__tspan *s, struct drip__rec *out)
{
    const struct entry *e = s->h;
    uintptr_t w = atomic_load_explicit(&e->w, memory_order_relaxed) & ~LOCKED;
    if (w & ONE) {
        to_rec(out, &e->one, s->base + ((uintptr_t)one_slot(w) << SLOT_SHIFT));
        return;
    }
    const struct item *l = leaf_items(e, w);   /* (not from the leaf's start: its offset) */
    unsigned n = 0;
    for (unsigned i = 0; i < SLOTS / 64; i++)
        for (uint64_t b = e->bits[i]; b; b &= b - 1, n++)
            to_rec(&out[n], &l[n], s->base + ((uintptr_t)(i * 64 + (unsigned)__builtin_ctzll(b)) << SLOT_SHIFT));
}

/* ---- generations rewritten in place (table.h: drip__table_regen) ------------------------------ */
struct regen {
    uint16_t (*fn)(uint16_t, void *);
    void *arg;
};

static void regen_at(uintptr_t base, const struct entry *e, uintptr_t w, void *arg)
{
    (void)base;
    struct regen *g = arg;
    struct entry *m = (struct entry *)e;   /* the map is frozen by the caller: nothing else writes it */
    if (w & ONE) {
        m->one.gen = g->fn(m->one.gen, g->arg);
        return;
    }
    struct item *l = leaf_items(m, w);
    for (unsigned k = 0; k < m->n; k++)
        l[k].gen = g->fn(l[k].gen, g->arg);
}

void drip__table_regen(uint16_t (*fn)(uint16_t gen, void *arg), void *arg)
{
    struct regen g = {fn, arg};
    drip__map_walk(regen_at, NULL, &g);
}
