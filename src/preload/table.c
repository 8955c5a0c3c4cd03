/* table.c — the live-allocation map: block address -> {size, allocation site, birth time, scope}.
 *
 * A radix map keyed by address, as tcmalloc's PageMap: nothing to rehash or rebuild, a constant
 * number of dependent loads per operation whatever the heap's size, and every live block in
 * address order for free (the exit scan wants that order).
 *   - The user address space (47 bits) is cut into 2 KiB spans. A two-level directory maps a span
 *     to its leaf: L1 has 2^18 entries (bits 46-29, in .bss), each pointing to an L2 node of
 *     2^18 entries (bits 28-11, 2 MiB from drip's arena, allocated when a block first lands in
 *     its 512 MiB; pages of it that no span uses are never touched, so never resident).
 *   - A leaf holds the records of one span's live blocks in address order, 16 bytes each (the
 *     address is implied by the position), behind a 256-bit map of the span's 8-byte slots
 *     (malloc's blocks are at least 8-aligned) and the number of records before each 64-slot
 *     word, so a slot's record is found with one popcount. Inserting or removing moves the
 *     records above it in the span (at most 255, usually a few dozen, all in one leaf).
 *   - A span with a single block keeps its record inline in its directory entry (32 bytes): no
 *     leaf and no second cache line for the spans of large blocks. A second block gives the span
 *     a leaf; the leaf goes when it empties.
 *   - Leaves come in 13 capacities (2 to 256 records) carved from 64 KiB arena blocks, grow to
 *     the next when full, shrink when under a quarter full, and go when empty: memory follows the
 *     live blocks (~22 bytes a small block: 16 of record, the rest header, slack and directory),
 *     not the heap's span.
 *   - The cost: a free whose span's entry is not in the cache misses on it (and on the leaf);
 *     the hashed per-thread shards this replaced were denser when few blocks spread over a large
 *     heap (bench/README.md). An insert prefetches both while the stack is walked.
 * Addresses that are not 8-aligned or above 2^47 are refused (insert returns false: untracked).
 *
 * Locks. Each L2 entry's word (its leaf's pointer, or the inline mark) has bit 0 as a spinlock:
 * one compare-exchange on a line that only that span's blocks share locks and finds the leaf. No global lock or shared
 * counter is written on the common path: the live count is kept per thread ("cells").
 * drip__table_lock_all (fork, the scan) does not take every entry: it sets `frozen`, and waits
 * until no cell is `busy`. A writer marks its cell busy, locks the entry (a locked instruction,
 * a full barrier on x86-64), then reads `frozen`: if set, it lets go and waits. So once lock_all
 * returns no writer is inside the map until unlock_all (the Dekker pattern; x86-TSO). Readers
 * (foreach) copy one span's records at a time under its entry's lock, unless the calling thread
 * itself froze the map: then they read without locks (a thread stopped by the scan may sit on an
 * entry's bit without changing anything). Leaf memory: one spinlock per capacity class (leaf locks nest outside it).
 * Lock order: arena lock < class lock < entry lock < (nothing).
 */
#include "internal.h"
#include "arena.h"
#include "lock.h"
#include "table.h"

#include <sched.h>
#include <string.h>
#include <time.h>

enum { SPAN_SHIFT = 11, SLOT_SHIFT = 3, SLOTS = 1 << (SPAN_SHIFT - SLOT_SHIFT), L2_BITS = 18,
       L1_BITS = 47 - SPAN_SHIFT - L2_BITS, NCLASS = 13, SLAB = 64 << 10 };
/* An L2 node's entries in groups of 128 (4 KiB): a bit per group, after the entries, is set when
 * a span of the group first gets a block and never cleared, so a walk over the map (the scan, a
 * forked child's reset) reads only the groups ever used, not all 8 MiB of each node (in a forked
 * child every page of it read is a page fault: a shell's subshell paid that per node). */
enum { GROUP_SHIFT = 7, USED_WORDS = (1 << (L2_BITS - GROUP_SHIFT)) / 64 };
#define LOCKED ((uintptr_t)1)

