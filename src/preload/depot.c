/* depot.c — the stack depot: each distinct allocation stack is stored once and named by a
 * 32-bit id (0 means "no stack"). A site also carries the counters that profiles, metrics and
 * the growth detector read: live bytes/objects and total allocated bytes/objects.
 *
 * Lookups are lock-free: buckets hold singly linked chains whose heads are published with a
 * release store and never unlinked (sites live as long as the process). Inserts take the
 * bucket's stripe lock and re-check the chain. id -> site goes through a two-level table whose
 * pages are allocated on demand, also published with release stores.
 * Locks: `mu[i]` guards inserts into buckets i, i+STRIPES, ...; `id_mu` guards id assignment
 * and the page table. Order: mu[i] before id_mu.
 */
#include "internal.h"
#include "arena.h"
#include "depot.h"

#include <string.h>

enum { BUCKET_BITS = 18, STRIPES = 64, PAGE_BITS = 12, PAGES = 4096 };

/* Two tables of buckets. A process starts with `small` (32 KiB): its first SMALL_SITES stacks
 * go there. Each new stack in the 2 MiB `buckets` touched a page of its own, one page fault per
 * stack for the first few hundred: about 200 of a short process's 600 (each bash of pyenv's shim,
 * each $(echo) subshell's parent). Past SMALL_SITES, new stacks go to `buckets`; `small` keeps
 * those it has (never unlinked), and a lookup reads `buckets` (once on), then `small`. Both
 * indices of a hash fall in one stripe (STRIPES divides both sizes): an insert re-checks both
 * under that stripe's lock, so a stack is never stored twice. */
enum { SMALL_BITS = 12, SMALL_SITES = 1u << SMALL_BITS };
static struct drip__site *_Atomic small[1u << SMALL_BITS];
static struct drip__site *_Atomic buckets[1u << BUCKET_BITS];
static atomic_bool big_on;   /* set once, under id_mu, when the SMALL_SITES-th stack is stored */
static pthread_mutex_t mu[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};
static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;
static struct drip__site *_Atomic *_Atomic pages[PAGES];
static _Atomic uint32_t next_id = 1;

uint64_t drip__stack_hash(const uintptr_t *f, int n)
{
    uint64_t h = DRIP_HASH_SEED;
    for (int i = 0; i < n; i++)
        h = drip__hash_step(h, f[i]);
    return drip__hash_finish(h, n);
}

static inline bool same(const struct drip__site *s, uint64_t h, const uintptr_t *f, int n);

static struct drip__site *find(struct drip__site *s, uint64_t h, const uintptr_t *f, int n)
{
    for (; s; s = atomic_load_explicit(&s->next, memory_order_acquire))
        if (same(s, h, f, n))
            return s;
    return NULL;
}

static bool publish_id(struct drip__site *s)
{
    pthread_mutex_lock(&id_mu);
    uint32_t id = atomic_load_explicit(&next_id, memory_order_relaxed);
    uint32_t page = id >> PAGE_BITS;
    if (page >= PAGES) {
        pthread_mutex_unlock(&id_mu);
        return false;
    }
    struct drip__site *_Atomic *p = atomic_load_explicit(&pages[page], memory_order_acquire);
    if (!p) {
        p = drip__arena_alloc(sizeof(*p) << PAGE_BITS);
        if (!p) {
            pthread_mutex_unlock(&id_mu);
            return false;
        }
        atomic_store_explicit(&pages[page], p, memory_order_release);
    }
    s->id = id;
    atomic_store_explicit(&p[id & ((1u << PAGE_BITS) - 1)], s, memory_order_release);
    atomic_store_explicit(&next_id, id + 1, memory_order_release);
    if (id >= SMALL_SITES)
        atomic_store_explicit(&big_on, true, memory_order_release);
    pthread_mutex_unlock(&id_mu);
    return true;
}

/* A per-thread cache of recently seen stacks: most allocations repeat a stack this thread used
 * moments ago, and the cache answers without touching the shared buckets (2 MiB: a miss in the
 * cache is a cache miss there, then on the chain's sites). Sets of two slots; each slot keeps
 * its stack's hash beside the site, so a slot of another stack is passed over without reading
 * that site. (It was 1,024 single slots of a pointer: with a few hundred hot stacks a quarter of
 * the lookups went to the buckets, alloc_bench.) A thread starts with SMALL_SETS sets in its
 * static TLS (2 KiB: glibc clears every thread's static TLS when it makes the thread, so a
 * program's thousand threads paid 32 KiB each for the full table); GROW_MISSES misses give it
 * CACHE_SETS sets (32 KiB) from drip's arena, back to the arena when the thread ends. */
enum { SMALL_SETS = 64, CACHE_SETS = 1024, GROW_MISSES = 256 };
struct cache_slot {
    uint64_t hash;
    struct drip__site *s;
};
static DRIP_TLS struct cache_slot small_cache[SMALL_SETS][2];
static DRIP_TLS struct cache_slot (*big_cache)[2];
static DRIP_TLS unsigned cache_misses;

static inline struct cache_slot *cache_set(uint64_t h)
{
    struct cache_slot(*big)[2] = big_cache;
    return big ? big[(h >> 40) & (CACHE_SETS - 1)] : small_cache[(h >> 40) & (SMALL_SETS - 1)];
}

