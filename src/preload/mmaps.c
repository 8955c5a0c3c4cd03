/* mmaps.c — who mapped each anonymous mapping the program made itself, so that a retention root
 * in one reads "anonymous mapping 0x...-0x... (1 MiB) mapped at _PyObject_ArenaMmap (obmalloc.c:...)"
 * (issue #16). Python's obmalloc arenas, pool allocators and GC'd runtimes keep their objects'
 * pointers to malloc'd blocks in such mappings.
 *
 * What is seen: mmap/mmap64/munmap/mremap called through the PLT (interpose.c). glibc's own
 * mappings (malloc's heaps and big chunks, thread stacks, the loader's) use internal calls and
 * never come here, and nothing here is on malloc's path. Each MAP_ANONYMOUS mapping is recorded
 * with the depot id of the stack that made it; a munmap, a MAP_FIXED mapping over it or an
 * mremap trims, splits, moves or drops it as the kernel does. The call itself is the real one,
 * made first: the program sees its result and its errno unchanged.
 *
 * Cost: one stack capture per anonymous mmap (as one recorded malloc), then O(1): a table of
 * MAX_MAPS entries in drip's arena, hashed both by start and by end, so a munmap or mremap of a
 * whole mapping, of its head or of its tail finds it at once. Only a munmap of a middle part
 * (a split) or of a range spanning several mappings walks the table. Past MAX_MAPS live
 * mappings, new ones are not recorded (their roots are named by range only).
 *
 * Readers (the scan naming roots, with the world stopped or in the snapshot's copy) take no
 * lock: a thread stopped inside a change leaves at worst one entry half-made, which names a root
 * wrongly or not at all; every index read is bounded. They search a sorted copy, rebuilt when
 * the table's generation moved.
 * Lock: `lock`, a leaf spinlock: the stack is captured and interned before it, and under it
 * only the arena's lock is taken, once, to make the table. A forked child releases it (drip__mmaps_child_reset, from modules.c).
 */
#include "mmaps.h"
#include "arena.h"
#include "depot.h"
#include "lock.h"
#include "scan.h"
#include "unwind.h"
#include "modules.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { MAX_MAPS = 1 << 14, HASH_BITS = 15, PAGE = 4096, MAX_CHAIN = MAX_MAPS };

struct map {
    uintptr_t lo, hi;
    uintptr_t caller;            /* the return address of the mmap call */
    uint32_t site;
    uint32_t next_lo, next_hi;   /* hash chains (entry index; 0 ends); next_lo: the free list */
    uint32_t live;
};

static struct {
    drip__spinlock lock;
    struct map *m;                 /* m[1..used): 0 is "none" */
    uint32_t *by_lo, *by_hi;       /* chain heads */
    _Atomic uint32_t used;
    uint32_t free_head, n_live, dropped;
    uintptr_t span_lo, span_hi;    /* every live mapping lies inside */
    _Atomic unsigned gen;          /* bumped by each change */
} T = {.lock = DRIP_SPINLOCK_INIT};

/* ---- the real functions ------------------------------------------------------------------- */
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
static _Atomic(mmap_fn) real_mmap;
static _Atomic(munmap_fn) real_munmap;
static _Atomic(mremap_fn) real_mremap;
static atomic_int resolving;
static _Atomic uintptr_t next_malloc;   /* the malloc drip's forwards to: glibc's, jemalloc's... */

/* dlsym(RTLD_NEXT) once; while it runs (it may allocate, and drip's arena maps memory through
 * these same functions) callers get NULL and make the system call themselves. */
static void *resolve(void *_Atomic *slot, const char *name)
{
    void *f = atomic_load_explicit(slot, memory_order_acquire);
    if (f || atomic_exchange(&resolving, 1))
        return f;
    struct drip__entry e = drip__enter();
    f = dlsym(RTLD_NEXT, name);
    if (!atomic_load(&next_malloc))
        atomic_store(&next_malloc, (uintptr_t)dlsym(RTLD_NEXT, "malloc"));
    drip__leave(e);
    atomic_store_explicit(slot, f, memory_order_release);
    atomic_store(&resolving, 0);
    return f;
}