struct item {                /* a record without its address */
    uint64_t size : 48;
    uint64_t gen : 16;
    uint32_t site;
    uint32_t birth_ms;
};

struct leaf {
    uint64_t bits[SLOTS / 64];   /* slot i of the span starts a live block */
    uint16_t n, cap;             /* records, capacity */
    uint8_t cum[SLOTS / 64];     /* records in the words before word w */
    uint8_t cls;
    uint8_t pad_[7];
    struct item rec[];           /* n records, in address order */
};
_Static_assert(sizeof(struct leaf) == 48, "leaf header");
_Static_assert(sizeof(struct item) == 16, "item");

static const uint16_t class_cap[NCLASS] = {2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256};

static size_t leaf_bytes(unsigned cls) { return sizeof(struct leaf) + class_cap[cls] * sizeof(struct item); }

/* A span's directory entry: its leaf, or its one record inline (most spans of a heap of large
 * blocks hold one: no leaf, and no second cache line, for them). */
struct entry {
    _Atomic uintptr_t w;   /* bit 0: LOCKED; ONE: `one` is the span's record, at slot w >> 8;
                              else the leaf's address, or 0 for an empty span */
    struct item one;
    uint64_t pad_;
};
_Static_assert(sizeof(struct entry) == 32, "entry");
#define ONE ((uintptr_t)2)

static struct entry *_Atomic l1[1 << L1_BITS];
static atomic_int l1_hi;            /* one past the highest L1 index in use */
/* A bit per 512 L1 entries (a 4 KiB page of them) that holds a node: the walks skip the rest of
 * L1 (2 MiB of .bss, mostly never touched; in a forked child each page read is a fault). */
enum { L1_PAGE_SHIFT = 9 };
static _Atomic uint64_t l1_used[(1 << L1_BITS) >> L1_PAGE_SHIFT >> 6];
static inline bool l1_page_used(int i)
{
    unsigned p = (unsigned)i >> L1_PAGE_SHIFT;
    return atomic_load_explicit(&l1_used[p >> 6], memory_order_acquire) >> (p & 63) & 1;
}
static pthread_mutex_t grow_mu = PTHREAD_MUTEX_INITIALIZER;   /* creating L2 nodes; lock_all */

static atomic_int frozen;
static DRIP_TLS int i_froze;

/* ---- per-thread cells: the live count and the "inside the map" flag --------------------- */
struct cell {
    atomic_int busy;
    _Atomic int64_t count;
    struct cell *next;
    atomic_int owned;
    int shared;   /* the cell of ending threads: several may use it at once */
} __attribute__((aligned(64)));

static struct cell *_Atomic cells;
static struct cell ending = {.shared = 1};
static DRIP_TLS struct cell *own;

static struct cell *claim(void)
{
    for (struct cell *c = atomic_load_explicit(&cells, memory_order_acquire); c; c = c->next) {
        int free_ = 0;
        if (atomic_compare_exchange_strong(&c->owned, &free_, 1))
            return own = c;
    }
    struct cell *c = drip__arena_alloc(sizeof *c);
    if (!c)
        return &ending;   /* not remembered: the next operation tries again */
    atomic_store(&c->owned, 1);
    struct cell *head = atomic_load_explicit(&cells, memory_order_relaxed);
    do
        c->next = head;
    while (!atomic_compare_exchange_weak_explicit(&cells, &head, c, memory_order_release, memory_order_relaxed));
    return own = c;
}

/* The calling thread ends: its cell goes to the next thread that starts, and what this thread
 * still frees on its way out (later key destructors) is counted in the shared cell. */
void drip__table_release(void)
{
    if (own && own != &ending)
        atomic_store(&own->owned, 0);
    own = &ending;
}

static inline void count_add(struct cell *c, int64_t d)
{
    if (DRIP_UNLIKELY(c->shared))
        atomic_fetch_add_explicit(&c->count, d, memory_order_relaxed);
    else   /* one writer: no locked instruction */
        atomic_store_explicit(&c->count, atomic_load_explicit(&c->count, memory_order_relaxed) + d, memory_order_relaxed);
}

