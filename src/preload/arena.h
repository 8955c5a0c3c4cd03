/* arena.h — arena.c: drip's own memory, never libc's allocator. */
#ifndef DRIP_PRELOAD_ARENA_H
#define DRIP_PRELOAD_ARENA_H

#include "internal.h"

void *drip__arena_alloc(size_t size);          /* zeroed, 16-byte aligned; NULL when out of memory */
void drip__arena_free(void *p, size_t size);   /* size must be the size passed to alloc */
/* Grows the arena array *pp (capacity *cap elements of elem bytes, first n in use) to hold at
 * least need elements: doubling from `first`, contents moved. false (array kept) when out of
 * memory. The one growable-array step of the scan, the roots and the retention summary. */
bool drip__arena_grow(void *pp, size_t *cap, size_t n, size_t need, size_t elem, size_t first);
/* The exit report has begun: large frees are dropped, not given back (up to 8 MiB; arena.c). */
void drip__arena_exiting(void);
/* The program set its RLIMIT_AS to limit: the reserved range shrinks to fit under it. */
void drip__arena_fit(uint64_t limit);
void drip__arena_lock_all(void);
void drip__arena_unlock_all(void);
void drip__arena_child_reset(void);
size_t drip__arena_mapped(void);
bool drip__arena_contains(uintptr_t p);
void drip__arena_range(uintptr_t *lo, uintptr_t *hi);

/* 1 once a request could not be met (address space limit): what drip recorded is incomplete */
bool drip__arena_failed(void);

#endif
