/* Unit tests of the dominator tree and retained sizes (src/preload/dominator.c):
 *   - a hand-made heap graph whose retained sizes are worked out in the comment;
 *   - 2,000 random graphs (roots, shared blocks, cycles, self-links) against brute force: for
 *     every node v, "remove v, rescan from the root, diff" gives the bytes v retains, and the
 *     nodes v dominates; both must equal what the dominator tree says;
 *   - a linked list of 1,000,000 nodes (no recursion: the scan runs on the program's stack);
 *   - the budget: a stop callback that says stop makes it give up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dominator.h"

struct graph {
    uint32_t n;
    uint32_t *off, *adj;
    uint64_t *size;
};

/* CSR from an edge list (src, dst pairs). */
static struct graph make(uint32_t n, const uint32_t (*e)[2], size_t m, const uint64_t *size)
{
    struct graph g = {n, calloc(n + 1, sizeof(uint32_t)), malloc((m ? m : 1) * sizeof(uint32_t)), malloc(n * sizeof(uint64_t))};
    for (size_t i = 0; i < m; i++)
        g.off[e[i][0] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        g.off[v + 1] += g.off[v];
    uint32_t *fill = malloc((n ? n : 1) * sizeof *fill);
    memcpy(fill, g.off, n * sizeof *fill);
    for (size_t i = 0; i < m; i++)
        g.adj[fill[e[i][0]]++] = e[i][1];
    free(fill);
    memcpy(g.size, size, n * sizeof *size);
    return g;
}

static void unmake(struct graph *g)
{
    free(g->off);
    free(g->adj);
    free(g->size);
}

static long run(const struct graph *g, uint32_t *idom, uint64_t *bytes, uint64_t *count)
{
    uint32_t *order = malloc(g->n * sizeof *order);
    void *scratch = malloc(drip__dom_scratch_bytes(g->n, g->off[g->n]));
    long r = drip__dom_compute(g->n, g->off, g->adj, idom, order, scratch, NULL, NULL);
    if (r >= 0 && bytes)
        drip__dom_retained(r, order, idom, g->size, bytes, count);
    free(order);
    free(scratch);
    return r;
}

/* Reachable from 0 without going through `removed` (UINT32_MAX: nothing removed). */
static void reach(const struct graph *g, uint32_t removed, uint8_t *seen, uint32_t *stack)
{
    memset(seen, 0, g->n);
    size_t sp = 0;
    if (removed == 0)
        return;
    seen[0] = 1;
    stack[sp++] = 0;
    while (sp) {
        uint32_t v = stack[--sp];
        for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
            uint32_t w = g->adj[e];
            if (w != removed && !seen[w]) {
                seen[w] = 1;
                stack[sp++] = w;
            }
        }
    }
}

/* 0: the super-root; 1 = global A, 2 = global B (roots, size 0); blocks 3..8:
 *   A -> 3 (100) -> 4 (10) -> 5 (1)      3 holds 4, 4 holds 5
 *   A -> 6 (1000); B -> 6                 6 is held by both roots: neither retains it
 *   6 -> 7 (7) -> 6                       a cycle: 7 is retained by 6
 *   4 -> 8 (50); 7 -> 8                   8 held from two subtrees: the super-root's
 * So A retains 3, 4, 5 = 111 bytes; B nothing; 6 retains 6 and 7 = 1,007; 4 retains 4, 5 = 11. */
