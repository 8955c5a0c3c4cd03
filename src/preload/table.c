/* table.c — the live-allocation table: block address -> {size, allocation site, birth time}.
 *
 * Sharded by thread: each thread records its allocations in a shard of its own, behind a leaf
 * spinlock that stays in that thread's cache. A free looks in the freeing thread's own shard
 * first (most blocks are freed by the thread that allocated them), then in the others. A thread
 * that ends leaves its shard, records and all, to the next thread that starts.
 *
 * A shard is an open-addressing table probed a group of 16 slots at a time. Beside the records,
 * one control byte per slot says EMPTY, DELETED, or FULL with 7 bits of the address's hash, so a
 * probe compares the 16 bytes of a group at once (SSE2, part of every x86-64 CPU) and gets the
 * candidates, or the group's first free slot, as a bit mask: no loop over the slots and no
 * branch per slot. A group that still has an EMPTY slot ends every probe that reaches it, so an
 * address is almost always found, or known absent, in its home group. This replaced linear
 * probing with backward-shift deletion, whose variable-length probe and shift loops cost about
 * as much as the rest of the table (measured in the README's Speed section). Groups of 8 tested
 * as one 64-bit word cost the same on alloc_bench; groups of 16 leave fewer groups full, so
 * fewer tombstones and fewer probes that go on to a second group.
 * Deleting from a group that has an EMPTY slot leaves EMPTY: no probe ever went past that group.
 * Otherwise it leaves DELETED (a tombstone), and tombstones go when the shard is rebuilt.
 * Groups are probed in triangular order (home, +1, +3, +6, ...), which visits every group of a
 * power-of-two table.
 * A shard is rebuilt when live records and tombstones would fill 7/8 of its slots: at the same
 * size if the live records alone fill at most 5/8 of it, else twice as large (from drip's
 * arena). So a shard's load lies between 5/16 and 7/8: 25 bytes a slot (a 24-byte record and its
 * control byte) make 29-80 bytes of table per live block.
 * Blocks of 256 TiB or more do not exist on x86-64 (47-bit user space): 48 bits of size suffice.
 * Locks: each shard's `mu` guards its slots/ctrl/mask/count/deleted; nothing is taken while one
 * is held but the arena lock (when growing). drip__table_lock_all takes them in list order (fork,
 * scan). The list of shards only grows, by pushes at its head.
 */
#include "internal.h"

#include <emmintrin.h>
#include <string.h>
#include <time.h>

enum { INITIAL_SLOTS = 256, GROUP = 16 };
enum { EMPTY = 0x00, DELETED = 0x01, FULL = 0x80 };   /* FULL | 7 bits of hash */

struct shard {
    drip__spinlock mu;
    struct drip__rec *slots;     /* mask + 1 records, then mask + 1 control bytes */
    uint8_t *ctrl;
    size_t mask;                 /* slots - 1; 0 while unallocated */
    size_t count;                /* live records */
    size_t deleted;              /* tombstones */
    struct shard *next;          /* set before the shard is published */
    atomic_int owned;            /* a running thread records into it */
} __attribute__((aligned(64)));

static struct shard *_Atomic shards;
static DRIP_TLS struct shard *own;

/* Fibonacci hashing of the address (blocks are 16-byte aligned): one multiply, whose high bits
 * are well mixed. The top bits pick the home group, the 7 bits below them the control tag. */
static inline uint64_t mix(uint64_t x) { return (x >> 4) * 0x9e3779b97f4a7c15ULL; }

static inline size_t home_group(uint64_t h, size_t mask) { return (size_t)(h >> 20) & (mask / GROUP); }
static inline uint8_t tag(uint64_t h) { return (uint8_t)(FULL | (h >> 57)); }

/* ---- one group's 16 control bytes, compared at once with SSE2 (part of every x86-64 CPU) ---- */
typedef uint32_t mask_t;   /* bit i: slot i of the group */

static inline __m128i group_ctrl(const uint8_t *ctrl, size_t g) { return _mm_load_si128((const __m128i *)(ctrl + g * GROUP)); }
static inline mask_t match_byte(__m128i c, uint8_t b) { return (mask_t)_mm_movemask_epi8(_mm_cmpeq_epi8(c, _mm_set1_epi8((char)b))); }
static inline mask_t match_tag(__m128i c, uint8_t t) { return match_byte(c, t); }
static inline mask_t match_empty(__m128i c) { return match_byte(c, EMPTY); }
static inline mask_t match_free(__m128i c) { return (mask_t)_mm_movemask_epi8(c) ^ 0xffff; }   /* high bit clear: EMPTY or DELETED */
static inline unsigned first(mask_t bits) { return (unsigned)__builtin_ctz(bits); }