/* A miss: the thread's GROW_MISSES-th takes the full table (the stack is remembered there);
 * when the arena has none, the thread stays with the small one. */
static struct cache_slot *cache_miss(struct cache_slot *set, uint64_t h)
{
    if (DRIP_UNLIKELY(!big_cache) && ++cache_misses == GROW_MISSES &&
        (big_cache = drip__arena_alloc(sizeof(struct cache_slot[CACHE_SETS][2]))))
        set = cache_set(h);
    return set;
}

unsigned drip__depot_cache_sets(void) { return big_cache ? CACHE_SETS : SMALL_SETS; }

void drip__depot_release(void)
{
    if (big_cache)
        drip__arena_free(big_cache, sizeof(struct cache_slot[CACHE_SETS][2]));
    big_cache = NULL;
    cache_misses = GROW_MISSES;   /* what it still allocates on its way out stays small */
    memset(small_cache, 0, sizeof small_cache);
}

static inline bool same_frames(const struct drip__site *s, const uintptr_t *f, int n)
{
    /* memcmp: libc's vector compare takes 20 frames in a few instructions, where a loop of
     * loads and branches took six per frame on every allocation */
    return s->depth == (uint32_t)n && !memcmp(s->frames, f, (size_t)n * sizeof *f);
}

static inline bool same(const struct drip__site *s, uint64_t h, const uintptr_t *f, int n)
{
    return s->hash == h && same_frames(s, f, n);
}

/* The stack just looked up takes the set's first slot; the first slot's moves to the second. */
static inline void remember(struct cache_slot *set, uint64_t h, struct drip__site *s)
{
    set[1] = set[0];
    set[0].hash = h;
    set[0].s = s;
}

uint32_t drip__depot_intern(const uintptr_t *frames, int depth)
{
    return drip__depot_intern_hashed(frames, depth, drip__stack_hash(frames, depth));
}

uint32_t drip__depot_intern_hashed(const uintptr_t *frames, int depth, uint64_t h)
{
    DRIP_ASSERT(depth >= 0 && depth <= DRIP_MAX_FRAMES);
    struct cache_slot *set = cache_set(h);
    if (DRIP_LIKELY(set[0].hash == h && same_frames(set[0].s, frames, depth)))
        return set[0].s->id;
    if (set[1].hash == h && same_frames(set[1].s, frames, depth))
        return set[1].s->id;
    set = cache_miss(set, h);
    size_t b = h & ((1u << BUCKET_BITS) - 1);
    struct drip__site *_Atomic *sb = &small[h & (SMALL_SITES - 1)];
    bool on = atomic_load_explicit(&big_on, memory_order_acquire);
    struct drip__site *s = on ? find(atomic_load_explicit(&buckets[b], memory_order_acquire), h, frames, depth) : NULL;
    if (!s)
        s = find(atomic_load_explicit(sb, memory_order_acquire), h, frames, depth);
    if (DRIP_LIKELY(s != NULL)) {
        remember(set, h, s);
        return s->id;
    }
    pthread_mutex_t *m = &mu[b % STRIPES];   /* == (h & (SMALL_SITES - 1)) % STRIPES */
    pthread_mutex_lock(m);
    on = atomic_load_explicit(&big_on, memory_order_acquire);
    struct drip__site *_Atomic *chain = on ? &buckets[b] : sb;
    struct drip__site *head = atomic_load_explicit(chain, memory_order_acquire);
    s = find(head, h, frames, depth);
    if (!s && on)   /* stored in small before big_on */
        s = find(atomic_load_explicit(sb, memory_order_acquire), h, frames, depth);
    if (!s) {
        s = drip__arena_alloc(sizeof *s + (size_t)depth * sizeof(uintptr_t));
        if (s) {
            s->hash = h;
            s->depth = (uint32_t)depth;
            memcpy(s->frames, frames, (size_t)depth * sizeof *frames);
            if (!publish_id(s)) {
                drip__arena_free(s, sizeof *s + (size_t)depth * sizeof(uintptr_t));
                s = NULL;
            } else {
                atomic_store_explicit(&s->next, head, memory_order_relaxed);
                atomic_store_explicit(chain, s, memory_order_release);
            }
        }
    }
    pthread_mutex_unlock(m);
    if (s)
        remember(set, h, s);
    return s ? s->id : 0;
}

struct drip__site *drip__depot_get(uint32_t id)
{
    if (id == 0 || id >= atomic_load_explicit(&next_id, memory_order_acquire))
        return NULL;
    struct drip__site *_Atomic *p = atomic_load_explicit(&pages[id >> PAGE_BITS], memory_order_acquire);
    return p ? atomic_load_explicit(&p[id & ((1u << PAGE_BITS) - 1)], memory_order_acquire) : NULL;
}

uint32_t drip__depot_count(void) { return atomic_load_explicit(&next_id, memory_order_acquire) - 1; }

void drip__depot_lock_all(void)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_lock(&mu[i]);
    pthread_mutex_lock(&id_mu);
}

void drip__depot_unlock_all(void)
{
    pthread_mutex_unlock(&id_mu);
    for (int i = STRIPES - 1; i >= 0; i--)
        pthread_mutex_unlock(&mu[i]);
}

void drip__depot_child_reset(void)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&mu[i], NULL);
    pthread_mutex_init(&id_mu, NULL);
}
