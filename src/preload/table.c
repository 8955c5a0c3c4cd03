/* table.c — the live-allocation table: block address -> {size, allocation site, birth time}.
 *
 * 256 stripes chosen by a hash of the address, each an open-addressing table (linear probing,
 * backward-shift deletion, so no tombstones) with its own spinlock: threads that allocate at the
 * same time rarely meet on a lock, and no global lock exists on the hot path.
 * A stripe grows (doubling, from drip's arena) when it is 70% full: 24 bytes per record at a
 * load between 35% and 70%, i.e. 34-69 bytes (46 on average) of table per live block; fuller
 * tables make linear probing's clusters, and so frees, slower.
 * Blocks of 256 TiB or more do not exist on x86-64 (47-bit user space): 48 bits of size suffice.
 * Locks: each stripe's `mu` (a leaf spinlock) guards its slots/mask/count. drip__table_lock_all takes them in
 * index order (fork, snapshot); nothing else is ever taken while a stripe lock is held except the
 * arena lock (when growing).
 */
#include "internal.h"

#include <string.h>
#include <time.h>

enum { STRIPES = 256, INITIAL_SLOTS = 256 };

struct stripe {
    drip__spinlock mu;
    struct drip__rec *slots;
    size_t mask;       /* slots - 1; 0 while unallocated */
    size_t count;
} __attribute__((aligned(64)));

static struct stripe T[STRIPES];

/* Fibonacci hashing of the address (blocks are 16-byte aligned): one multiply, whose high bits
 * are well mixed; the stripe takes the top 8 bits, a slot the 32 below them. */
static inline uint64_t mix(uint64_t x) { return (x >> 4) * 0x9e3779b97f4a7c15ULL; }
#define SLOT(h, mask) (((h) >> 24) & (mask))

static bool grow(struct stripe *s)
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

static bool insert_locked(struct stripe *s, const struct drip__rec *rec, uint64_t h)
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

void drip__table_foreach(void (*fn)(const struct drip__rec *, void *), void *arg)
{
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &T[i];
        drip__spin_lock(&s->mu);
        for (size_t j = 0; s->mask && j <= s->mask; j++)
            if (s->slots[j].addr)
                fn(&s->slots[j], arg);
        drip__spin_unlock(&s->mu);
    }
}

bool drip__table_restore(const struct drip__rec *rec)
{
    uint64_t h = mix(rec->addr);
    struct stripe *s = &T[h >> 56];
    drip__spin_lock(&s->mu);
    bool ok = insert_locked(s, rec, h);
    drip__spin_unlock(&s->mu);
    return ok;
}

bool drip__table_remove(uintptr_t addr, struct drip__rec *out)
{
    uint64_t h = mix(addr);
    struct stripe *s = &T[h >> 56];
    drip__spin_lock(&s->mu);
    if (!s->mask) {
        drip__spin_unlock(&s->mu);
        return false;
    }
    size_t j = SLOT(h, s->mask);
    while (s->slots[j].addr != addr) {
        if (!s->slots[j].addr) {
            drip__spin_unlock(&s->mu);
            return false;
        }
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
    drip__spin_unlock(&s->mu);
    return true;
}

/* No global counter: one shared line written by every allocation and free costs more than the
 * whole probe. Summed on demand (racy by design: a figure for reports, not an invariant). */
size_t drip__table_count(void)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++)
        n += T[i].count;
    return n;
}

struct drip__rec *drip__table_snapshot(size_t *n, size_t *bytes)
{
    size_t total = 0;
    for (int i = 0; i < STRIPES; i++)
        total += T[i].count;
    *bytes = (total ? total : 1) * sizeof(struct drip__rec);
    struct drip__rec *out = drip__arena_alloc(*bytes);
    if (!out) {
        *n = 0;
        return NULL;
    }
    size_t k = 0;
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &T[i];
        for (size_t j = 0; s->mask && j <= s->mask; j++)
            if (s->slots[j].addr)
                out[k++] = s->slots[j];
    }
    *n = k;
    return out;
}

void drip__table_lock_all(void)
{
    for (int i = 0; i < STRIPES; i++)
        drip__spin_lock(&T[i].mu);
}

void drip__table_unlock_all(void)
{
    for (int i = STRIPES - 1; i >= 0; i--)
        drip__spin_unlock(&T[i].mu);
}

void drip__table_child_reset(void)
{
    for (int i = 0; i < STRIPES; i++)
        atomic_store(&T[i].mu.v, 0);
}