/* This thread's shard: an unowned one left by a thread that ended, or a new one. */
static struct shard *claim(void)
{
    for (struct shard *s = atomic_load_explicit(&shards, memory_order_acquire); s; s = s->next) {
        int free_ = 0;
        if (atomic_compare_exchange_strong(&s->owned, &free_, 1))
            return own = s;
    }
    struct shard *s = drip__arena_alloc(sizeof *s);
    if (!s)
        return NULL;
    atomic_store(&s->owned, 1);
    struct shard *head = atomic_load_explicit(&shards, memory_order_relaxed);
    do
        s->next = head;
    while (!atomic_compare_exchange_weak_explicit(&shards, &head, s, memory_order_release, memory_order_relaxed));
    return own = s;
}

static inline struct shard *mine(void) { return DRIP_LIKELY(own != NULL) ? own : claim(); }

/* The calling thread ends. Its shard becomes claimable, but the thread keeps using it for what
 * it still frees on its way out (later key destructors): the lock makes sharing a shard safe,
 * ownership is only a hint, and claiming another shard here would leave one owned forever. */
void drip__table_release(void)
{
    if (own)
        atomic_store(&own->owned, 0);
}

static size_t table_bytes(size_t n) { return n * (sizeof(struct drip__rec) + 1); }

/* The slot for a record known to be absent: the first free one on its probe sequence. */
static size_t free_slot(const uint8_t *ctrl, size_t mask, uint64_t h)
{
    size_t g = home_group(h, mask);
    for (size_t step = 1;; g = (g + step++) & (mask / GROUP)) {
        mask_t f = match_free(group_ctrl(ctrl, g));
        if (f)
            return g * GROUP + first(f);
    }
}

/* Rebuilds s with n slots (n a power of two, at least GROUP), dropping the tombstones. */
static bool rebuild(struct shard *s, size_t n)
{
    size_t old_n = s->mask ? s->mask + 1 : 0;
    struct drip__rec *slots = drip__arena_alloc(table_bytes(n));
    if (!slots)
        return false;
    uint8_t *ctrl = (uint8_t *)(slots + n);   /* zero: every slot EMPTY */
    for (size_t i = 0; i < old_n; i++) {
        struct drip__rec *r = &s->slots[i];
        if (!r->addr)
            continue;
        uint64_t h = mix(r->addr);
        size_t j = free_slot(ctrl, n - 1, h);
        ctrl[j] = tag(h);
        slots[j] = *r;
    }
    drip__arena_free(s->slots, table_bytes(old_n));
    s->slots = slots;
    s->ctrl = ctrl;
    s->mask = n - 1;
    s->deleted = 0;
    return true;
}

/* Finds addr in s (locked by the caller): its slot index, or -1. */
static inline ptrdiff_t find_locked(const struct shard *s, uintptr_t addr, uint64_t h)
{
    if (DRIP_UNLIKELY(!s->mask))
        return -1;
    uint8_t t = tag(h);
    size_t g = home_group(h, s->mask);
    for (size_t step = 1;; g = (g + step++) & (s->mask / GROUP)) {
        __m128i w = group_ctrl(s->ctrl, g);
        for (mask_t m = match_tag(w, t); m; m &= m - 1) {
            size_t j = g * GROUP + first(m);
            if (s->slots[j].addr == addr)
                return (ptrdiff_t)j;
        }
        if (match_empty(w))
            return -1;
    }
}

static bool insert_locked(struct shard *s, const struct drip__rec *rec, uint64_t h)
{
    ptrdiff_t j = find_locked(s, rec->addr, h);
    if (j >= 0) {   /* already recorded (a free drip never saw): the new record wins */
        s->slots[j] = *rec;
        return true;
    }
    size_t n = s->mask ? s->mask + 1 : 0;
    if ((s->count + s->deleted + 1) * 8 > n * 7) {
        size_t want = !n ? INITIAL_SLOTS : s->count * 8 <= n * 5 ? n : n * 2;
        if (!rebuild(s, want))
            return false;
    }
    size_t k = free_slot(s->ctrl, s->mask, h);
    if (s->ctrl[k] == DELETED)
        s->deleted--;
    s->ctrl[k] = tag(h);
    s->slots[k] = *rec;
    s->count++;
    return true;
}

int drip__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

_Atomic uint32_t drip__generation;

bool drip__table_insert(uintptr_t addr, size_t size, uint32_t site)
{
    struct drip__rec rec = {.addr = addr, .size = size, .site = site, .birth_ms = (uint32_t)drip__now_ms(),
                            .gen = atomic_load_explicit(&drip__generation, memory_order_relaxed) & 0xffff};
    return drip__table_restore(&rec);
}

bool drip__table_restore(const struct drip__rec *rec)
{
    struct shard *s = mine();
    if (!s)
        return false;
    drip__spin_lock(&s->mu);
    bool ok = insert_locked(s, rec, mix(rec->addr));
    drip__spin_unlock(&s->mu);
    return ok;
}

