/* lsan.h — lsan.c: LeakSanitizer's program interface (__lsan_ignore_object, __lsan_disable ...)
 * as far as the rest of libdrip.so sees it: the hooks tell it of allocations made while a thread
 * has leak checking disabled and of frees of ignored blocks; roots.c adds its roots. */
#ifndef DRIP_PRELOAD_LSAN_H
#define DRIP_PRELOAD_LSAN_H

#include "internal.h"

/* Nonzero while the calling thread is inside __lsan_disable/__lsan_enable (they nest). */
extern DRIP_TLS int drip__lsan_disabled;
/* How many blocks are ignored now: the free path looks only when there are some. */
extern atomic_size_t drip__lsan_nignored;

/* The block at p was allocated while leak checking was disabled in this thread (hooks.c, with
 * the guard held): it is ignored, as __lsan_ignore_object(p) would. */
void drip__lsan_ignore(uintptr_t p);
/* p is being freed: an ignored block is ignored no more (its address may come back). */
void drip__lsan_forget(uintptr_t p);
/* Calls add(lo, hi, arg) for each root range of the interface: the ignored blocks' addresses
 * (so each is reached by a start pointer, and what it points to through it) and the regions the
 * program registered. For roots.c, while the world is stopped. */
void drip__lsan_roots(int (*add)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);
/* Whether [lo, hi) lies inside a region the program registered (scan_mark.c): such a root is
 * read whole, tracked blocks inside it too (a pool in a heap block), as LSan reads it. */
bool drip__lsan_in_region(uintptr_t lo, uintptr_t hi);
/* roots.c: while a program thread runs a live check itself, its stack below sp (drip's frames
 * and older ones) is not a root; 0 when it is done. */
void drip__roots_live_caller(uintptr_t sp);

#endif
