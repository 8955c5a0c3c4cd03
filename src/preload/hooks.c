/* hooks.c — the only file that defines malloc and friends. Every entry point is routed to one
 * pair of functions, on_alloc and on_free, so the bookkeeping rules live in one place:
 *  - a free is recorded before the real free (so the address cannot be handed out again and
 *    recorded by another thread before its old record is gone);
 *  - an allocation is recorded after the real call succeeds;
 *  - realloc detaches the old record first and puts it back if the call fails;
 *  - errno is what the real call left, whatever the bookkeeping did;
 *  - return values, alignment and malloc_usable_size are the real allocator's: drip adds no
 *    header and never changes a block.
 * The real functions are found with dlsym(RTLD_NEXT); while dlsym itself allocates, requests are
 * served from a static pool whose blocks are never given back.
 */
#include "internal.h"
#include "arena.h"
#include "background.h"
#include "counters.h"
#include "depot.h"
#include "foreign.h"
#include "hooks.h"
#include "lsan.h"
#include "ownload.h"
#include "runtime.h"
#include "table.h"
#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    void (*exit_)(int) __attribute__((noreturn));
    void (*Exit_)(int) __attribute__((noreturn));
    void (*xexit)(int) __attribute__((noreturn));
} real;

/* ---- bootstrap pool: serves dlsym's own allocations while `real` is being filled in ---------- */
static _Alignas(64) char boot_pool[64 * 1024];
static _Atomic size_t boot_used;
static atomic_int resolving;

static bool in_boot(const void *p)
{
    return (const char *)p >= boot_pool && (const char *)p < boot_pool + sizeof boot_pool;
}

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t need = ((n + 15) & ~(size_t)15) + align + 16;
    size_t off = atomic_fetch_add(&boot_used, need);
    if (off + need > sizeof boot_pool)
        return NULL;
    uintptr_t p = ((uintptr_t)boot_pool + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)p)[-1] = n;   /* size header, for realloc of a pool block */
    return (void *)p;        /* static memory is zero, as calloc needs */
}

static void resolve(void)
{
    if (atomic_exchange(&resolving, 1))
        return;
    real.malloc = dlsym(RTLD_NEXT, "malloc");
    real.free = dlsym(RTLD_NEXT, "free");
    real.calloc = dlsym(RTLD_NEXT, "calloc");
    real.realloc = dlsym(RTLD_NEXT, "realloc");
    real.reallocarray = dlsym(RTLD_NEXT, "reallocarray");
    real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real.memalign = dlsym(RTLD_NEXT, "memalign");
    real.valloc = dlsym(RTLD_NEXT, "valloc");
    real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    real.exit_ = dlsym(RTLD_NEXT, "_exit");
    real.Exit_ = dlsym(RTLD_NEXT, "_Exit");
    real.xexit = dlsym(RTLD_NEXT, "exit");
}

/* True when this call must go straight to the real allocator, untracked. */
static inline bool bypass(void)
{
    if (DRIP_UNLIKELY(!real.pvalloc))
        resolve();
    return drip__guard || !atomic_load_explicit(&drip__g.tracking, memory_order_relaxed);
}

static inline bool resolving_now(void) { return DRIP_UNLIKELY(!real.pvalloc) && resolving; }

/* ---- the peak of live bytes -------------------------------------------------------------------
 * Each thread accumulates its change of live bytes and publishes it in batches of 64 KiB, so the
 * hot path touches no shared counter; the peak is exact to within 64 KiB per thread. */
static DRIP_TLS int64_t unpublished;
static _Atomic int64_t published_live, peak_live;

static void publish(void)
{
    int64_t now = atomic_fetch_add_explicit(&published_live, unpublished, memory_order_relaxed) + unpublished;
    unpublished = 0;
    int64_t p = atomic_load_explicit(&peak_live, memory_order_relaxed);
    while (now > p && !atomic_compare_exchange_weak_explicit(&peak_live, &p, now, memory_order_relaxed, memory_order_relaxed))
        ;
}

static inline void account(int64_t delta)
{
    unpublished += delta;
    if (unpublished > 65536 || unpublished < -65536)
        publish();
}

