/* scan_heur.c — valgrind's leak-check heuristics (--leak-check-heuristics): the interior
 * pointers that C++ makes on purpose and that count as start pointers (scan.h). Split out of
 * scan.c. No state, no locks; reads the block's first words (the world is stopped).
 */
#include "scan.h"

const char *const drip__heur_name[DRIP_HEUR_COUNT] = {"", "stdstring", "length64", "newarray", "multipleinheritance"};

/* valgrind's heuristic_reachedness (memcheck/mc_leakcheck.c): which heuristic, if any, makes w,
 * an interior pointer into blk, count as a pointer to its start. */
uint8_t drip__heuristic(unsigned heur_set, const struct drip__roots *rt, const struct drip__block *blk, uintptr_t w)
{
    const size_t W = sizeof(uintptr_t);
    const uintptr_t *d = (const uintptr_t *)blk->addr;
    size_t off = w - blk->addr;
    /* the old (copy-on-write) std::string: length, capacity, refcount, then the characters */
    if ((heur_set & 1u << (DRIP_HEUR_STDSTRING - 1)) && off == 3 * W && blk->size >= 2 * W &&
        3 * W + d[1] + 1 == blk->size && d[0] <= d[1])
        return DRIP_HEUR_STDSTRING;
    /* a 64-bit length of the rest of the block, then the data (sqlite) */
    if ((heur_set & 1u << (DRIP_HEUR_LENGTH64 - 1)) && off == 8 && blk->size >= 8 && d[0] > 0 &&
        blk->size - 8 == d[0])
        return DRIP_HEUR_LENGTH64;
    /* new T[n] of a T with a destructor: n, then the elements */
    if ((heur_set & 1u << (DRIP_HEUR_NEWARRAY - 1)) && off == W && blk->size >= W && d[0] > 0 &&
        (blk->size - W) % d[0] == 0)
        return DRIP_HEUR_NEWARRAY;
    /* a pointer to a second base class: a vtable pointer there and at the start */
    if ((heur_set & 1u << (DRIP_HEUR_MULTIPLEINHERITANCE - 1)) && !(w & (W - 1)) && off + W <= blk->size) {
        uintptr_t inner = *(const uintptr_t *)w, first = d[0];
        if (!(inner & (W - 1)) && inner >= 4096 && !(first & (W - 1)) && first >= 4096 &&
            drip__roots_is_vtable(rt, inner) && drip__roots_is_vtable(rt, first))
            return DRIP_HEUR_MULTIPLEINHERITANCE;
    }
    return DRIP_HEUR_NONE;
}
