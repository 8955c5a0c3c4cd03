/* table.h — table.c: the live map, address -> record (a radix map: constant cost, address
 * order). */
#ifndef DRIP_PRELOAD_TABLE_H
#define DRIP_PRELOAD_TABLE_H

#include "runtime.h"

struct drip__rec {
    uintptr_t addr;
    uint64_t size : 48;   /* 256 TiB: larger than any block */
    uint64_t gen : 16;    /* drip__generation when allocated: leak-check scopes (check.c) */
    uint32_t site;
    /* (No birth time: nothing read it, the growth detector estimates ages from its counters,
     * growth.c; leaving it out saves a clock read an allocation and 4 bytes a live block.) */
};
/* Bumped by each drip_check_begin; every record keeps the value it saw. */
extern _Atomic uint32_t drip__generation;
/* A block of an older generation than drip__fork_gen was inherited at fork: the parent reports
 * it. Compared as check.c compares scopes (16 bits, wrapping). */
static inline bool drip__inherited(uint32_t gen)
{
    if (!drip__fork_parent)
        return false;
    uint32_t now = atomic_load_explicit(&drip__generation, memory_order_relaxed);
    return (uint16_t)(gen - drip__fork_gen) > (uint16_t)(now - drip__fork_gen);
}
bool drip__table_insert(uintptr_t addr, size_t size, uint32_t site);
/* A hint: addr is about to be inserted (stage 0: its directory entry; 1: its leaf). */
void drip__table_prefetch(uintptr_t addr, int stage);
/* Calls fn on every live record in address order, with no lock held while fn runs (each 2 KiB
 * span's records are copied out under its lock). _chunked is the same (kept for its callers). */
void drip__table_foreach(void (*fn)(const struct drip__rec *, void *), void *arg);
void drip__table_foreach_chunked(void (*fn)(const struct drip__rec *, void *), void *arg);
bool drip__table_remove(uintptr_t addr, struct drip__rec *out);
bool drip__table_restore(const struct drip__rec *rec);
size_t drip__table_count(void);
/* Record capacity and leaves over the whole map (for unit_table; racy like the count). */
void drip__table_shape(size_t *capacity, size_t *leaves);
/* Copies every live record, in address order, into an arena array (caller frees with
 * drip__arena_free). Must be called between drip__table_lock_all and unlock_all. */
struct drip__rec *drip__table_snapshot(size_t *n, size_t *bytes);
/* Freezes the map: when it returns no thread is changing it, and threads that try wait until
 * unlock_all. The freezing thread reads it (foreach, snapshot, count) without locks. */
/* ---- the frozen map read in place (the exit scan, scan_index.c) ------------------------------
 * Only by the thread that froze the map (drip__table_lock_all), until it unfreezes it: nothing
 * else changes the map meanwhile. A span holds the records of 2 KiB of address space, numbered
 * 0..n-1 in address order; `h` is the map's own handle for it. */
struct drip__tspan {
    uintptr_t base;   /* the span's first address */
    const void *h;
    uint32_t n;
};
/* Calls fn on every non-empty span, in address order. */
void drip__table_spans(void (*fn)(const struct drip__tspan *, void *), void *arg);
/* The last record of span s at or below address a (a past the span: its last record) into *out;
 * returns its number in the span, or -1 when every record lies above a. */
int drip__table_span_find(const struct drip__tspan *s, uintptr_t a, struct drip__rec *out);
/* All s->n records of span s, in address order, into out. */
void drip__table_span_recs(const struct drip__tspan *s, struct drip__rec *out);
/* Replaces every live record's generation g with fn(g, arg). Only by the thread that froze the
 * map (drip__table_lock_all): check.c ages old generations so that 16 bits never wrap onto them. */
void drip__table_regen(uint16_t (*fn)(uint16_t gen, void *arg), void *arg);
void drip__table_lock_all(void);
void drip__table_unlock_all(void);
void drip__table_child_reset(void);
void drip__table_release(void);   /* the calling thread ends: its count cell goes to the next thread */

#endif
