/* scan_index.h — the live blocks as the scan reads them: in place, from the frozen live map
 * (scan_index.c). */
#ifndef DRIP_PRELOAD_SCAN_INDEX_H
#define DRIP_PRELOAD_SCAN_INDEX_H

#include "scan.h"
#include "table.h"

/* One non-empty span of the map, with the number (in address order over the whole map) of its
 * first block: blocks are numbered 0..n-1 across the spans, and the scan's per-block arrays are
 * indexed by that number. */
struct drip__bspan {
    struct drip__tspan t;
    uint32_t first;
};

/* A block found: its record, and its number. */
struct drip__bref {
    uintptr_t addr;
    uint64_t size;
    uint32_t idx, site;
    uint32_t gen;
};

/* Blocks that reach past the next span's start: the only ones a word in a span with no block
 * at or below it (nor in the span before) can lie in. In address order. */
struct drip__bbig {
    uintptr_t addr, end;
    uint32_t idx, site, gen, pad;
};

struct drip__bindex {
    struct drip__bspan *s;   /* arena memory */
    size_t ns, s_cap;
    size_t n;                /* blocks */
    uintptr_t min, max;      /* the first block's address, one past the end of the last one */
    uint32_t **dir;          /* span number -> span index + 1 (two levels, arena memory) */
    uint32_t dir_used[16];   /* the top entries filled, when at most 16 (most heaps) */
    size_t dir_nused;
    struct drip__bbig *big;
    size_t nbig, big_cap;
    struct drip__rec *buf;   /* one span's records (drip__bindex_span), 256 of them */
    bool oom;
};

/* Indexes the frozen map (the caller holds drip__table_lock_all through drip__lock_world) and
 * keeps reading it in place until drip__bindex_free. false when out of memory. */
bool drip__bindex_build(struct drip__bindex *x);
void drip__bindex_free(struct drip__bindex *x);
/* The last block that starts at or below w (not checked against its end), or false. */
bool drip__bindex_find(const struct drip__bindex *x, uintptr_t w, struct drip__bref *out);
/* The records of span k, in address order, in x->buf (valid until the next call). */
const struct drip__rec *drip__bindex_span(struct drip__bindex *x, size_t k);

#endif