static void *call_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    mmap_fn f = resolve((void *_Atomic *)&real_mmap, "mmap");
    return f ? f(addr, len, prot, flags, fd, off) : (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int call_munmap(void *addr, size_t len)
{
    munmap_fn f = resolve((void *_Atomic *)&real_munmap, "munmap");
    return f ? f(addr, len) : (int)syscall(SYS_munmap, addr, len);
}

static void *call_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
    mremap_fn f = resolve((void *_Atomic *)&real_mremap, "mremap");
    return f ? f(old, old_len, new_len, flags, new_addr) : (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

/* ---- the table (under T.lock) -------------------------------------------------------------- */
static uint32_t slot(uintptr_t x) { return (uint32_t)(((x >> 12) * 0x9e3779b97f4a7c15ULL) >> (64 - HASH_BITS)); }

static bool table_ready(void)
{
    if (T.m)
        return true;
    struct map *m = drip__arena_alloc(MAX_MAPS * sizeof *m);
    uint32_t *h = drip__arena_alloc(2 * ((size_t)1 << HASH_BITS) * sizeof *h);
    if (!m || !h) {
        drip__arena_free(m, MAX_MAPS * sizeof *m);
        drip__arena_free(h, 2 * ((size_t)1 << HASH_BITS) * sizeof *h);
        return false;
    }
    T.by_lo = h;
    T.by_hi = h + ((size_t)1 << HASH_BITS);
    T.m = m;
    atomic_store(&T.used, 1);
    return true;
}

static void link_entry(uint32_t i)
{
    struct map *x = &T.m[i];
    x->next_lo = T.by_lo[slot(x->lo)];
    T.by_lo[slot(x->lo)] = i;
    x->next_hi = T.by_hi[slot(x->hi)];
    T.by_hi[slot(x->hi)] = i;
}

static void unlink_entry(uint32_t i)
{
    uint32_t *p = &T.by_lo[slot(T.m[i].lo)];
    for (int k = 0; *p && *p != i && k < MAX_CHAIN; k++)
        p = &T.m[*p].next_lo;
    if (*p == i)
        *p = T.m[i].next_lo;
    p = &T.by_hi[slot(T.m[i].hi)];
    for (int k = 0; *p && *p != i && k < MAX_CHAIN; k++)
        p = &T.m[*p].next_hi;
    if (*p == i)
        *p = T.m[i].next_hi;
}

/* The live entry starting (by_end false) or ending (true) exactly at x; 0: none. */
static uint32_t find_exact(uintptr_t x, bool by_end)
{
    uint32_t i = by_end ? T.by_hi[slot(x)] : T.by_lo[slot(x)];
    for (int k = 0; i && k < MAX_CHAIN; k++, i = by_end ? T.m[i].next_hi : T.m[i].next_lo)
        if (T.m[i].live && (by_end ? T.m[i].hi : T.m[i].lo) == x)
            return i;
    return 0;
}

static void set_range(uint32_t i, uintptr_t lo, uintptr_t hi)
{
    unlink_entry(i);
    T.m[i].lo = lo;
    T.m[i].hi = hi;
    link_entry(i);
}

static void drop(uint32_t i)
{
    unlink_entry(i);
    T.m[i].live = 0;
    T.m[i].next_lo = T.free_head;
    T.free_head = i;
    if (!--T.n_live)
        T.span_lo = T.span_hi = 0;
}

static void add(uintptr_t lo, uintptr_t hi, uint32_t site, uintptr_t caller)
{
    uint32_t i = T.free_head, used = atomic_load_explicit(&T.used, memory_order_relaxed);
    if (i)
        T.free_head = T.m[i].next_lo;
    else if (used < MAX_MAPS)
        i = used;
    else {
        T.dropped++;
        return;
    }
    T.m[i] = (struct map){lo, hi, caller, site, 0, 0, 1};
    link_entry(i);
    if (i == used)
        atomic_store_explicit(&T.used, used + 1, memory_order_release);
    if (!T.n_live++ || lo < T.span_lo)
        T.span_lo = lo;
    if (hi > T.span_hi)
        T.span_hi = hi;
}

/* [lo, hi) is no longer mapped as it was: drop, trim or split what overlaps it. */
static void forget(uintptr_t lo, uintptr_t hi)
{
    if (!T.n_live || hi <= T.span_lo || lo >= T.span_hi)
        return;
    uint32_t i = find_exact(lo, false);
    if (i && hi <= T.m[i].hi) {   /* the whole mapping, or its head */
        if (hi == T.m[i].hi)
            drop(i);
        else
            set_range(i, hi, T.m[i].hi);
        return;
    }
    i = find_exact(hi, true);
    if (i && T.m[i].lo < lo) {   /* its tail */
        set_range(i, T.m[i].lo, lo);
        return;
    }
    uint32_t used = atomic_load_explicit(&T.used, memory_order_relaxed);
    for (uint32_t j = 1; j < used; j++) {   /* a middle part, or several mappings */
        struct map *x = &T.m[j];
        if (!x->live || x->hi <= lo || x->lo >= hi)
            continue;
        if (lo <= x->lo && x->hi <= hi)
            drop(j);
        else if (lo <= x->lo)
            set_range(j, hi, x->hi);
        else if (x->hi <= hi)
            set_range(j, x->lo, lo);
        else {
            uintptr_t end = x->hi;
            set_range(j, x->lo, lo);
            add(hi, end, x->site, x->caller);
        }
    }
}

/* The live entry that holds a (0: none). */
static uint32_t entry_at(uintptr_t a)
{
    uint32_t i = find_exact(a, false);
    if (i)
        return i;
    uint32_t used = atomic_load_explicit(&T.used, memory_order_relaxed);
    for (uint32_t j = 1; j < used; j++)
        if (T.m[j].live && T.m[j].lo <= a && a < T.m[j].hi)
            return j;
    return 0;
}

static uintptr_t pages(size_t len) { return ((uintptr_t)len + PAGE - 1) & ~(uintptr_t)(PAGE - 1); }

/* Whether to look at a call: the program's own, while drip tracks. */
static bool watched(void)
{
    return !drip__guard && atomic_load_explicit(&drip__g.tracking, memory_order_relaxed) && !drip__g.foreign;
}

/* Whether to keep the range of a call at all: also before drip tracks (a malloc that is not
 * glibc's, jemalloc's, maps its first memory in its own constructor), never for drip's own. */
static bool kept(void) { return !drip__guard && !drip__g.foreign; }

static uint32_t capture(void)
{
    uintptr_t frames[DRIP_MAX_FRAMES];
    uint64_t hash;
    int n = drip__unwind(frames, (int)drip__opt.max_frames, &hash);
    return drip__depot_intern_hashed(frames, n, hash);
}

/* ---- the interposed calls ------------------------------------------------------------------- */
void *drip__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, uintptr_t caller)
{
    void *p = call_mmap(addr, len, prot, flags, fd, off);
    if (p == MAP_FAILED || !kept() || !(flags & (MAP_ANONYMOUS | MAP_FIXED)))
        return p;
    bool w = watched();
    struct drip__entry e = drip__enter();
    uint32_t site = (flags & MAP_ANONYMOUS) && w ? capture() : 0;
    drip__spin_lock(&T.lock);
    if (table_ready()) {
        uintptr_t lo = (uintptr_t)p, hi = lo + pages(len);
        if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
            forget(lo, hi);   /* it replaced what was there */
        if (flags & MAP_ANONYMOUS)
            add(lo, hi, site, caller);
        atomic_fetch_add_explicit(&T.gen, 1, memory_order_release);
    }
    drip__spin_unlock(&T.lock);
    drip__leave(e);
    return p;
}

int drip__munmap(void *addr, size_t len)
{
    int rc = call_munmap(addr, len);
    if (rc != 0 || !kept() || !T.m)
        return rc;
    struct drip__entry e = drip__enter();
    drip__spin_lock(&T.lock);
    forget((uintptr_t)addr, (uintptr_t)addr + pages(len));
    atomic_fetch_add_explicit(&T.gen, 1, memory_order_release);
    drip__spin_unlock(&T.lock);
    drip__leave(e);
    return rc;
}

void *drip__mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
    void *p = call_mremap(old, old_len, new_len, flags, new_addr);
    if (p == MAP_FAILED || !kept() || !T.m)
        return p;
    struct drip__entry e = drip__enter();
    drip__spin_lock(&T.lock);
    uintptr_t o = (uintptr_t)old, n = (uintptr_t)p;
    uint32_t i = entry_at(o);
    if (i) {
        uint32_t site = T.m[i].site;
        uintptr_t caller = T.m[i].caller;
        /* old_len 0 (a second mapping of a shared one), MREMAP_DONTUNMAP: the old stays */
        if (old_len && !(flags & 4 /* MREMAP_DONTUNMAP */))
            forget(o, o + pages(old_len));
        forget(n, n + pages(new_len));
        add(n, n + pages(new_len), site, caller);
        atomic_fetch_add_explicit(&T.gen, 1, memory_order_release);
    }
    drip__spin_unlock(&T.lock);
    drip__leave(e);
    return p;
}

