/* table.c — the live-allocation map: block address -> {size, allocation site, scope}.
 *
 * A radix map keyed by address, as tcmalloc's PageMap: nothing to rehash or rebuild, a constant
 * number of dependent loads per operation whatever the heap's size, and every live block in
 * address order for free (the exit scan wants that order). Layout in table_map.h; the record arrays
 * in leaves.c; whole-map walks in table_walk.c.
 *   - The user address space (47 bits) is cut into 2 KiB spans. A two-level directory maps a span
 *     to its entry: L1 has 2^18 entries (bits 46-29, in .bss), each pointing to an L2 node of
 *     2^18 entries (bits 28-11, 16 MiB of drip's arena, allocated when a block first lands in
 *     its 512 MiB; pages of it that no span uses are never touched, so never resident).
 *   - An entry is one cache line: its lock, the address of the span's leaf and the leaf's index
 *     (a 256-bit map of the span's 8-byte slots, malloc's blocks being at least 8-aligned, and
 *     the number of records before each 64-slot word). A leaf holds the span's records in
 *     address order, 12 bytes each (the address is implied by the position); a slot's record is
 *     found with one popcount, so a free touches two lines: the entry and the record. Inserting
 *     or removing moves the records below it or those above it in the span, whichever are
 *     fewer (the records start at an offset in the leaf, kept in the entry): blocks allocated
 *     or freed in address order move none.
 *   - A span with a single block keeps its record inline in its entry: no leaf. A second block
 *     gives the span a leaf; the leaf goes when it empties.
 *   - Memory follows the live blocks (~17 bytes a small block: 12 of record, the rest slack and
 *     the entry), not the heap's span.
 *   - The cost: a free whose span's entry is not in the cache misses on it and on its record;
 *     the hashed per-thread shards this replaced missed once when few blocks spread over a large
 *     heap (bench/README.md). An insert prefetches both while the stack is walked.
 * Addresses that are not 8-aligned or above 2^47 are refused (insert returns false: untracked).
 *
 * Locks. Each entry's word has bit 0 as a spinlock: one compare-exchange on a line that only
 * that span's blocks share locks the span. No global lock or shared counter is written on the
 * common path: the live count is kept per thread ("cells").
 * drip__table_lock_all (fork, the scan) does not take every entry: it sets `frozen`, and waits
 * until no cell is `busy`. A writer marks its cell busy, locks the entry (a locked instruction,
 * a full barrier on x86-64), then reads `frozen`: if set, it lets go and waits. So once lock_all
 * returns no writer is inside the map until unlock_all (the Dekker pattern; x86-TSO). Readers
 * (walks) copy one span's records at a time under its entry's lock, unless the calling thread
 * itself froze the map: then they read without locks (a thread stopped by the scan may sit on an
 * entry's bit without changing anything). `grow_mu` guards creating L2 nodes and lock_all.
 * Lock order: grow_mu, then an entry's lock, then a leaf class lock (leaves.c), then the arena's.
 */
#include "table_map.h"

#include <sched.h>
#include <string.h>
#include <time.h>

enum { L2_BITS = 18, L1_BITS = 47 - SPAN_SHIFT - L2_BITS };
/* An L2 node's entries in groups of 64 (4 KiB): a bit per group, after the entries, is set when
 * a span of the group first gets a block and never cleared, so a walk over the map (the scan, a
 * forked child's reset) reads only the groups ever used, not all 16 MiB of each node (in a forked
 * child every page of it read is a page fault: a shell's subshell paid that per node). */
enum { GROUP_SHIFT = 6, USED_WORDS = (1 << (L2_BITS - GROUP_SHIFT)) / 64 };

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
__attribute__((noinline, cold)) static uintptr_t begin_slow(struct entry *e, struct cell **cp)
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

/* begin_slow's common case inline: the thread's own cell, the entry free, the map not frozen.
 * Anything else goes to begin_slow, with the cell still marked busy (it marks it again). */