static void hand_made(void **state)
{
    (void)state;
    static const uint32_t e[][2] = {{0, 1}, {0, 2}, {1, 3}, {3, 4}, {4, 5}, {1, 6}, {2, 6}, {6, 7}, {7, 6}, {4, 8}, {7, 8}};
    static const uint64_t size[] = {0, 0, 0, 100, 10, 1, 1000, 7, 50};
    struct graph g = make(9, e, sizeof e / sizeof e[0], size);
    uint32_t idom[9];
    uint64_t bytes[9], count[9];
    assert_int_equal(run(&g, idom, bytes, count), 9);
    static const uint32_t want_idom[] = {0, 0, 0, 1, 3, 4, 0, 6, 0};
    assert_memory_equal(idom, want_idom, sizeof idom);
    assert_int_equal(bytes[1], 111);
    assert_int_equal(count[1], 3);
    assert_int_equal(bytes[2], 0);
    assert_int_equal(bytes[6], 1007);
    assert_int_equal(bytes[4], 11);
    assert_int_equal(bytes[8], 50);
    assert_int_equal(bytes[0], 1168);
    assert_int_equal(count[0], 6);
    unmake(&g);
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void random_graphs(void **state)
{
    (void)state;
    int graphs = 0, nodes_checked = 0;
    for (int round = 0; round < 2000; round++) {
        uint32_t n = 2 + rnd(40), roots = 1 + rnd(4);
        size_t m = 0, cap = (size_t)n * 4 + roots;
        uint32_t(*e)[2] = malloc(cap * sizeof *e);
        uint64_t *size = malloc(n * sizeof *size);
        size[0] = 0;
        for (uint32_t v = 1; v < n; v++)
            size[v] = v <= roots ? 0 : 1 + rnd(1000);
        for (uint32_t r = 1; r <= roots && r < n; r++)
            e[m++][0] = 0, e[m - 1][1] = r;
        for (uint32_t v = 1; v < n; v++) {
            uint32_t k = rnd(4);   /* 0..3 pointers out of each node, anywhere but to 0 */
            for (uint32_t j = 0; j < k && m < cap; j++)
                e[m][0] = v, e[m][1] = 1 + rnd(n - 1), m++;
        }
        struct graph g = make(n, e, m, size);
        uint32_t *idom = malloc(n * sizeof *idom), *stack = malloc(n * sizeof *stack);
        uint64_t *bytes = malloc(n * sizeof *bytes);
        uint8_t *all = malloc(n), *without = malloc(n);
        long reached = run(&g, idom, bytes, NULL);
        reach(&g, UINT32_MAX, all, stack);
        long want_reached = 0;
        for (uint32_t v = 0; v < n; v++)
            want_reached += all[v];
        assert_int_equal(reached, want_reached);
        for (uint32_t v = 1; v < n; v++) {
            if (!all[v]) {
                assert_int_equal(idom[v], DRIP_DOM_NONE);
                continue;
            }
            /* brute force: remove v, rescan, diff */
            reach(&g, v, without, stack);
            uint64_t lost = size[v];
            for (uint32_t w = 0; w < n; w++) {
                int dominated = all[w] && !without[w] && w != v;
                if (dominated)
                    lost += size[w];
                /* v dominates w exactly when w lies on v's chain of immediate dominators */
                int chain = 0;
                if (all[w] && w != v)
                    for (uint32_t x = idom[w]; ; x = idom[x]) {
                        if (x == v) {
                            chain = 1;
                            break;
                        }
                        if (x == 0)
                            break;
                    }
                assert_int_equal(chain, dominated);
            }
            assert_int_equal(bytes[v], lost);
            nodes_checked++;
        }
        graphs++;
        free(e), free(size), free(idom), free(stack), free(bytes), free(all), free(without);
        unmake(&g);
    }
    assert_int_equal(graphs, 2000);
    assert_true(nodes_checked > 20000);
}

/* 0 -> 1 -> 2 -> ... -> n-1, and n-1 -> 1: every node dominates the rest of the list. */
static void long_list(void **state)
{
    (void)state;
    uint32_t n = 1000000;
    uint32_t(*e)[2] = malloc((size_t)n * sizeof *e);
    uint64_t *size = malloc(n * sizeof *size);
    for (uint32_t v = 0; v + 1 < n; v++)
        e[v][0] = v, e[v][1] = v + 1, size[v + 1] = 8;
    e[n - 1][0] = n - 1, e[n - 1][1] = 1;
    size[0] = 0;
    struct graph g = make(n, e, n, size);
    uint32_t *idom = malloc(n * sizeof *idom);
    uint64_t *bytes = malloc(n * sizeof *bytes);
    assert_int_equal(run(&g, idom, bytes, NULL), n);
    assert_int_equal(idom[n - 1], n - 2);
    assert_int_equal(bytes[1], (uint64_t)(n - 1) * 8);
    assert_int_equal(bytes[n / 2], (uint64_t)(n - n / 2) * 8);
    free(e), free(size), free(idom), free(bytes);
    unmake(&g);
}

static int calls;
static int stop_now(void *ctx)
{
    (void)ctx;
    return ++calls >= 2;
}

static void budget(void **state)
{
    (void)state;
    uint32_t n = 300000;
    uint32_t(*e)[2] = malloc((size_t)n * sizeof *e);
    uint64_t *size = calloc(n, sizeof *size);
    for (uint32_t v = 0; v + 1 < n; v++)
        e[v][0] = v, e[v][1] = v + 1;
    struct graph g = make(n, e, n - 1, size);
    uint32_t *idom = malloc(n * sizeof *idom), *order = malloc(n * sizeof *order);
    void *scratch = malloc(drip__dom_scratch_bytes(n, n - 1));
    assert_int_equal(drip__dom_compute(n, g.off, g.adj, idom, order, scratch, stop_now, NULL), -1);
    assert_int_equal(calls, 2);
    free(e), free(size), free(idom), free(order), free(scratch);
    unmake(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_made),
        cmocka_unit_test(random_graphs),
        cmocka_unit_test(long_list),
        cmocka_unit_test(budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