uint64_t drip__peak_live(void)
{
    publish();   /* the calling thread's own share is exact */
    int64_t p = atomic_load_explicit(&peak_live, memory_order_relaxed);
    return p > 0 ? (uint64_t)p : 0;
}

/* ---- sampling mode (sample=N) ------------------------------------------------------------------
 * As Go and tcmalloc do: each thread draws the number of bytes until its next sample from an
 * exponential distribution with mean N, so every byte has the same chance 1/N of being sampled
 * and a block of size s is recorded with probability 1 - exp(-s/N); profiles scale the figures
 * back up (profile.c). An allocation that is not sampled costs a subtraction.
 * A free must still find out whether its block was sampled: a filter of 16 Ki saturating counters
 * indexed by a hash of the address answers "certainly not" without touching the table. 16 KiB
 * stays in cache (a 4 MiB filter missed on every free); at one sample per 512 KiB it is nearly
 * empty until the sampled heap passes a few GiB, and a full filter only costs table lookups. */
static DRIP_TLS int64_t bytes_to_sample;
static DRIP_TLS uint64_t rng_state;
enum { FILTER_BITS = 14 };
static _Atomic uint8_t *filter;

static double uniform01(void)
{
    if (!rng_state)
        rng_state = ((uint64_t)(uintptr_t)&rng_state * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)drip__now_ms() ^ 1;
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 1.0) / 9007199254740993.0;   /* (0, 1] */
}

static void next_sample(void)
{
    double d = -log(uniform01()) * (double)drip__opt.sample;
    bytes_to_sample += d > 1e15 ? (int64_t)1e15 : (int64_t)d + 1;
}

static inline size_t filter_index(uintptr_t p) { return (size_t)(((p >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - FILTER_BITS)); }

static void filter_add(uintptr_t p)
{
    _Atomic uint8_t *c = &filter[filter_index(p)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v < 255 && !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v + 1), memory_order_relaxed, memory_order_relaxed))
        ;
}

static void filter_remove(uintptr_t p)
{
    _Atomic uint8_t *c = &filter[filter_index(p)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v > 0 && v < 255 && !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v - 1), memory_order_relaxed, memory_order_relaxed))
        ;
}

static inline bool maybe_sampled(uintptr_t p)
{
    return !filter || atomic_load_explicit(&filter[filter_index(p)], memory_order_relaxed) != 0;
}

void drip__sampling_init(void)
{
    if (!drip__opt.sample)
        return;
    filter = drip__arena_alloc((size_t)1 << FILTER_BITS);
    if (!filter)
        drip__opt.sample = 0;   /* no memory for the filter: record everything */
}

/* ---- the two bookkeeping paths ---------------------------------------------------------------- */

__attribute__((noinline)) static void on_alloc_recorded(void *p, size_t size)
{
    struct drip__entry e = drip__enter_hook();
    drip__table_prefetch((uintptr_t)p, 0);   /* the map's cache misses overlap the walk */
    uintptr_t frames[DRIP_MAX_FRAMES];
    uint64_t hash;
    int n = drip__unwind(frames, (int)drip__opt.max_frames, &hash);
    drip__table_prefetch((uintptr_t)p, 1);
    uint32_t site = drip__depot_intern_hashed(frames, n, hash);
    if (drip__table_insert((uintptr_t)p, size, site)) {
        drip__count(site, (int64_t)size, 0);
        account((int64_t)size);
        if (filter)
            filter_add((uintptr_t)p);
        if (DRIP_UNLIKELY(drip__lsan_disabled))   /* __lsan_disable: the block is ignored (lsan.c) */
            drip__lsan_ignore((uintptr_t)p);
    }
    /* no thread of drip's: the growth samples are taken here, when one is due (background.c) */
    if (DRIP_UNLIKELY(atomic_load_explicit(&drip__ticks_inline, memory_order_relaxed)) && --drip__tick_countdown <= 0)
        drip__tick_inline();
    drip__leave_hook(e);
}