static inline void backoff(unsigned i)
{
    if (i < 100)
        __builtin_ia32_pause();
    else
        sched_yield();
}

/* ---- leaf memory ------------------------------------------------------------------------- */
static struct {
    drip__spinlock mu;
    void *free;        /* freed leaves, linked through their first word */
    char *cur, *end;   /* the slab being carved */
} __attribute__((aligned(64))) pool[NCLASS];

static struct leaf *leaf_alloc(unsigned cls)
{
    size_t size = leaf_bytes(cls);
    drip__spin_lock(&pool[cls].mu);
    void *p = pool[cls].free;
    if (p) {
        memcpy(&pool[cls].free, p, sizeof(void *));
    } else {
        if (!pool[cls].cur || pool[cls].cur + size > pool[cls].end) {
            char *slab = drip__arena_alloc(SLAB);   /* the tail of the last one is left unused */
            if (!slab) {
                drip__spin_unlock(&pool[cls].mu);
                return NULL;
            }
            pool[cls].cur = slab;
            pool[cls].end = slab + SLAB;
        }
        p = pool[cls].cur;
        pool[cls].cur += size;
    }
    drip__spin_unlock(&pool[cls].mu);
    struct leaf *l = p;
    memset(l, 0, sizeof *l);
    l->cap = class_cap[cls];
    l->cls = (uint8_t)cls;
    return l;
}

static void leaf_free(struct leaf *l)
{
    unsigned cls = l->cls;
    drip__spin_lock(&pool[cls].mu);
    memcpy(l, &pool[cls].free, sizeof(void *));
    pool[cls].free = l;
    drip__spin_unlock(&pool[cls].mu);
}

/* A copy of l in class cls (which holds its records); l is freed. NULL when out of memory. */
static struct leaf *leaf_move(struct leaf *l, unsigned cls)
{
    struct leaf *nl = leaf_alloc(cls);
    if (!nl)
        return NULL;
    memcpy(nl, l, offsetof(struct leaf, cap));
    memcpy(nl->cum, l->cum, sizeof nl->cum);
    memcpy(nl->rec, l->rec, l->n * sizeof(struct item));
    leaf_free(l);
    return nl;
}

static unsigned class_for(unsigned n)
{
    unsigned c = 0;
    while (class_cap[c] < n)
        c++;
    return c;
}

/* ---- the directory --------------------------------------------------------------------------- */
static inline unsigned i1_of(uintptr_t a) { return (unsigned)(a >> (SPAN_SHIFT + L2_BITS)); }
static inline unsigned i2_of(uintptr_t a) { return (unsigned)(a >> SPAN_SHIFT) & ((1u << L2_BITS) - 1); }

static struct entry *entry_create(uintptr_t a);

/* The entry for address a; with `create`, its L2 node is made when missing. */
static inline struct entry *entry_of(uintptr_t a, bool create)
{
    if (DRIP_UNLIKELY(a >> 47))
        return NULL;   /* above the map (a bogus pointer freed): never recorded */
    struct entry *l2 = atomic_load_explicit(&l1[i1_of(a)], memory_order_acquire);
    if (DRIP_LIKELY(l2 != NULL) || !create)
        return l2 ? &l2[i2_of(a)] : NULL;
    return entry_create(a);
}

__attribute__((noinline)) static struct entry *entry_create(uintptr_t a)
{
    struct entry *l2;
    pthread_mutex_lock(&grow_mu);
    unsigned i = i1_of(a);
    l2 = atomic_load_explicit(&l1[i], memory_order_acquire);
    if (!l2) {
        /* zero: every span empty, no group used */
        l2 = drip__arena_alloc((sizeof(struct entry) << L2_BITS) + USED_WORDS * sizeof(uint64_t));
        if (l2) {
            if ((int)i >= atomic_load(&l1_hi))
                atomic_store(&l1_hi, (int)i + 1);
            atomic_fetch_or(&l1_used[i >> L1_PAGE_SHIFT >> 6], (uint64_t)1 << ((i >> L1_PAGE_SHIFT) & 63));
            atomic_store_explicit(&l1[i], l2, memory_order_release);
        }
    }
    pthread_mutex_unlock(&grow_mu);
    return l2 ? &l2[i2_of(a)] : NULL;
}