/* Finds and removes addr from one shard (locked by the caller). */
static bool remove_locked(struct shard *s, uintptr_t addr, uint64_t h, struct drip__rec *out)
{
    ptrdiff_t j = find_locked(s, addr, h);
    if (j < 0)
        return false;
    *out = s->slots[j];
    s->slots[j].addr = 0;
    if (match_empty(group_ctrl(s->ctrl, (size_t)j / GROUP))) {
        s->ctrl[j] = EMPTY;
    } else {
        s->ctrl[j] = DELETED;
        s->deleted++;
    }
    s->count--;
    return true;
}

bool drip__table_remove(uintptr_t addr, struct drip__rec *out)
{
    uint64_t h = mix(addr);
    struct shard *me = mine();
    if (me) {
        drip__spin_lock(&me->mu);
        bool found = remove_locked(me, addr, h, out);
        drip__spin_unlock(&me->mu);
        if (DRIP_LIKELY(found))
            return true;
    }
    /* allocated by another thread (or never seen) */
    for (struct shard *s = atomic_load_explicit(&shards, memory_order_acquire); s; s = s->next) {
        if (s == me)
            continue;
        drip__spin_lock(&s->mu);
        bool found = remove_locked(s, addr, h, out);
        drip__spin_unlock(&s->mu);
        if (found)
            return true;
    }
    return false;
}

/* No global counter: one shared line written by every allocation and free costs more than the
 * whole probe. Summed on demand (racy by design: a figure for reports, not an invariant). */
size_t drip__table_count(void)
{
    size_t n = 0;
    for (struct shard *s = atomic_load_explicit(&shards, memory_order_acquire); s; s = s->next)
        n += s->count;
    return n;
}

void drip__table_shape(size_t *slots, size_t *tombstones)
{
    *slots = *tombstones = 0;
    for (struct shard *s = atomic_load_explicit(&shards, memory_order_acquire); s; s = s->next) {
        *slots += s->mask ? s->mask + 1 : 0;
        *tombstones += s->deleted;
    }
}

void drip__table_foreach(void (*fn)(const struct drip__rec *, void *), void *arg)
{
    for (struct shard *s = atomic_load_explicit(&shards, memory_order_acquire); s; s = s->next) {
        drip__spin_lock(&s->mu);
        for (size_t j = 0; s->mask && j <= s->mask; j++)
            if (s->slots[j].addr)
                fn(&s->slots[j], arg);
        drip__spin_unlock(&s->mu);
    }
}

/* The same, but a shard's lock is held only while a chunk of CHUNK slots is copied out, never
 * while fn runs: for drip's own thread, which runs at low priority and must not be preempted
 * holding a lock an allocating thread spins on. A record moved by a concurrent delete may be
 * seen twice or missed: for figures that tolerate that (the growth detector's). */
void drip__table_foreach_chunked(void (*fn)(const struct drip__rec *, void *), void *arg)
{
    enum { CHUNK = 256 };
    struct drip__rec buf[CHUNK];
    for (struct shard *s = atomic_load_explicit(&shards, memory_order_acquire); s; s = s->next)
        for (size_t j = 0;; j += CHUNK) {
            size_t got = 0;
            drip__spin_lock(&s->mu);
            size_t n = s->mask ? s->mask + 1 : 0;
            for (size_t k = j; k < n && k < j + CHUNK; k++)
                if (s->slots[k].addr)
                    buf[got++] = s->slots[k];
            drip__spin_unlock(&s->mu);
            for (size_t k = 0; k < got; k++)
                fn(&buf[k], arg);
            if (j + CHUNK >= n)
                break;
        }
}

struct drip__rec *drip__table_snapshot(size_t *n, size_t *bytes)
{
    size_t total = drip__table_count();
    *bytes = (total ? total : 1) * sizeof(struct drip__rec);
    struct drip__rec *out = drip__arena_alloc(*bytes);
    if (!out) {
        *n = 0;
        return NULL;
    }
    size_t k = 0;
    for (struct shard *s = atomic_load_explicit(&shards, memory_order_acquire); s; s = s->next)
        for (size_t j = 0; s->mask && j <= s->mask; j++)
            if (s->slots[j].addr && k < total)
                out[k++] = s->slots[j];
    *n = k;
    return out;
}

/* Takes every shard's lock, in list order. Shards pushed after the walk started are not taken:
 * they are empty (a new shard is published before its first record) and, at fork, the child
 * re-initialises every lock anyway. */
static struct shard *_Atomic locked_head;

void drip__table_lock_all(void)
{
    struct shard *head = atomic_load_explicit(&shards, memory_order_acquire);
    atomic_store(&locked_head, head);
    for (struct shard *s = head; s; s = s->next)
        drip__spin_lock(&s->mu);
}

void drip__table_unlock_all(void)
{
    for (struct shard *s = atomic_load(&locked_head); s; s = s->next)
        drip__spin_unlock(&s->mu);
}

void drip__table_child_reset(void)
{
    for (struct shard *s = atomic_load(&shards); s; s = s->next) {
        atomic_store(&s->mu.v, 0);
        if (s != own)
            atomic_store(&s->owned, 0);   /* its thread does not exist in the child */
    }
}