static inline void on_alloc(void *p, size_t size)
{
    if (DRIP_UNLIKELY(filter != NULL)) {
        if (DRIP_UNLIKELY(!rng_state)) {   /* a thread's first allocation: draw its first gap */
            int *e = drip__errno(), saved = *e;
            next_sample();
            *e = saved;
        }
        bytes_to_sample -= (int64_t)size;
        if (bytes_to_sample > 0)
            return;
        int *e = drip__errno(), saved = *e;
        do
            next_sample();
        while (bytes_to_sample <= 0);
        *e = saved;
    }
    on_alloc_recorded(p, size);
}

static void forget(const struct drip__rec *r)
{
    drip__count(r->site, (int64_t)r->size, 1);
    account(-(int64_t)r->size);
}

/* Removes p's record; returns true (and the record) when drip knew the block. */
static bool on_free(void *p, struct drip__rec *out)
{
    if (!maybe_sampled((uintptr_t)p))
        return false;
    struct drip__entry e = drip__enter_hook();
    bool known = drip__table_remove((uintptr_t)p, out);
    if (known) {
        forget(out);
        if (filter)
            filter_remove((uintptr_t)p);
        if (DRIP_UNLIKELY(atomic_load_explicit(&drip__lsan_nignored, memory_order_relaxed)))
            drip__lsan_forget((uintptr_t)p);   /* an ignored block's address may come back */
    }
    drip__leave_hook(e);
    return known;
}

static void restore(const struct drip__rec *r)
{
    struct drip__entry e = drip__enter_hook();
    if (drip__table_restore(r)) {
        if (filter)
            filter_add(r->addr);
        drip__count(r->site, -(int64_t)r->size, 1);   /* the free that on_free counted did not happen */
        account((int64_t)r->size);
    }
    drip__leave_hook(e);
}

/* ---- the loader working for drip (ownload.c) -----------------------------------------------
 * Under the guard, while drip__own_loading is set: what the loader allocates is kept as a root;
 * a block of the program's it frees leaves the table; one it moves keeps its record (its site,
 * its counts) at the new address. The guard is held and this thread holds no lock of the table's
 * (the window is a dlopen or a libunwind walk, before the hook inserts anything). */
static inline void *own(void *p, size_t n)
{
    if (DRIP_UNLIKELY(drip__own_loading) && p) {
        drip__own_chunk_add(p, n);
        if (filter)   /* sampling: so that its free looks past the filter's "certainly not" */
            filter_add((uintptr_t)p);
    }
    return p;
}

/* A free of a block drip did not record: one of the loader's chunks for drip, maybe. */
static inline bool own_forget(void *p)
{
    if (!maybe_sampled((uintptr_t)p) || !drip__own_chunk_maybe_forget(p))
        return false;
    if (filter)
        filter_remove((uintptr_t)p);
    return true;
}

static bool own_take(void *p, struct drip__rec *out)
{
    if (!atomic_load_explicit(&drip__g.tracking, memory_order_relaxed) || !maybe_sampled((uintptr_t)p) ||
        !drip__table_remove((uintptr_t)p, out))
        return false;
    forget(out);
    if (filter)
        filter_remove((uintptr_t)p);
    if (DRIP_UNLIKELY(atomic_load_explicit(&drip__lsan_nignored, memory_order_relaxed)))
        drip__lsan_forget((uintptr_t)p);
    return true;
}

/* The record back, at addr (moved: a new allocation of its site) or where it was (the move
 * failed: the free that own_take counted did not happen). */
static void own_give(const struct drip__rec *r, uintptr_t addr, size_t size)
{
    struct drip__rec moved = *r;
    moved.addr = addr;
    moved.size = size;
    if (drip__table_restore(&moved)) {
        if (filter)
            filter_add(addr);
        if (addr == r->addr)
            drip__count(r->site, -(int64_t)size, 1);
        else
            drip__count(r->site, (int64_t)size, 0);
        account((int64_t)size);
    }
}

static void own_free(void *p)
{
    struct drip__rec r;
    if (!own_forget(p))
        own_take(p, &r);
}