static inline _Atomic uint64_t *used_map(struct entry *l2) { return (_Atomic uint64_t *)(l2 + (1u << L2_BITS)); }

/* The span of address a gets its first block: its group is used from now on. */
static inline void mark_used(uintptr_t a)
{
    struct entry *l2 = atomic_load_explicit(&l1[i1_of(a)], memory_order_relaxed);
    _Atomic uint64_t *u = &used_map(l2)[i2_of(a) >> GROUP_SHIFT >> 6];
    uint64_t bit = (uint64_t)1 << ((i2_of(a) >> GROUP_SHIFT) & 63);
    if (!(atomic_load_explicit(u, memory_order_relaxed) & bit))
        atomic_fetch_or_explicit(u, bit, memory_order_release);
}

/* Calls fn on each entry of l2 in a used group, in order. */
#define FOR_USED_ENTRIES(l2, j, body)                                                              \
    for (unsigned uw_ = 0; uw_ < USED_WORDS; uw_++)                                                 \
        for (uint64_t ub_ = atomic_load_explicit(&used_map(l2)[uw_], memory_order_acquire); ub_;    \
             ub_ &= ub_ - 1)                                                                        \
            for (unsigned j = ((uw_ * 64u + (unsigned)__builtin_ctzll(ub_)) << GROUP_SHIFT),       \
                          jend_ = j + (1u << GROUP_SHIFT); j < jend_; j++) { body }

/* Takes e's lock bit; returns e's word without it. */
static inline uintptr_t lock_entry(struct entry *e)
{
    uintptr_t v = atomic_load_explicit(&e->w, memory_order_relaxed);
    for (unsigned i = 0;; i++) {
        if (!(v & LOCKED) && atomic_compare_exchange_weak_explicit(&e->w, &v, v | LOCKED, memory_order_seq_cst, memory_order_relaxed))
            return v;
        if (v & LOCKED) {
            backoff(i);
            v = atomic_load_explicit(&e->w, memory_order_relaxed);
        }
    }
}

static inline void unlock_entry(struct entry *e, uintptr_t w) { atomic_store_explicit(&e->w, w, memory_order_release); }

/* Locks e for a writer: marks the cell busy first, and lets go while the map is frozen. */
static inline uintptr_t begin(struct entry *e, struct cell **cp)
{
    for (;;) {
        struct cell *c = own ? own : claim();
        if (DRIP_UNLIKELY(c->shared))
            atomic_fetch_add(&c->busy, 1);
        else
            atomic_store_explicit(&c->busy, 1, memory_order_relaxed);
        uintptr_t w = lock_entry(e);   /* seq_cst RMW: busy is visible before frozen is read */
        if (DRIP_LIKELY(!atomic_load_explicit(&frozen, memory_order_relaxed))) {
            *cp = c;
            return w;
        }
        unlock_entry(e, w);
        if (c->shared)
            atomic_fetch_sub(&c->busy, 1);
        else
            atomic_store_explicit(&c->busy, 0, memory_order_release);
        for (unsigned i = 0; atomic_load_explicit(&frozen, memory_order_acquire); i++)
            backoff(i);
    }
}

static inline void end(struct entry *e, uintptr_t w, struct cell *c)
{
    unlock_entry(e, w);
    if (DRIP_UNLIKELY(c->shared))
        atomic_fetch_sub_explicit(&c->busy, 1, memory_order_release);
    else
        atomic_store_explicit(&c->busy, 0, memory_order_release);
}

/* ---- one leaf ------------------------------------------------------------------------------- */
static inline unsigned pop64(uint64_t x)   /* no popcnt instruction in baseline x86-64 */
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

static inline unsigned slot_of(uintptr_t a) { return (unsigned)(a >> SLOT_SHIFT) & (SLOTS - 1); }
static inline uintptr_t one_word(unsigned s) { return (uintptr_t)s << 8 | ONE; }
static inline unsigned one_slot(uintptr_t w) { return (unsigned)(w >> 8) & (SLOTS - 1); }

