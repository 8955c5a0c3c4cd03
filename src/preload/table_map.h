/* table_map.h — the live map's layout, shared by its three files and by nothing else in drip:
 * table.c (the radix directory, its locks, insert and remove), table_walk.c (walks in address
 * order: foreach, snapshot, shape) and leaves.c (the record arrays, by capacity class).
 * The rest of drip sees the map through table.h's drip__table_* functions only.
 */
#ifndef DRIP_PRELOAD_TABLE_MAP_H
#define DRIP_PRELOAD_TABLE_MAP_H

#include "internal.h"
#include "arena.h"
#include "lock.h"
#include "table.h"

/* 2 KiB spans of 256 8-byte slots; 13 leaf capacities (leaves.c). */
enum { SPAN_SHIFT = 11, SLOT_SHIFT = 3, SLOTS = 1 << (SPAN_SHIFT - SLOT_SHIFT), NCLASS = 13 };

/* An entry's word: bit 0 is its lock; ONE marks a span whose single record is inline, at slot
 * w >> 8; any other non-zero word is the address of the span's leaf. */
#define LOCKED ((uintptr_t)1)
#define ONE ((uintptr_t)2)

/* A popcount of a slot word: the instruction where the CPU has it (every x86-64 CPU since about
 * 2008; table.c asks once, at load time), the portable sum of bits elsewhere. */
extern bool drip__have_popcnt;
static inline unsigned drip__pop64(uint64_t x)
{
#if defined(__x86_64__)
    if (DRIP_LIKELY(drip__have_popcnt)) {
        uint64_t r;
        __asm__("popcnt %1, %0" : "=r"(r) : "rm"(x) : "cc");
        return (unsigned)r;
    }
#endif
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

/* A record without its address: 12 bytes, 4-aligned (the size's 48 bits in two fields). */
struct item {
    uint32_t size_lo;
    uint16_t size_hi;
    uint16_t gen;
    uint32_t site;
};
_Static_assert(sizeof(struct item) == 12, "item");

/* A span's directory entry: one cache line holding the lock, the leaf's address and the leaf's
 * index (which slots hold a record, and how many records precede each 64-slot word), so that
 * finding a record touches this line and the record's own, nothing else. A span with one block
 * keeps its record inline (`one`) and has no leaf. Everything but `w` is guarded by w's lock. */
struct entry {
    _Atomic uintptr_t w;
    uint64_t bits[SLOTS / 64];   /* with a leaf: slot i of the span starts a live block */
    uint8_t cum[SLOTS / 64];     /* records in the words before word i */
    uint16_t n;                  /* records in the leaf */
    uint8_t cls;                 /* the leaf's capacity class */
    uint8_t off;                 /* the records are l[off, off + n) of the leaf l */
    struct item one;             /* the inline record (word ONE) */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct entry) == 64, "entry");

static inline unsigned one_slot(uintptr_t w) { return (unsigned)(w >> 8) & (SLOTS - 1); }

/* The span's records, in address order, for an entry whose word w (lock bit clear) is a leaf:
 * they start `off` records into the leaf. Every reader of a leaf goes through this. */
static inline struct item *leaf_items(const struct entry *e, uintptr_t w) { return (struct item *)w + e->off; }

static inline void to_rec(struct drip__rec *r, const struct item *it, uintptr_t addr)
{
    r->addr = addr;
    r->size = (uint64_t)it->size_hi << 32 | it->size_lo;
    r->gen = it->gen;
    r->site = it->site;
}

/* ---- leaves.c: a leaf is an array of records, in address order ------------------------------ */
extern const uint16_t drip__leaf_cap[NCLASS];
struct item *drip__leaf_alloc(unsigned cls);               /* NULL when out of memory */
void drip__leaf_free(struct item *l, unsigned cls);
/* A copy of the n records l[off, off + n) at the start of a leaf of class `to`; l is freed.
 * NULL (l kept) when out of memory. */
struct item *drip__leaf_move(struct item *l, unsigned off, unsigned n, unsigned from, unsigned to);
unsigned drip__leaf_class(unsigned n);                     /* the smallest class holding n */
void drip__leaves_child_reset(void);

/* ---- table.c ---------------------------------------------------------------------------------
 * For every non-empty span in address order: `at` runs with the span's entry locked (unless the
 * calling thread froze the map: then nothing changes it), given the span's base address and its
 * entry's word without the lock bit; `after`, if any, runs once the entry is unlocked. */
void drip__map_walk(void (*at)(uintptr_t base, const struct entry *, uintptr_t w, void *), void (*after)(void *),
                    void *arg);

#endif