static void *own_resize(void *old, size_t n, void *(*call)(void *, size_t, size_t), size_t a, size_t b)
{
    struct drip__rec r;
    if (!old || own_forget(old)) {
        size_t had = old ? malloc_usable_size(old) : 0;
        void *p = call(old, a, b);
        if (!p && n)
            own(old, had);   /* failed: the old chunk stays */
        return own(p, n);
    }
    bool known = own_take(old, &r);
    void *p = call(old, a, b);
    if (known && p)
        own_give(&r, (uintptr_t)p, n);
    else if (known && n)
        own_give(&r, r.addr, r.size);
    return p;
}

/* ---- the entry points ------------------------------------------------------------------------- */
DRIP_EXPORT void *malloc(size_t n)
{
    if (resolving_now())
        return boot_alloc(n, 16);
    if (bypass())
        return own(real.malloc(n), n);
    void *p = real.malloc(n);
    if (p)
        on_alloc(p, n);
    return p;
}

/* drip's own malloc, by a name no other object can take: `malloc` itself resolves to whichever
 * definition comes first in the process, which is the program's own when it defines one. */
__typeof(malloc) drip__own_malloc __attribute__((alias("malloc")));

DRIP_EXPORT void free(void *p)
{
    if (!p || in_boot(p))
        return;
    if (DRIP_UNLIKELY(!real.pvalloc))
        resolve();
    if (!drip__guard && atomic_load_explicit(&drip__g.tracking, memory_order_relaxed)) {
        struct drip__rec r;
        if (!on_free(p, &r))
            own_forget(p);   /* one the loader made for drip, freed by the program */
    } else if (DRIP_UNLIKELY(drip__own_loading) && drip__guard)
        own_free(p);
    real.free(p);
}

DRIP_EXPORT void *calloc(size_t n, size_t size)
{
    if (resolving_now())
        return boot_alloc(n * size, 16);
    if (bypass())
        return own(real.calloc(n, size), n * size);
    void *p = real.calloc(n, size);
    if (p)
        on_alloc(p, n * size);
    return p;
}

/* realloc and reallocarray share this: `call` performs the real resize. */
static void *resize(void *old, size_t n, void *(*call)(void *, size_t, size_t), size_t a, size_t b)
{
    if (!old) {
        void *p = call(NULL, a, b);
        if (p)
            on_alloc(p, n);
        return p;
    }
    struct drip__rec r;
    bool known = on_free(old, &r);
    if (!known)
        own_forget(old);
    void *p = call(old, a, b);
    if (p)
        on_alloc(p, n);
    else if (known && n != 0)
        restore(&r);      /* failed: the old block is still the program's */
    /* n == 0 with a NULL result: glibc freed the old block (realloc(p, 0) frees) */
    return p;
}

static void *call_realloc(void *p, size_t n, size_t unused) { return real.realloc(p, n); }
static void *call_reallocarray(void *p, size_t n, size_t m) { return real.reallocarray(p, n, m); }

DRIP_EXPORT void *realloc(void *old, size_t n)
{
    if (DRIP_UNLIKELY(in_boot(old))) {
        size_t had = ((size_t *)old)[-1];
        void *p = malloc(n);
        if (p)
            memcpy(p, old, had < n ? had : n);
        return p;
    }
    if (resolving_now())
        return boot_alloc(n, 16);
    if (bypass())
        return DRIP_UNLIKELY(drip__own_loading) ? own_resize(old, n, call_realloc, n, 0) : real.realloc(old, n);
    return resize(old, n, call_realloc, n, 0);
}

DRIP_EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    if (bypass())
        return DRIP_UNLIKELY(drip__own_loading) ? own_resize(old, n * size, call_reallocarray, n, size)
                                                : real.reallocarray(old, n, size);
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return resize(old, total, call_reallocarray, n, size);
}

DRIP_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (bypass()) {
        int rc = real.posix_memalign(out, align, n);
        if (rc == 0)
            own(*out, n);
        return rc;
    }
    int rc = real.posix_memalign(out, align, n);
    if (rc == 0 && *out)
        on_alloc(*out, n);
    return rc;
}

DRIP_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (bypass())
        return own(real.aligned_alloc(align, n), n);
    void *p = real.aligned_alloc(align, n);
    if (p)
        on_alloc(p, n);
    return p;
}

