/* table.c — the live-allocation table: block address -> {size, allocation site, birth time}.
 *
 * Sharded by thread: each thread records its allocations in a shard of its own, an
 * open-addressing table (linear probing, backward-shift deletion, so no tombstones) behind a
 * leaf spinlock that stays in that thread's cache. A free looks in the freeing thread's own shard
 * first (most blocks are freed by the thread that allocated them), then in the others. A thread
 * that ends leaves its shard, records and all, to the next thread that starts.
 * A shard grows (doubling, from drip's arena) when it is 70% full: 24 bytes per record at a load
 * between 35% and 70%, i.e. 34-69 bytes (46 on average) of table per live block.
 * Blocks of 256 TiB or more do not exist on x86-64 (47-bit user space): 48 bits of size suffice.
 * Locks: each shard's `mu` guards its slots/mask/count; nothing is taken while one is held but
 * the arena lock (when growing). drip__table_lock_all takes them in list order (fork, scan). The
 * list of shards only grows, by pushes at its head.
 */
#include "internal.h"

#include <string.h>
#include <time.h>

enum { INITIAL_SLOTS = 256 };

struct shard {
    drip__spinlock mu;
    struct drip__rec *slots;
    size_t mask;                 /* slots - 1; 0 while unallocated */
    size_t count;
    struct shard *next;          /* set before the shard is published */
    atomic_int owned;            /* a running thread records into it */
} __attribute__((aligned(64)));

static struct shard *_Atomic shards;
static DRIP_TLS struct shard *own;

/* Fibonacci hashing of the address (blocks are 16-byte aligned): one multiply, whose high bits
 * are well mixed. */
static inline uint64_t mix(uint64_t x) { return (x >> 4) * 0x9e3779b97f4a7c15ULL; }
#define SLOT(h, mask) (((h) >> 20) & (mask))

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

static bool grow(struct shard *s)
{
    size_t old_n = s->mask ? s->mask + 1 : 0;
    size_t n = old_n ? old_n * 2 : INITIAL_SLOTS;
    struct drip__rec *slots = drip__arena_alloc(n * sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < old_n; i++) {
        struct drip__rec *r = &s->slots[i];
        if (!r->addr)
            continue;
        size_t j = SLOT(mix(r->addr), n - 1);
        while (slots[j].addr)
            j = (j + 1) & (n - 1);
        slots[j] = *r;
    }
    drip__arena_free(s->slots, old_n * sizeof *slots);
    s->slots = slots;
    s->mask = n - 1;
    return true;
}

static bool insert_locked(struct shard *s, const struct drip__rec *rec, uint64_t h)
{
    if ((s->count + 1) * 10 > (s->mask + 1) * 7 || !s->mask) {
        if (!grow(s))
            return false;
    }
    size_t j = SLOT(h, s->mask);
    while (s->slots[j].addr && s->slots[j].addr != rec->addr)
        j = (j + 1) & s->mask;
    if (!s->slots[j].addr)
        s->count++;
    s->slots[j] = *rec;
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
    if (!s->mask)
        return false;
    size_t j = SLOT(h, s->mask);
    while (s->slots[j].addr != addr) {
        if (!s->slots[j].addr)
            return false;
        j = (j + 1) & s->mask;
    }
    *out = s->slots[j];
    /* backward-shift deletion: pull later members of the probe run into the hole */
    size_t hole = j;
    for (size_t k = (j + 1) & s->mask; s->slots[k].addr; k = (k + 1) & s->mask) {
        size_t home = SLOT(mix(s->slots[k].addr), s->mask);
        /* move k into the hole unless its home lies cyclically in (hole, k] */
        bool stays = (hole <= k) ? (home > hole && home <= k) : (home > hole || home <= k);
        if (!stays) {
            s->slots[hole] = s->slots[k];
            hole = k;
        }
    }
    s->slots[hole].addr = 0;
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