/* ---- naming roots (no lock) ----------------------------------------------------------------- */
struct snap_entry { uintptr_t lo, hi, site; };   /* lo first: drip__sort_by_address's key */
static struct snap_entry *snap;
static size_t nsnap, snap_bytes;
static unsigned snap_gen = ~0u;

static bool rebuild(void)
{
    unsigned gen = atomic_load_explicit(&T.gen, memory_order_acquire);
    if (snap && gen == snap_gen)
        return true;
    const struct map *m = T.m;
    uint32_t used = m ? atomic_load_explicit(&T.used, memory_order_acquire) : 0;
    drip__arena_free(snap, snap_bytes);
    snap_bytes = (used ? used : 1) * sizeof *snap;
    snap = drip__arena_alloc(snap_bytes);
    nsnap = 0;
    if (!snap)
        return false;
    for (uint32_t j = 1; j < used && j < MAX_MAPS; j++)
        if (m[j].live && m[j].lo < m[j].hi)
            snap[nsnap++] = (struct snap_entry){m[j].lo, m[j].hi, m[j].site};
    drip__sort_by_address(snap, nsnap, sizeof *snap);
    snap_gen = gen;
    return true;
}

bool drip__mmaps_find(uintptr_t a, uintptr_t *lo, uintptr_t *hi, uint32_t *site)
{
    if (!T.m || !rebuild())
        return false;
    size_t x = 0, y = nsnap;   /* the last entry starting at or below a */
    while (x < y) {
        size_t mid = (x + y) / 2;
        if (snap[mid].lo <= a)
            x = mid + 1;
        else
            y = mid;
    }
    if (!x || a >= snap[x - 1].hi || !snap[x - 1].site)
        return false;   /* site 0: mapped while drip did not track, or by the allocator */
    *lo = snap[x - 1].lo;
    *hi = snap[x - 1].hi;
    *site = (uint32_t)snap[x - 1].site;
    return true;
}