DRIP_EXPORT void *memalign(size_t align, size_t n)
{
    if (resolving_now())
        return boot_alloc(n, align);
    if (bypass())
        return own(real.memalign(align, n), n);
    void *p = real.memalign(align, n);
    if (p)
        on_alloc(p, n);
    return p;
}

DRIP_EXPORT void *valloc(size_t n)
{
    if (bypass())
        return own(real.valloc(n), n);
    void *p = real.valloc(n);
    if (p)
        on_alloc(p, n);
    return p;
}

DRIP_EXPORT void *pvalloc(size_t n)
{
    if (bypass())
        return own(real.pvalloc(n), n);
    void *p = real.pvalloc(n);
    if (p)
        on_alloc(p, n);
    return p;
}

/* ---- glibc's second names: __libc_malloc and its kin -----------------------------------------
 * glibc exports its allocator under these names too (the same functions), and a program that
 * defines malloc itself often serves it from them: a counting or logging shim. Its malloc comes
 * first in symbol lookup, so drip's hooks above never run (foreign.c); these do, and valgrind
 * replaces them in libc too, so the shim's blocks get valgrind's figures. The first call from
 * outside drip in such a program shows that its allocator is glibc's after all: drip tracks from
 * then on, and foreign.c's one line is left for allocators that never reach glibc's. The calls go
 * to the hooks above by names no other object takes (`malloc` itself would resolve to the
 * program's): drip__own_malloc, and hidden aliases of the others. */
__typeof(free) hook_free __attribute__((alias("free"), visibility("hidden")));
__typeof(calloc) hook_calloc __attribute__((alias("calloc"), visibility("hidden")));
__typeof(realloc) hook_realloc __attribute__((alias("realloc"), visibility("hidden")));
__typeof(memalign) hook_memalign __attribute__((alias("memalign"), visibility("hidden")));
__typeof(valloc) hook_valloc __attribute__((alias("valloc"), visibility("hidden")));
__typeof(pvalloc) hook_pvalloc __attribute__((alias("pvalloc"), visibility("hidden")));

static inline void second_name(void)
{
    if (DRIP_UNLIKELY(drip__g.foreign) && !drip__guard && atomic_load(&drip__g.initialised))
        drip__foreign_adopt();
}

DRIP_EXPORT void *__libc_malloc(size_t n) { second_name(); return drip__own_malloc(n); }
DRIP_EXPORT void __libc_free(void *p) { second_name(); hook_free(p); }
DRIP_EXPORT void *__libc_calloc(size_t n, size_t size) { second_name(); return hook_calloc(n, size); }
DRIP_EXPORT void *__libc_realloc(void *p, size_t n) { second_name(); return hook_realloc(p, n); }
DRIP_EXPORT void *__libc_memalign(size_t align, size_t n) { second_name(); return hook_memalign(align, n); }
DRIP_EXPORT void *__libc_valloc(size_t n) { second_name(); return hook_valloc(n); }
DRIP_EXPORT void *__libc_pvalloc(size_t n) { second_name(); return hook_pvalloc(n); }

/* _exit skips atexit handlers and destructors, so the report is written here. exit() reaches
 * the kernel through libc's internal _exit, which does not come back through this symbol. */
DRIP_EXPORT void _exit(int status)
{
    DRIP_NOTE_EXIT();
    if (!real.exit_)
        resolve();
    drip__report_at_exit(status);
    real.exit_(status);
}

DRIP_EXPORT void _Exit(int status)
{
    DRIP_NOTE_EXIT();
    if (!real.Exit_)
        resolve();
    drip__report_at_exit(status);
    real.Exit_(status);
}

/* exit() runs the atexit handlers and destructors, then drip's report (a destructor): the point
 * where the program called it is noted here, the report comes later. */
DRIP_EXPORT void exit(int status)
{
    DRIP_NOTE_EXIT();
    if (!real.xexit)
        resolve();
    if (!real.xexit)   /* another thread is resolving right now */
        real.xexit = (__typeof__(real.xexit))dlsym(RTLD_NEXT, "exit");
    real.xexit(status);
}

/* Used by the runtime to leave with the report's exit status. */
void drip__real_exit(int status)
{
    if (!real.exit_)
        resolve();
    real.exit_(status);
}
