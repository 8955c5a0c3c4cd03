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
 *   drip's thread, HTTP ..... server.c, http.c, listen.c
 *
 * Naming: drip__ for anything shared across these files; static for the rest. Nothing is
 * exported but what DRIP_EXPORT marks: the library is built with -fvisibility=hidden, and the
 * interposed libc symbols (interpose.c lists them all) and the drip_api_* entry points of
 * include/drip/drip.h are the only symbols it marks.
 */
#ifndef DRIP_PRELOAD_INTERNAL_H
#define DRIP_PRELOAD_INTERNAL_H

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

/* ---- reentrancy guard (runtime.c) ----------------------------------------------------------
 * Set while a thread runs drip code that may allocate. A hook that finds it set forwards to the
 * real allocator without recording anything. Initial-exec TLS: reading it never allocates. */
extern DRIP_TLS int drip__guard;

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