/* The index in l->rec of slot s's record (present or not). */
static inline unsigned rank(const struct leaf *l, unsigned s)
{
    uint64_t below = (1ULL << (s & 63)) - 1;
    return l->cum[s >> 6] + pop64(l->bits[s >> 6] & below);
}

static inline bool has(const struct leaf *l, unsigned s) { return l->bits[s >> 6] >> (s & 63) & 1; }

/* Moves n records within a leaf: usually a few, where a call to memmove costs more than the
 * copy (the empty asm keeps the compiler from turning the loop back into that call). */
static inline void move_up(struct item *r, unsigned n)   /* r[0..n) -> r[1..n] */
{
    for (unsigned i = n; i > 0; i--) {
        __asm__("" : "+r"(i));
        r[i] = r[i - 1];
    }
}

static inline void move_down(struct item *r, unsigned n)   /* r[1..n] -> r[0..n) */
{
    for (unsigned i = 0; i < n; i++) {
        __asm__("" : "+r"(i));
        r[i] = r[i + 1];
    }
}

/* Adds `it` at slot s (absent) of l, which has room. */
static void leaf_put(struct leaf *l, unsigned s, const struct item *it)
{
    unsigned k = rank(l, s);
    move_up(&l->rec[k], l->n - k);
    l->rec[k] = *it;
    l->bits[s >> 6] |= 1ULL << (s & 63);
    for (unsigned w = (s >> 6) + 1; w < SLOTS / 64; w++)
        l->cum[w]++;
    l->n++;
}

static inline void to_item(struct item *it, const struct drip__rec *r)
{
    it->size = r->size;
    it->gen = r->gen;
    it->site = r->site;
    it->birth_ms = r->birth_ms;
}

static inline void to_rec(struct drip__rec *r, const struct item *it, uintptr_t addr)
{
    r->addr = addr;
    r->size = it->size;
    r->gen = it->gen;
    r->site = it->site;
    r->birth_ms = it->birth_ms;
}

int drip__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

_Atomic uint32_t drip__generation;

/* Starts loading addr's entry into the cache, and its leaf's header once the entry is there: the
 * allocation path calls it before walking the stack, so the two misses overlap the walk. */
void drip__table_prefetch(uintptr_t addr, int stage)
{
    struct entry *e = entry_of(addr, false);
    if (!e)
        return;
    if (stage == 0) {
        __builtin_prefetch(e, 1);
        return;
    }
    uintptr_t w = atomic_load_explicit(&e->w, memory_order_relaxed) & ~LOCKED;
    if (w && !(w & ONE))
        __builtin_prefetch((const void *)w, 1);
}

bool drip__table_insert(uintptr_t addr, size_t size, uint32_t site)
{
    DRIP_ASSERT(size < (1ULL << 48));   /* struct drip__rec keeps 48 bits of it */
    struct drip__rec rec = {.addr = addr, .size = size, .site = site, .birth_ms = (uint32_t)drip__now_ms(),
                            .gen = atomic_load_explicit(&drip__generation, memory_order_relaxed) & 0xffff};
    return drip__table_restore(&rec);
}

/* Records r in the span of entry e (locked, word w); returns the entry's new word, and in *ok
 * whether r is recorded (false: out of memory). *added: r is new (not a record replaced). */
static uintptr_t put(struct entry *e, uintptr_t w, const struct drip__rec *r, bool *ok, bool *added)
{
    unsigned s = slot_of(r->addr);
    struct item it;
    to_item(&it, r);
    *ok = true;
    *added = false;
    if (!w) {   /* an empty span: the record goes inline */
        mark_used(r->addr);
        e->one = it;
        *added = true;
        return one_word(s);
    }
    if (w & ONE) {
        if (one_slot(w) == s) {   /* already recorded (a free drip never saw): the new record wins */
            e->one = it;
            return w;
        }
        struct leaf *l = leaf_alloc(0);   /* a second record: the span gets a leaf */
        if (!l) {
            *ok = false;
            return w;
        }
        leaf_put(l, one_slot(w), &e->one);
        leaf_put(l, s, &it);
        *added = true;
        return (uintptr_t)l;
    }
    struct leaf *l = (struct leaf *)w;
    if (has(l, s)) {
        l->rec[rank(l, s)] = it;
        return w;
    }
    if (l->n == l->cap) {
        struct leaf *nl = leaf_move(l, l->cls + 1u);
        if (!nl) {
            *ok = false;
            return w;
        }
        l = nl;
    }
    leaf_put(l, s, &it);
    *added = true;
    return (uintptr_t)l;
}