static inline __attribute__((always_inline)) uintptr_t begin(struct entry *e, struct cell **cp)
{
    struct cell *c = own;
    if (DRIP_LIKELY(c && !c->shared)) {
        atomic_store_explicit(&c->busy, 1, memory_order_relaxed);
        uintptr_t v = atomic_load_explicit(&e->w, memory_order_relaxed);
        if (DRIP_LIKELY(!(v & LOCKED)) &&
            atomic_compare_exchange_strong_explicit(&e->w, &v, v | LOCKED, memory_order_seq_cst, memory_order_relaxed)) {
            if (DRIP_LIKELY(!atomic_load_explicit(&frozen, memory_order_relaxed))) {
                *cp = c;
                return v;
            }
            unlock_entry(e, v);
        }
    }
    return begin_slow(e, cp);
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
/* Baseline x86-64 has no popcnt instruction: the CPU is asked once, at load time (table_map.h's
 * drip__pop64; unit_table_portable builds the map with DRIP_TABLE_PORTABLE_POPCOUNT). */
bool drip__have_popcnt;

__attribute__((constructor)) static void detect_popcnt(void)
{
#if defined(__x86_64__) && !defined(DRIP_TABLE_PORTABLE_POPCOUNT)
    __builtin_cpu_init();
    drip__have_popcnt = __builtin_cpu_supports("popcnt");
#endif
}

static inline unsigned slot_of(uintptr_t a) { return (unsigned)(a >> SLOT_SHIFT) & (SLOTS - 1); }
static inline uintptr_t one_word(unsigned s) { return (uintptr_t)s << 8 | ONE; }

/* The rank among the leaf's records of slot s's record (present or not): it is at l[off + rank]. */
static inline unsigned rank(const struct entry *e, unsigned s)
{
    uint64_t below = (1ULL << (s & 63)) - 1;
    return e->cum[s >> 6] + drip__pop64(e->bits[s >> 6] & below);
}

static inline bool has(const struct entry *e, unsigned s) { return e->bits[s >> 6] >> (s & 63) & 1; }

/* Moves n records within a leaf: a loop for a few, where a call to memmove costs more than the
 * copy (the empty asm keeps the compiler from turning the loop back into that call), memmove
 * for more (a span of small blocks freed in address order moves dozens on every free). */
enum { MOVE_LOOP_MAX = 8 };

static inline void move_up(struct item *r, unsigned n)   /* r[0..n) -> r[1..n] */
{
    if (n > MOVE_LOOP_MAX) {
        memmove(r + 1, r, n * sizeof *r);
        return;
    }
    for (unsigned i = n; i > 0; i--) {
        __asm__("" : "+r"(i));
        r[i] = r[i - 1];
    }
}

static inline void move_down(struct item *r, unsigned n)   /* r[1..n] -> r[0..n) */
{
    if (n > MOVE_LOOP_MAX) {
        memmove(r, r + 1, n * sizeof *r);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        __asm__("" : "+r"(i));
        r[i] = r[i + 1];
    }
}

/* Adds `it` at slot s (absent) of e's leaf l, which has room (fewer than cap records). The
 * records below it move down one place, or those above it up one, whichever are fewer (and
 * there is room for): blocks allocated or freed in address order move none. */
static inline __attribute__((always_inline)) void leaf_put(struct entry *e, struct item *l, unsigned s, const struct item *it, unsigned cap)
{
    unsigned k = rank(e, s), n = e->n, off = e->off;
    if (off > 0 && (k < n - k || off + n == cap)) {
        move_down(&l[off - 1], k);   /* l[off, off + k) -> l[off - 1, ...) */
        off = --e->off;
    } else {
        move_up(&l[off + k], n - k);
    }
    l[off + k] = *it;
    e->bits[s >> 6] |= 1ULL << (s & 63);
    for (unsigned w = (s >> 6) + 1; w < SLOTS / 64; w++)
        e->cum[w]++;
    e->n++;
}

static inline void to_item(struct item *it, const struct drip__rec *r)
{
    it->size_lo = (uint32_t)r->size;
    it->size_hi = (uint16_t)(r->size >> 32);
    it->gen = (uint16_t)r->gen;
    it->site = r->site;
}

uint64_t drip__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

_Atomic uint32_t drip__generation;

/* Starts loading addr's entry into the cache, and the line of its leaf where the record will go
 * once the entry is there: the allocation path calls it before and after walking the stack, so
 * the two misses overlap the walk. (A racy read: a hint, whatever it finds.) */
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
    if (w && !(w & ONE)) {
        unsigned s = slot_of(addr), i = s >> 6;
        uint64_t bits = __atomic_load_n(&e->bits[i], __ATOMIC_RELAXED);
        unsigned k = __atomic_load_n(&e->off, __ATOMIC_RELAXED) + __atomic_load_n(&e->cum[i], __ATOMIC_RELAXED) +
                     drip__pop64(bits & ((1ULL << (s & 63)) - 1));
        __builtin_prefetch((const struct item *)w + (k < SLOTS ? k : 0), 1);
    }
}

