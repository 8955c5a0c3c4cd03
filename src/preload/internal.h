/* internal.h — what every file of libdrip.so (the preload library) shares: the export and TLS
 * macros, the reentrancy guard, the tracker's global state and options, and the clock.
 *
 * Each module declares its own interface in its own header (arena.h, depot.h, table.h, ...);
 * docs/internals.md and the list below say which file holds what.
 *   allocation hooks ........ hooks.c (hooks.h)        interposed symbols ... interpose.c
 *   start, fork, exit ....... runtime.c (runtime.h)    lock order ........... lock.h
 *   drip's own memory ....... arena.c (arena.h)        stacks + site counts . depot.c, counters.c
 *   the live map ............ table.c (table.h)        stack walks .......... unwind.c, cfi.c
 *   modules, .eh_frame ...... modules.c, cfi.c         threads, stop-world .. threads.c, stop.c
 *   leak scan ............... scan.c, roots.c (scan.h) reports .............. report.c, export.c
 *   drip's threads ........ background.c (ticker), server.c (HTTP loop), endpoints.c
 *
 * Naming: drip__ for anything shared across these files; static for the rest. Nothing is
 * exported but what DRIP_EXPORT marks: the library is built with -fvisibility=hidden, and the
 * interposed libc symbols (interpose.c lists them all) and the drip_api_* entry points of
 * include/drip/drip.h are the only symbols it marks.
 */
#ifndef DRIP_PRELOAD_INTERNAL_H
#define DRIP_PRELOAD_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"   /* src/common/options.h: the options table */

#define DRIP_EXPORT __attribute__((visibility("default")))
#define DRIP_TLS __thread __attribute__((tls_model("initial-exec")))
#define DRIP_LIKELY(x) __builtin_expect(!!(x), 1)
#define DRIP_UNLIKELY(x) __builtin_expect(!!(x), 0)

enum { DRIP_MAX_FRAMES = 64 };

/* ---- assertions of the debug build (cmake -DDRIP_DEBUG=ON) ----------------------------------
 * Checked in the debug build only: a failure writes file, line and condition to stderr and
 * aborts. The release build compiles them out (the condition is not evaluated). */
#ifdef DRIP_DEBUG
#define DRIP_ASSERT(x) (DRIP_LIKELY(x) ? (void)0 : drip__assert_fail(#x, __FILE__, __LINE__))
#else
#define DRIP_ASSERT(x) ((void)0)
#endif
void drip__assert_fail(const char *what, const char *file, int line) __attribute__((noreturn, cold));

/* ---- reentrancy guard (runtime.c) ----------------------------------------------------------
 * Set while a thread runs drip code that may allocate. A hook that finds it set forwards to the
 * real allocator without recording anything. Initial-exec TLS: reading it never allocates.
 * Raised and lowered only through drip__enter and drip__leave below. */
extern DRIP_TLS int drip__guard;
enum { DRIP_GUARD_MAX = 64 };   /* deeper nesting is a leave missing somewhere (debug build) */

/* errno's address, asked of libc once per thread: `errno` is a call to __errno_location through
 * the PLT, and every recorded allocation and free saves and restores it. */
extern DRIP_TLS int *drip__errno_at;
static inline int *drip__errno(void)
{
    if (DRIP_UNLIKELY(!drip__errno_at))
        drip__errno_at = &errno;
    return drip__errno_at;
}

/* Entering and leaving drip's own code from the program's (a hook, an interposer, an API call,
 * drip's threads), as jemalloc's pre_reentrancy/post_reentrancy: drip__enter raises the guard and
 * saves errno, drip__leave lowers the guard and gives errno back, so the program never sees what
 * drip's own calls did to it. They nest. Inlined, they cost what the hand-written pair cost:
 * one TLS add each, and errno's address kept in a register in between.
 *     struct drip__entry e = drip__enter();
 *     ... drip's work: its own allocations go to libc untracked ...
 *     drip__leave(e);                                                                          */
struct drip__entry {
    int *errno_at;
    int saved_errno;
};

static inline __attribute__((always_inline)) struct drip__entry drip__enter(void)
{
    int *e = drip__errno(), saved = *e;
    DRIP_ASSERT(drip__guard >= 0 && drip__guard < DRIP_GUARD_MAX);
    drip__guard++;
    return (struct drip__entry){e, saved};
}

static inline __attribute__((always_inline)) void drip__leave(struct drip__entry x)
{
    DRIP_ASSERT(drip__guard > 0);
    drip__guard--;
    *x.errno_at = x.saved_errno;
}

/* The same pair for the allocation hooks' bookkeeping (hooks.c), which is entered only with the
 * guard down (bypass() checked it): the guard is set to 1 and back to 0. Stores of constants let
 * the compiler keep errno in a register across the calls: one instruction less per malloc and
 * per free than the add (callgrind on bench/alloc_bench). The debug build checks the level. */
static inline __attribute__((always_inline)) struct drip__entry drip__enter_hook(void)
{
    int *e = drip__errno(), saved = *e;
    DRIP_ASSERT(drip__guard == 0);
    drip__guard = 1;
    return (struct drip__entry){e, saved};
}

static inline __attribute__((always_inline)) void drip__leave_hook(struct drip__entry x)
{
    DRIP_ASSERT(drip__guard == 1);
    drip__guard = 0;
    *x.errno_at = x.saved_errno;
}

/* Global state of the tracker. `tracking` is read on every hook without a lock. */
struct drip__state {
    atomic_int tracking;        /* 1 between init and the exit report */
    atomic_int initialised;
    atomic_int reported;        /* the exit report has started (once per process) */
    int pid;
    int foreign;                /* the program brings its own malloc: drip tracks nothing */
    uintptr_t self_lo, self_hi; /* address range of libdrip.so itself (frames to hide) */
};
extern struct drip__state drip__g;
extern struct drip_options drip__opt;   /* parsed from DRIP_OPTIONS at start (runtime.c) */

void drip__init(void);   /* runtime.c: once, from the constructor or the first hook */
/* table.c: milliseconds since boot (CLOCK_MONOTONIC_COARSE), unsigned: an int went negative after
 * 24.8 days of uptime. Records keep its low 32 bits. */
uint64_t drip__now_ms(void);

#endif
