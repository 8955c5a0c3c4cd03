/* unwind_lu.c — libunwind, the last-resort walker, loaded with dlopen on its first need.
 *
 * unwind=auto walks frame pointers and .eh_frame itself (unwind.c, cfi.c); libunwind is only
 * needed for what those do not model (a function without an FDE, a thread whose stack bounds drip
 * does not know) or when unwind=libunwind asks for it. Linked into libdrip.so, libunwind.so.8 and
 * its liblzma.so.5 were mapped, relocated and initialised in every traced process: about 0.15 ms
 * of each exec for a library that an ordinary program never calls. So it is opened here, the
 * first time a walk needs it, with RTLD_LOCAL (the program's own symbol lookup never sees it).
 *
 * That first time is inside an allocation hook, which is where dlopen needs care:
 *  - dlopen allocates: the caller holds drip's reentrancy guard, so those allocations go to libc
 *    untracked, and the loader links them into the program's own lists: ownload.c keeps them
 *    as roots of the scan (so do the walks, whose first use of libunwind's TLS in a thread
 *    allocates);
 *  - the dynamic loader must be between two changes of the module list: a dlopen from inside a
 *    malloc that the loader itself made while mapping a library (the program's own dlopen, with
 *    _r_debug.r_state RT_ADD or RT_DELETE) would corrupt its lists (glibc asserts). Then the load
 *    is put off to the next walk that needs it and this walk returns no frames, as the .eh_frame
 *    walker does when it cannot walk (unwind=cfi);
 *  - the library's file is opened while the free descriptors below 64 are held, as libunwind's
 *    own first use opens a pipe (its memory validation) on the lowest free descriptors: both land
 *    at 64 or above, never where the program expects its next open() (issue #12).
 * A library that cannot be loaded (not installed) is tried once; its walks return no frames.
 * Lock: `load_mu` (a leaf: taken by one walk at a time, only until the load is done).
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "internal.h"
#include "unwind_lu.h"
#include "ownload.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#ifndef DRIP_LIBUNWIND_SONAME
#define DRIP_LIBUNWIND_SONAME "libunwind.so.8"
#endif
/* the names the header's macros give (UNW_OBJ: _ULx86_64_... on x86_64) */
#define LU_STR2(x) #x
#define LU_STR(x) LU_STR2(x)

enum { LU_UNTRIED, LU_READY, LU_MISSING };
static _Atomic int state = LU_UNTRIED;
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static int (*lu_backtrace)(void **, int);

/* Fills the free descriptors below 64 with /dev/null, runs fn, gives them back. */
static void above_low_fds(void (*fn)(void))
{
    enum { LOW = 64 };
    int held[LOW], n = 0;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && fd < LOW && n < LOW) {
        held[n++] = fd;
        fd = fcntl(held[0], F_DUPFD_CLOEXEC, 0);
    }
    if (fd >= LOW)
        close(fd);
    fn();
    while (n > 0)
        close(held[--n]);
}

/* Opens the library and sets its per-thread cache (the call that opens its pipe). */
static void load(void)
{
    void *h = drip__own_dlopen(DRIP_LIBUNWIND_SONAME);   /* ownload.c: the loader's chunks are roots */
    int (*bt)(void **, int) = h ? (int (*)(void **, int))dlsym(h, "unw_backtrace") : NULL;
    int (*policy)(unw_addr_space_t, unw_caching_policy_t) =
        h ? (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, LU_STR(unw_set_caching_policy)) : NULL;
    unw_addr_space_t *local = h ? (unw_addr_space_t *)dlsym(h, LU_STR(unw_local_addr_space)) : NULL;
    if (!bt || !policy || !local) {
        atomic_store_explicit(&state, LU_MISSING, memory_order_release);
        return;
    }
    policy(*local, UNW_CACHE_PER_THREAD);
    lu_backtrace = bt;
    atomic_store_explicit(&state, LU_READY, memory_order_release);
}

/* Whether the loader is between two changes of its module list (glibc's debugger interface:
 * RT_ADD while a dlopen maps, RT_DELETE while a dlclose unmaps). */
static bool loader_consistent(void)
{
    return atomic_load_explicit((_Atomic int *)&_r_debug.r_state, memory_order_acquire) == RT_CONSISTENT;
}

int drip__lu_backtrace(void **buf, int n)
{
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (DRIP_UNLIKELY(s != LU_READY)) {
        if (s == LU_MISSING || !loader_consistent())
            return -1;
        pthread_mutex_lock(&load_mu);
        if (atomic_load_explicit(&state, memory_order_relaxed) == LU_UNTRIED && loader_consistent())
            above_low_fds(load);
        pthread_mutex_unlock(&load_mu);
        if (atomic_load_explicit(&state, memory_order_acquire) != LU_READY)
            return -1;
    }
    /* libunwind's TLS: its first use in a thread allocates the block and may grow the DTV */
    int was = drip__own_load_begin();
    int got = lu_backtrace(buf, n);
    drip__own_load_end(was);
    return got;
}

void drip__lu_child_reset(void) { pthread_mutex_init(&load_mu, NULL); }
