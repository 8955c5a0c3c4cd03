/* lsan.c — LeakSanitizer's program interface (sanitizer/lsan_interface.h), so that a program
 * written for LSan keeps its habits under drip without a recompile. Such programs declare the
 * functions weak (or call them through dlsym) when they may run without LSan; libdrip.so then
 * supplies them:
 *   __lsan_ignore_object(p)         p's block is not a leak, nor what it alone keeps alive: its
 *                                   address becomes a root, so the block and what it points to
 *                                   are reachable (LSan does not list them; drip counts them
 *                                   reachable);
 *   __lsan_disable / __lsan_enable  the same for every block this thread allocates in between
 *                                   (they nest; per thread, as LSan's);
 *   __lsan_register_root_region / __lsan_unregister_root_region
 *                                   a range of memory read as a root, as a global is;
 *   __lsan_do_leak_check            the exit report, now, once: the report at exit is then not
 *                                   written (and error_exitcode ends the process if it leaked);
 *   __lsan_do_recoverable_leak_check a live leak check, its text report on the report's
 *                                   destination; 1 when definite or indirect leaks were found.
 * The ignored addresses live in an open-addressing set in memory mapped here (not drip's arena,
 * which the scan never reads), read whole as a root range (roots.c); the free path drops an
 * address (hooks.c), so a block that comes back at the same address is not ignored.
 * Lock: `mu`, a leaf spinlock over the set and the regions (taken inside the allocation hooks,
 * with the guard held; nothing is taken under it). Fork: prepare takes it, both sides release.
 */
#include "lsan.h"
#include "lock.h"
#include "helper.h"
#include "report.h"
#include "runtime.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

DRIP_TLS int drip__lsan_disabled;
atomic_size_t drip__lsan_nignored;

static drip__spinlock mu = DRIP_SPINLOCK_INIT;
static uintptr_t *set;    /* 0: empty, TOMB: an address that was removed */
static size_t cap, used;  /* used: live entries and tombstones */
static atomic_int atfork_done;

enum { TOMB = 1, MAX_REGIONS = 64 };
static struct { uintptr_t lo, hi; } regions[MAX_REGIONS];
static int nregions;

static void fork_prepare(void) { drip__spin_lock(&mu); }
static void fork_release(void) { drip__spin_unlock(&mu); }

static void need_atfork(void)
{
    if (!atomic_exchange(&atfork_done, 1))
        pthread_atfork(fork_prepare, fork_release, fork_release);
}

static size_t slot_of(uintptr_t p, size_t c) { return (size_t)(((p >> 4) * 0x9e3779b97f4a7c15ULL) >> 20) & (c - 1); }

/* A bit per hash of every address ever ignored (never cleared): a free whose bit is clear is of
 * no ignored block, and takes no lock. A program that ignores one singleton and then frees
 * millions of blocks from many threads would otherwise serialise every free on `mu`. */
enum { FILTER_BITS = 4096 };
static _Atomic uint64_t filter[FILTER_BITS / 64];

static bool maybe_ignored(uintptr_t p)
{
    size_t h = slot_of(p, FILTER_BITS);
    return atomic_load_explicit(&filter[h / 64], memory_order_relaxed) & ((uint64_t)1 << (h % 64));
}