bool drip__table_restore(const struct drip__rec *r)
{
    uintptr_t a = r->addr;
    if (DRIP_UNLIKELY((a & ((1u << SLOT_SHIFT) - 1)) || (a >> 47)))
        return false;
    struct entry *e = entry_of(a, true);
    if (!e)
        return false;
    struct cell *c;
    uintptr_t w = begin(e, &c);
    bool ok, added;
    w = put(e, w, r, &ok, &added);
    if (added)
        count_add(c, 1);
    end(e, w, c);
    return ok;
}

/* Removes slot s's record from the span of entry e (locked, word w) into *out; returns the
 * entry's new word, and in *found whether there was one. */
static uintptr_t take(struct entry *e, uintptr_t w, uintptr_t addr, struct drip__rec *out, bool *found)
{
    unsigned s = slot_of(addr);
    *found = false;
    if (w & ONE) {
        if (one_slot(w) != s)
            return w;
        to_rec(out, &e->one, addr);
        *found = true;
        return 0;
    }
    struct leaf *l = (struct leaf *)w;
    if (!l || !has(l, s))
        return w;
    unsigned k = rank(l, s);
    to_rec(out, &l->rec[k], addr);
    *found = true;
    l->n--;
    move_down(&l->rec[k], l->n - k);
    l->bits[s >> 6] &= ~(1ULL << (s & 63));
    for (unsigned i = (s >> 6) + 1; i < SLOTS / 64; i++)
        l->cum[i]--;
    if (!l->n) {   /* (a leaf left with one record stays: a span that swings between one and
                      two blocks would otherwise make and free a leaf every time) */
        leaf_free(l);
        return 0;
    }
    if (l->cls > 0 && l->n * 4u < l->cap) {   /* shrink, keeping room to grow back: half full */
        struct leaf *nl = leaf_move(l, class_for(l->n * 2u));
        if (nl)
            return (uintptr_t)nl;
    }
    return (uintptr_t)l;
}

bool drip__table_remove(uintptr_t addr, struct drip__rec *out)
{
    struct entry *e = entry_of(addr, false);
    if (!e || (addr & ((1u << SLOT_SHIFT) - 1)))
        return false;
    struct cell *c;
    uintptr_t w = begin(e, &c);
    bool found;
    w = take(e, w, addr, out, &found);
    if (found)
        count_add(c, -1);
    end(e, w, c);
    return found;
}

/* No global counter: one shared line written by every allocation and free costs more than the
 * whole lookup. Summed on demand (racy by design: a figure for reports, not an invariant). */
size_t drip__table_count(void)
{
    int64_t n = atomic_load_explicit(&ending.count, memory_order_relaxed);
    for (struct cell *c = atomic_load_explicit(&cells, memory_order_acquire); c; c = c->next)
        n += atomic_load_explicit(&c->count, memory_order_relaxed);
    return n > 0 ? (size_t)n : 0;
}

/* ---- walks in address order ------------------------------------------------------------------ */
/* For every non-empty span in address order: `at` runs with the span's entry locked (unless the
 * calling thread froze the map: then nothing changes it), given the span's base address and its
 * entry's word; `after`, if any, runs once the entry is unlocked. */
