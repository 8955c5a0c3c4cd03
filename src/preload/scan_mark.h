/* scan_mark.h — the scan's marking (scan_mark.c): what the roots reach, what that reaches, and
 * the groups of lost blocks, over the live map read in place (scan_index.h). */
#ifndef DRIP_PRELOAD_SCAN_MARK_H
#define DRIP_PRELOAD_SCAN_MARK_H

#include "scan.h"
#include "scan_index.h"
#include "scan_maps.h"
#include "retain.h"

enum { ST_KIND = 7, ST_HEUR_SHIFT = 3, CHUNK = 64 << 10 };
enum { M_DEF = 0, M_POS = 1, M_CLIQUE = 2 };   /* what reading a stacked block does (VISIT_*) */

struct mentry {
    uintptr_t addr;
    uint64_t size;
    uint64_t pos : 56, mode : 8;   /* where to go on reading, in bytes */
    uint32_t idx, node;            /* node: the block's path (retain.h), + 1; 0: none */
};

/* The possible blocks: where the interior pointer that reached each points, and its path. */
struct possible {
    uint32_t *key;   /* block number + 1; 0: empty */
    uint32_t *ioff, *node;
    size_t n, cap;
};

struct marker {
    struct drip__bindex *x;
    uint8_t *st;    /* per block: enum drip_kind | enum drip_heur << ST_HEUR_SHIFT */
    uintptr_t min, max;
    const struct drip__roots *rt;
    unsigned heur_set;   /* bit h - 1 for each enum drip_heur h in use */
    struct mentry *stack;
    size_t top, cap;
    bool oom;
    bool racy;   /* a task runs on: a block may be unmapped under us (see is_next_chunk_header) */
    struct possible pos;
    struct drip__retain *ret;   /* retention paths (retain.h); NULL: not recorded */
    uint32_t holder;            /* what is being read: block index + 1, or 0 for a root range */
    uintptr_t hbase;            /* the holder block's address */
    uint32_t hnode;             /* the holder block's path + 1 */
    uint32_t head;              /* cliques: the lost block heading the group */
};

/* Reads root range r, less the tracked blocks inside it. */
void drip__mark_root(struct marker *mk, const struct range *r);
/* A pointer w at src, held by a root or a reachable block (definite_holder) or not. */
void drip__mark_reach(struct marker *mk, uintptr_t w, bool definite_holder, uintptr_t src);
/* Reads every block marked and not read yet, and what that marks in turn. */
void drip__mark_drain(struct marker *mk, const struct maps *m);
/* The blocks left unreached: definite heads and their indirect groups. */
void drip__mark_cliques(struct marker *mk, const struct maps *m);
/* A possible block's interior offset (0 for any other). */
uint32_t drip__mark_ioff(const struct marker *mk, uint32_t idx);
/* The possible blocks' table and the mark stack (not the state, the caller's). */
void drip__mark_free(struct marker *mk);

#endif
