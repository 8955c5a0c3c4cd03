/* ownload.h — libraries drip opens in the traced process, and what the loader allocates for them. */
#ifndef DRIP_OWNLOAD_H
#define DRIP_OWNLOAD_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nonzero while this thread runs the dynamic loader on drip's behalf (ownload.c). */
extern DRIP_TLS int drip__own_loading;
/* How many of the loader's chunks are kept: read without the lock on the free path. */
extern _Atomic int drip__own_nchunks;

/* dlopen(soname, RTLD_NOW | RTLD_LOCAL) for drip's own use; NULL when it cannot be opened. */
void *drip__own_dlopen(const char *soname);
/* Marks the start and end of a call into a library drip opened (its TLS and DTV may grow). */
static inline int drip__own_load_begin(void) { return drip__own_loading++; }
static inline void drip__own_load_end(int was) { drip__own_loading = was; }

/* The allocation hooks: a chunk the loader allocated, freed or moved inside drip's window. */
void drip__own_chunk_add(void *p, size_t size);
bool drip__own_chunk_forget(void *p);
static inline bool drip__own_chunk_maybe_forget(void *p)
{
    return DRIP_UNLIKELY(atomic_load_explicit(&drip__own_nchunks, memory_order_relaxed)) && drip__own_chunk_forget(p);
}

/* The scan's roots: each kept chunk, [lo, hi). */
void drip__own_chunks_roots(int (*add)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);
void drip__own_child_reset(void);

#endif
