/* dominator.h — the dominator tree of a graph (Lengauer–Tarjan), and the retained sizes it gives:
 * what becomes unreachable if a node lets go (Eclipse MAT's "retained heap"). Pure code: no
 * allocation of its own (the caller hands it a scratch buffer), so it runs in the scan with the
 * world stopped and in a unit test on synthetic graphs (tests/unit/test_dominator.c). */
#ifndef DRIP_PRELOAD_DOMINATOR_H
#define DRIP_PRELOAD_DOMINATOR_H

#include <stddef.h>
#include <stdint.h>

enum { DRIP_DOM_NONE = UINT32_MAX };

/* The bytes of scratch memory drip__dom_compute needs for n nodes and m edges. */
size_t drip__dom_scratch_bytes(uint32_t n, size_t m);

/* Dominators of the n nodes reachable from node 0, whose successors are adj[off[v]..off[v+1]).
 * Fills idom[v] (DRIP_DOM_NONE: not reachable; idom[0] = 0) and order[0..reached) with the
 * reachable nodes in depth-first preorder (so each node comes after its immediate dominator).
 * stop(ctx), when not NULL, is asked every 65,536 steps: non-zero gives up (returns -1).
 * Returns the number of reachable nodes. */
long drip__dom_compute(uint32_t n, const uint32_t *off, const uint32_t *adj, uint32_t *idom, uint32_t *order,
                      void *scratch, int (*stop)(void *), void *ctx);

/* Retained sizes: bytes[v] = size[v] plus the sizes of every node v dominates; count[v] the number
 * of nodes of non-zero size among them (count may be NULL). In place over the order of
 * drip__dom_compute. */
void drip__dom_retained(long reached, const uint32_t *order, const uint32_t *idom, const uint64_t *size, uint64_t *bytes,
                       uint64_t *count);

#endif