/* ---- the allocator's own memory (no lock) -----------------------------------------------------
 * A malloc that is not glibc's (jemalloc, as Debian's redis-server uses; tcmalloc, mimalloc)
 * maps its arenas and its metadata through mmap, which comes here. That memory is malloc's own,
 * as glibc's heaps are (roots.c): its free regions, its thread caches (jemalloc's tcache keeps
 * in its slots the addresses of the blocks it handed out) and its extent metadata hold the
 * addresses of live blocks, which are not the program's pointers. valgrind, which replaces that
 * malloc, never sees them. So the mappings made from the code of the module that defines the
 * next malloc are not roots. glibc's malloc maps through internal calls that never come here;
 * when the next malloc is glibc's, nothing is excluded. */
bool drip__mmaps_exclude_allocator(struct drip__roots *r)
{
    uintptr_t nm = atomic_load(&next_malloc), mlo, mhi, llo, lhi;
    mmap_fn mm = atomic_load(&real_mmap);
    if (!T.m || !nm || !mm || drip__module_fp_range(nm, &mlo, &mhi) < 0 || mlo >= mhi)
        return true;
    if (drip__module_fp_range((uintptr_t)mm, &llo, &lhi) >= 0 && llo == mlo)
        return true;   /* glibc's malloc */
    uint32_t used = atomic_load_explicit(&T.used, memory_order_acquire);
    for (uint32_t j = 1; j < used && j < MAX_MAPS; j++) {
        const struct map *x = &T.m[j];
        if (x->live && x->lo < x->hi && x->caller >= mlo && x->caller < mhi && !drip__roots_exclude(r, x->lo, x->hi))
            return false;
    }
    return true;
}

void drip__mmaps_child_reset(void) { drip__spin_unlock(&T.lock); }
