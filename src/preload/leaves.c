/* leaves.c — the live map's record arrays ("leaves"): a span's records in address order, 12
 * bytes each, in 13 capacities (2 to 256 records) carved from 64 KiB arena blocks. A leaf grows
 * to the next capacity when full and shrinks when under a quarter full (table.c decides), so
 * memory follows the live blocks. Freed leaves are kept on a list per capacity, linked through
 * their first word.
 * Locks: one spinlock per capacity class (a leaf lock: only the arena's lock is taken inside it).
 * Order: entry lock (table.c) < class lock < arena lock.
 */
#include "table_map.h"

#include <string.h>

enum { SLAB = 64 << 10 };

const uint16_t drip__leaf_cap[NCLASS] = {2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256};

static struct {
    drip__spinlock mu;
    void *free;        /* freed leaves, linked through their first word */
    char *cur, *end;   /* the slab being carved */
} __attribute__((aligned(64))) pool[NCLASS];

struct item *drip__leaf_alloc(unsigned cls)
{
    size_t size = drip__leaf_cap[cls] * sizeof(struct item);
    drip__spin_lock(&pool[cls].mu);
    void *p = pool[cls].free;
    if (p) {
        memcpy(&pool[cls].free, p, sizeof(void *));
    } else {
        if (!pool[cls].cur || pool[cls].cur + size > pool[cls].end) {
            char *slab = drip__arena_alloc(SLAB);   /* the tail of the last one is left unused */
            if (!slab) {
                drip__spin_unlock(&pool[cls].mu);
                return NULL;
            }
            pool[cls].cur = slab;
            pool[cls].end = slab + SLAB;
        }
        p = pool[cls].cur;
        pool[cls].cur += size;
    }
    drip__spin_unlock(&pool[cls].mu);
    return p;
}

void drip__leaf_free(struct item *l, unsigned cls)
{
    drip__spin_lock(&pool[cls].mu);
    memcpy(l, &pool[cls].free, sizeof(void *));
    pool[cls].free = l;
    drip__spin_unlock(&pool[cls].mu);
}

struct item *drip__leaf_move(struct item *l, unsigned off, unsigned n, unsigned from, unsigned to)
{
    struct item *nl = drip__leaf_alloc(to);
    if (!nl)
        return NULL;
    memcpy(nl, l + off, n * sizeof(struct item));
    drip__leaf_free(l, from);
    return nl;
}

unsigned drip__leaf_class(unsigned n)
{
    unsigned c = 0;
    while (drip__leaf_cap[c] < n)
        c++;
    return c;
}

/* In a forked child: a parent's thread may have held a class lock at the fork. */
void drip__leaves_child_reset(void)
{
    for (int c = 0; c < NCLASS; c++)
        atomic_store(&pool[c].mu.v, 0);
}
