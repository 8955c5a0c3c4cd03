/* counters.c — per-site counters without a shared cache line on the hot path.
 *
 * Every allocation and free updates its site's cumulative counters. Done with atomic adds on
 * the site itself, that was about an eighth of all cycles with a few threads: the line moves
 * between cores and every add is a locked instruction. Instead each thread adds into a small
 * table of its own (1,024 slots of 16 bytes indexed by site id, plain stores: one writer), and folds a slot into
 * the site's shared counters only when another site needs the slot or the thread ends.
 * Readers (stats, profiles, the growth detector) add every thread's pending slots to the shared
 * counters, so the figures stay exact whenever nobody is allocating; while threads allocate, a
 * slot being folded may be seen twice or not at all for that instant.
 * Tables are never freed: a thread that ends folds its table and leaves it for the next thread.
 */
#include "internal.h"
#include "arena.h"
#include "counters.h"
#include "depot.h"

#include <stdlib.h>
#include <string.h>

enum { SLOTS = 1024 };

/* Keyed by site id, not by pointer: a free knows its record's site id, and counting by id does
 * not touch the site's own cache line (only folding does). 16 bytes, four to a cache line: with
 * a few hundred hot sites a thread's slots are what it keeps in L1 for counting (they were 32
 * bytes, 40 before that). A slot is folded into its site before a count would overflow (32,767
 * objects, 2 GiB). */
struct pend {
    _Atomic uint32_t site;       /* 0: empty */
    _Atomic int16_t objs[2];     /* allocated, freed objects */
    _Atomic int32_t bytes[2];    /* allocated, freed bytes */
} __attribute__((aligned(16)));
_Static_assert(sizeof(struct pend) == 16, "pend");

struct pend_tab {
    struct pend_tab *next;   /* all tables, newest first; immutable once published */
    atomic_int in_use;
    /* (first: a program with few sites writes one page of the table, the first ids' slots) */
    struct pend e[SLOTS];
};

static struct pend_tab *_Atomic tabs;
static DRIP_TLS struct pend_tab *mine;

__attribute__((noinline)) static void fold(struct pend *p)
{
    uint32_t id = atomic_load_explicit(&p->site, memory_order_relaxed);
    struct drip__site *s = id ? drip__depot_get(id) : NULL;
    if (!s)
        return;
    int64_t v[4] = {atomic_load_explicit(&p->bytes[0], memory_order_relaxed), atomic_load_explicit(&p->objs[0], memory_order_relaxed),
                    atomic_load_explicit(&p->bytes[1], memory_order_relaxed), atomic_load_explicit(&p->objs[1], memory_order_relaxed)};
    if (v[0] || v[1])
        atomic_fetch_add_explicit(&s->alloc_bytes, (uint64_t)v[0], memory_order_relaxed),
            atomic_fetch_add_explicit(&s->alloc_objs, (uint64_t)v[1], memory_order_relaxed);
    if (v[2] || v[3])
        atomic_fetch_add_explicit(&s->free_bytes, (uint64_t)v[2], memory_order_relaxed),
            atomic_fetch_add_explicit(&s->free_objs, (uint64_t)v[3], memory_order_relaxed);
    for (int i = 0; i < 2; i++) {
        atomic_store_explicit(&p->bytes[i], 0, memory_order_relaxed);
        atomic_store_explicit(&p->objs[i], 0, memory_order_relaxed);
    }
}

__attribute__((noinline, cold)) static struct pend_tab *claim(void)
{
    for (struct pend_tab *t = atomic_load_explicit(&tabs, memory_order_acquire); t; t = t->next) {
        int idle = 0;
        if (atomic_compare_exchange_strong(&t->in_use, &idle, 1))
            return mine = t;
    }
    struct pend_tab *t = drip__arena_alloc(sizeof *t);
    if (!t)
        return NULL;
    atomic_store(&t->in_use, 1);
    struct pend_tab *head = atomic_load_explicit(&tabs, memory_order_relaxed);
    do
        t->next = head;
    while (!atomic_compare_exchange_weak_explicit(&tabs, &head, t, memory_order_release, memory_order_relaxed));
    return mine = t;
}