static void walk(void (*at)(uintptr_t base, const struct entry *, uintptr_t w, void *), void (*after)(void *), void *arg)
{
    bool lock = !i_froze;
    int hi = atomic_load(&l1_hi);
    for (int i = 0; i < hi; i++) {
        if (!l1_page_used(i)) {
            i |= (1 << L1_PAGE_SHIFT) - 1;
            continue;
        }
        struct entry *l2 = atomic_load_explicit(&l1[i], memory_order_acquire);
        if (!l2)
            continue;
        FOR_USED_ENTRIES(l2, j, {
            struct entry *e = &l2[j];
            if (!(atomic_load_explicit(&e->w, memory_order_relaxed) & ~LOCKED))
                continue;
            uintptr_t base = (uintptr_t)i << (SPAN_SHIFT + L2_BITS) | (uintptr_t)j << SPAN_SHIFT;
            uintptr_t w = lock ? lock_entry(e) : atomic_load_explicit(&e->w, memory_order_acquire) & ~LOCKED;
            if (w)
                at(base, e, w, arg);
            if (lock)
                unlock_entry(e, w);
            if (w && after)
                after(arg);
        })
    }
}

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
    const struct leaf *l = (const struct leaf *)w;
    for (unsigned i = 0; i < SLOTS / 64; i++)
        for (uint64_t b = l->bits[i]; b; b &= b - 1) {
            unsigned s = i * 64 + (unsigned)__builtin_ctzll(b);
            to_rec(&sp->r[sp->n], &l->rec[sp->n], base + ((uintptr_t)s << SLOT_SHIFT));
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
    walk(copy_span, call_span, &sp);
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
    walk(snap_at, snap_span, &s);
    *n = s.n;
    return out;
}

struct shape {
    size_t cap, leaves;
};

static void shape_at(uintptr_t base, const struct entry *e, uintptr_t w, void *arg)
{
    struct shape *s = arg;
    if (w & ONE) {
        s->cap++;
        return;
    }
    s->cap += ((const struct leaf *)w)->cap;
    s->leaves++;
}

/* Record capacity (inline records count one) and leaves, over the whole map. */
void drip__table_shape(size_t *capacity, size_t *leaves)
{
    struct shape s = {0, 0};
    walk(shape_at, NULL, &s);
    *capacity = s.cap;
    *leaves = s.leaves;
}

/* ---- freezing the map ----------------------------------------------------------------------- */
static void wait_idle(struct cell *c)
{
    for (unsigned i = 0; atomic_load_explicit(&c->busy, memory_order_acquire); i++)
        backoff(i);
}

void drip__table_lock_all(void)
{
    pthread_mutex_lock(&grow_mu);
    atomic_store(&frozen, 1);   /* seq_cst: visible before any busy flag is read */
    for (struct cell *c = atomic_load_explicit(&cells, memory_order_acquire); c; c = c->next)
        wait_idle(c);
    wait_idle(&ending);
    i_froze = 1;
}

void drip__table_unlock_all(void)
{
    i_froze = 0;
    atomic_store(&frozen, 0);
    pthread_mutex_unlock(&grow_mu);
}

/* In a forked child (the parent froze the map): only this thread exists. Threads of the parent
 * may have been between marking their cell and seeing `frozen`, or reading a leaf, at the fork:
 * their flags and entry bits are cleared. */
void drip__table_child_reset(void)
{
    for (struct cell *c = atomic_load(&cells); c; c = c->next) {
        atomic_store(&c->busy, 0);
        if (c != own)
            atomic_store(&c->owned, 0);   /* its thread does not exist in the child */
    }
    atomic_store(&ending.busy, 0);
    int hi = atomic_load(&l1_hi);
    for (int i = 0; i < hi; i++) {
        if (!l1_page_used(i)) {
            i |= (1 << L1_PAGE_SHIFT) - 1;
            continue;
        }
        struct entry *l2 = atomic_load(&l1[i]);
        if (l2)
            FOR_USED_ENTRIES(l2, j, {
                if (atomic_load_explicit(&l2[j].w, memory_order_relaxed) & LOCKED)
                    atomic_fetch_and(&l2[j].w, ~LOCKED);
            })
    }
    for (int c = 0; c < NCLASS; c++)
        atomic_store(&pool[c].mu.v, 0);
    pthread_mutex_init(&grow_mu, NULL);
    i_froze = 0;
    atomic_store(&frozen, 0);
}