bool drip__table_insert(uintptr_t addr, size_t size, uint32_t site)
{
    DRIP_ASSERT(size < (1ULL << 48));   /* struct drip__rec keeps 48 bits of it */
    struct drip__rec rec = {.addr = addr, .size = size, .site = site,
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
        struct item *l = drip__leaf_alloc(0);   /* a second record: the span gets a leaf */
        if (!l) {
            *ok = false;
            return w;
        }
        memset(e->bits, 0, sizeof e->bits);
        memset(e->cum, 0, sizeof e->cum);
        e->n = 0;
        e->cls = 0;
        e->off = 0;
        leaf_put(e, l, one_slot(w), &e->one, drip__leaf_cap[0]);
        leaf_put(e, l, s, &it, drip__leaf_cap[0]);
        *added = true;
        return (uintptr_t)l;
    }
    struct item *l = (struct item *)w;
    if (has(e, s)) {
        l[e->off + rank(e, s)] = it;
        return w;
    }
    if (e->n == drip__leaf_cap[e->cls]) {
        struct item *nl = drip__leaf_move(l, e->off, e->n, e->cls, e->cls + 1u);
        if (!nl) {
            *ok = false;
            return w;
        }
        l = nl;
        e->cls++;
        e->off = 0;
    }
    leaf_put(e, l, s, &it, drip__leaf_cap[e->cls]);
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
    struct item *l = (struct item *)w;
    if (!l || !has(e, s))
        return w;
    unsigned k = rank(e, s), off = e->off, n = e->n;
    to_rec(out, &l[off + k], addr);
    *found = true;
    if (k < n - 1 - k) {   /* fewer records below it than above: those move up one place */
        move_up(&l[off], k);
        e->off = (uint8_t)(off + 1);
    } else {
        move_down(&l[off + k], n - 1 - k);
    }
    e->n = (uint16_t)(n - 1);
    e->bits[s >> 6] &= ~(1ULL << (s & 63));
    for (unsigned i = (s >> 6) + 1; i < SLOTS / 64; i++)
        e->cum[i]--;
    if (!e->n) {   /* (a leaf left with one record stays: a span that swings between one and
                      two blocks would otherwise make and free a leaf every time) */
        drip__leaf_free(l, e->cls);
        return 0;
    }
    if (e->cls > 0 && e->n * 4u < drip__leaf_cap[e->cls]) {   /* shrink, keeping room to grow back */
        unsigned to = drip__leaf_class(e->n * 2u);
        struct item *nl = drip__leaf_move(l, e->off, e->n, e->cls, to);
        if (nl) {
            e->cls = (uint8_t)to;
            e->off = 0;
            return (uintptr_t)nl;
        }
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

/* ---- walks in address order (table_walk.c) ----------------------------------------------------- */
void drip__map_walk(void (*at)(uintptr_t base, const struct entry *, uintptr_t w, void *), void (*after)(void *), void *arg)
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
    drip__leaves_child_reset();
    pthread_mutex_init(&grow_mu, NULL);
    i_froze = 0;
    atomic_store(&frozen, 0);
}