static void count_on_site(struct drip__site *s, int64_t bytes, int is_free)
{
    atomic_fetch_add_explicit(is_free ? &s->free_bytes : &s->alloc_bytes, (uint64_t)bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(is_free ? &s->free_objs : &s->alloc_objs, bytes < 0 ? (uint64_t)-1 : 1, memory_order_relaxed);
}

/* A count would overflow its slot: the slot goes to the site, and this object starts it afresh
 * (or goes to the site itself when its size alone does not fit). */
__attribute__((noinline, cold)) static void add_overflow(struct pend *p, int64_t bytes, int is_free)
{
    fold(p);
    if (bytes != (int32_t)bytes) {
        struct drip__site *s = drip__depot_get(atomic_load_explicit(&p->site, memory_order_relaxed));
        if (s)
            count_on_site(s, bytes, is_free);
        return;
    }
    atomic_store_explicit(&p->bytes[is_free], (int32_t)bytes, memory_order_relaxed);
    atomic_store_explicit(&p->objs[is_free], (int16_t)(bytes < 0 ? -1 : 1), memory_order_relaxed);
}

static inline void add(struct pend *p, int64_t bytes, int is_free)
{
    int64_t b = atomic_load_explicit(&p->bytes[is_free], memory_order_relaxed) + bytes;
    int32_t o = atomic_load_explicit(&p->objs[is_free], memory_order_relaxed) + (bytes < 0 ? -1 : 1);
    if (DRIP_UNLIKELY(b != (int32_t)b || o != (int16_t)o)) {
        add_overflow(p, bytes, is_free);   /* (a tail call: the common case needs no stack frame) */
        return;
    }
    atomic_store_explicit(&p->bytes[is_free], (int32_t)b, memory_order_relaxed);
    atomic_store_explicit(&p->objs[is_free], (int16_t)o, memory_order_relaxed);
}

/* drip__count when the thread has no table yet or the slot holds another site: out of line, so
 * that the common case needs no stack frame. */
__attribute__((noinline)) static void count_slow(uint32_t id, int64_t bytes, int is_free)
{
    struct pend_tab *t = mine ? mine : claim();
    if (DRIP_UNLIKELY(!t)) {   /* no memory for a table: count on the site directly */
        struct drip__site *s = drip__depot_get(id);
        if (s)
            count_on_site(s, bytes, is_free);
        return;
    }
    struct pend *p = &t->e[id & (SLOTS - 1)];
    if (atomic_load_explicit(&p->site, memory_order_relaxed) != id) {
        fold(p);
        atomic_store_explicit(&p->site, id, memory_order_relaxed);
    }
    add(p, bytes, is_free);
}

void drip__count(uint32_t id, int64_t bytes, int is_free)
{
    if (DRIP_UNLIKELY(!id))
        return;
    struct pend_tab *t = mine;
    struct pend *p = t ? &t->e[id & (SLOTS - 1)] : NULL;
    if (DRIP_UNLIKELY(!p || atomic_load_explicit(&p->site, memory_order_relaxed) != id)) {
        count_slow(id, bytes, is_free);
        return;
    }
    add(p, bytes, is_free);
}

/* The calling thread ends: its counts go to the sites, its table to the next thread. */
void drip__counters_release(void)
{
    struct pend_tab *t = mine;
    if (!t)
        return;
    for (int i = 0; i < SLOTS; i++)
        fold(&t->e[i]);
    mine = NULL;
    atomic_store(&t->in_use, 0);
}

/* After fork only the forking thread exists: the others' tables keep their counts (their blocks
 * are the child's too) and become free for the child's new threads. */
void drip__counters_child_reset(void)
{
    for (struct pend_tab *t = atomic_load(&tabs); t; t = t->next)
        if (t != mine)
            atomic_store(&t->in_use, 0);
}

void drip__counters_pending(int64_t (*out)[4], uint32_t nsites)
{
    for (struct pend_tab *t = atomic_load_explicit(&tabs, memory_order_acquire); t; t = t->next)
        for (int i = 0; i < SLOTS; i++) {
            uint32_t id = atomic_load_explicit(&t->e[i].site, memory_order_relaxed);
            if (!id || id > nsites)
                continue;
            for (int k = 0; k < 2; k++) {
                out[id][2 * k] += atomic_load_explicit(&t->e[i].bytes[k], memory_order_relaxed);
                out[id][2 * k + 1] += atomic_load_explicit(&t->e[i].objs[k], memory_order_relaxed);
            }
        }
}

/* The same in a calloc'd array of nsites + 1 rows (caller frees; NULL when out of memory). Call
 * with the guard held: it uses libc's allocator. */
int64_t (*drip__counters_pending_alloc(uint32_t nsites))[4]
{
    int64_t (*p)[4] = calloc((size_t)nsites + 1, sizeof *p);
    if (p)
        drip__counters_pending(p, nsites);
    return p;
}