/* Rehashes into a table of c slots. Under mu. false: no memory (the set stays as it was). */
static bool rehash(size_t c)
{
    uintptr_t *t = mmap(NULL, c * sizeof *t, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return false;
    size_t live = 0;
    for (size_t i = 0; i < cap; i++)
        if (set[i] > TOMB) {
            size_t j = slot_of(set[i], c);
            while (t[j])
                j = (j + 1) & (c - 1);
            t[j] = set[i];
            live++;
        }
    uintptr_t *old = set;
    size_t old_cap = cap;
    set = t;
    cap = c;
    used = live;
    if (old)
        munmap(old, old_cap * sizeof *old);
    return true;
}

void drip__lsan_ignore(uintptr_t p)
{
    if (p <= TOMB)
        return;
    need_atfork();
    drip__spin_lock(&mu);
    if ((used + 1) * 4 > cap * 3) {   /* full of entries or of tombstones: grow, or only purge */
        size_t c = cap ? cap : 512;
        while ((atomic_load(&drip__lsan_nignored) + 1) * 2 > c)
            c *= 2;
        if (!rehash(c)) {
            drip__spin_unlock(&mu);
            return;
        }
    }
    size_t j = slot_of(p, cap), tomb = SIZE_MAX;
    for (; set[j]; j = (j + 1) & (cap - 1)) {
        if (set[j] == p)
            goto out;   /* already ignored */
        if (set[j] == TOMB && tomb == SIZE_MAX)
            tomb = j;
    }
    if (tomb != SIZE_MAX)
        j = tomb;
    else
        used++;
    size_t h = slot_of(p, FILTER_BITS);
    atomic_fetch_or(&filter[h / 64], (uint64_t)1 << (h % 64));
    set[j] = p;
    atomic_fetch_add(&drip__lsan_nignored, 1);
out:
    drip__spin_unlock(&mu);
}

void drip__lsan_forget(uintptr_t p)
{
    if (!maybe_ignored(p))
        return;
    drip__spin_lock(&mu);
    if (cap)
        for (size_t j = slot_of(p, cap); set[j]; j = (j + 1) & (cap - 1))
            if (set[j] == p) {
                set[j] = TOMB;
                atomic_fetch_sub(&drip__lsan_nignored, 1);
                break;
            }
    drip__spin_unlock(&mu);
}

void drip__lsan_roots(int (*add)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
    /* the world is stopped: a thread stopped inside the lock leaves at worst one slot half-set */
    if (set && atomic_load(&drip__lsan_nignored))
        add((uintptr_t)set, (uintptr_t)(set + cap), arg);
    for (int i = 0; i < nregions && i < MAX_REGIONS; i++)
        add(regions[i].lo, regions[i].hi, arg);
}

bool drip__lsan_in_region(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < nregions && i < MAX_REGIONS; i++)
        if ((regions[i].lo & ~(uintptr_t)7) <= lo && hi <= regions[i].hi)
            return true;
    return false;
}

/* ---- the interface ----------------------------------------------------------------------- */

DRIP_EXPORT void __lsan_ignore_object(const void *p)
{
    struct drip__entry e = drip__enter();
    drip__lsan_ignore((uintptr_t)p);
    drip__leave(e);
}

DRIP_EXPORT void __lsan_disable(void) { drip__lsan_disabled++; }

DRIP_EXPORT void __lsan_enable(void)
{
    if (drip__lsan_disabled > 0)   /* LSan dies on an unmatched enable; drip leaves it be */
        drip__lsan_disabled--;
}

DRIP_EXPORT void __lsan_register_root_region(const void *p, size_t size)
{
    struct drip__entry e = drip__enter();
    need_atfork();
    drip__spin_lock(&mu);
    if (nregions < MAX_REGIONS && size) {
        regions[nregions].lo = (uintptr_t)p;
        regions[nregions].hi = (uintptr_t)p + size;
        nregions++;
    }
    drip__spin_unlock(&mu);
    drip__leave(e);
}

DRIP_EXPORT void __lsan_unregister_root_region(const void *p, size_t size)
{
    drip__spin_lock(&mu);
    for (int i = 0; i < nregions; i++)
        if (regions[i].lo == (uintptr_t)p && regions[i].hi == (uintptr_t)p + size) {
            regions[i] = regions[--nregions];
            break;
        }
    drip__spin_unlock(&mu);
}

DRIP_EXPORT void __lsan_do_leak_check(void)
{
    if (!atomic_load(&drip__g.initialised) || atomic_load(&drip__g.reported))
        return;   /* later calls do nothing, as LSan's */
    drip__report_at_exit(0);
}

/* The caller's callee-saved registers go to a frame that the scan reads (it starts below it). */
__attribute__((noinline)) static int recoverable_check(void)
{
    volatile uintptr_t regs[6] = {0};
    DRIP_SPILL_CALLEE_SAVED(regs);
    drip__roots_live_caller((uintptr_t)regs);
    int is_log, fd = drip__report_fd(&is_log);
    int leaked = drip__leak_report(fd >= 0 ? fd : 2, -1, 0);
    drip__roots_live_caller(0);
    __asm__ volatile("" : : "r"(regs) : "memory");
    return leaked;
}

DRIP_EXPORT int __lsan_do_recoverable_leak_check(void)
{
    if (!atomic_load(&drip__g.initialised) || atomic_load(&drip__g.reported) || drip__opt.sample)
        return 0;
    struct drip__entry e = drip__enter();
    int leaked = recoverable_check();
    drip__leave(e);
    return leaked;
}
