/* Unit tests of the stack depot (src/preload/depot.c, with drip's arena under it): a stack is
 * stored once and keeps its id; ids are 1..count in the order stacks were first seen; a site
 * gives back its frames; the hash folded frame by frame equals drip__stack_hash; stacks that
 * share a hash stay distinct; an empty stack is a stack; threads interning the same stacks at
 * once agree on every id, also while the depot moves from its small table of buckets to the big
 * one (the first test: it starts from an empty depot); a thread's stack cache starts small and
 * grows once it misses often. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "depot.h"

DRIP_TLS int drip__guard;   /* internal.h declares them; the depot does not use them */
DRIP_TLS int *drip__errno_at;

enum { STACKS = 20000, THREADS = 4 };

/* Stack k: depth 1 + k % 24, frames that depend on k and on the position. */
static int stack_of(uint32_t k, uintptr_t *f)
{
    int n = 1 + (int)(k % 24);
    for (int i = 0; i < n; i++)
        f[i] = (uintptr_t)0x400000 + (uintptr_t)k * 4096 + (uintptr_t)i * 16 + 5;
    return n;
}

static uint32_t first_id[STACKS];

static void test_intern_once(void **state)
{
    uint32_t before = drip__depot_count();
    uintptr_t f[DRIP_MAX_FRAMES];
    for (uint32_t k = 0; k < STACKS; k++) {
        int n = stack_of(k, f);
        first_id[k] = drip__depot_intern(f, n);
        assert_int_equal(first_id[k], before + 1 + k);   /* new stacks get the next id */
    }
    assert_int_equal(drip__depot_count(), before + STACKS);
    for (uint32_t k = 0; k < STACKS; k++) {   /* again: the same ids, nothing new */
        int n = stack_of(k, f);
        assert_int_equal(drip__depot_intern(f, n), first_id[k]);
    }
    assert_int_equal(drip__depot_count(), before + STACKS);
}

static void test_get(void **state)
{
    uintptr_t f[DRIP_MAX_FRAMES];
    for (uint32_t k = 0; k < STACKS; k += 7) {
        int n = stack_of(k, f);
        struct drip__site *s = drip__depot_get(first_id[k]);
        assert_non_null(s);
        assert_int_equal(s->id, first_id[k]);
        assert_int_equal(s->depth, (uint32_t)n);
        assert_memory_equal(s->frames, f, (size_t)n * sizeof *f);
        assert_int_equal(s->hash, drip__stack_hash(f, n));
    }
    assert_null(drip__depot_get(0));
    assert_null(drip__depot_get(drip__depot_count() + 1));
}

static void test_hash_fold(void **state)
{
    uintptr_t f[DRIP_MAX_FRAMES];
    int n = stack_of(23, f);
    uint64_t h = DRIP_HASH_SEED;
    for (int i = 0; i < n; i++)
        h = drip__hash_step(h, f[i]);
    assert_int_equal(drip__hash_finish(h, n), drip__stack_hash(f, n));
    assert_int_not_equal(drip__stack_hash(f, n), drip__stack_hash(f, n - 1));   /* depth counts */
    assert_int_not_equal(drip__stack_hash(f, 0), 0);   /* 0 is never a hash */
}

static void test_collisions(void **state)
{
    /* two stacks given the same hash are told apart by their frames */
    uintptr_t a[2] = {0x1111, 0x2222}, b[2] = {0x1111, 0x3333};
    uint64_t h = 0x5555aaaa5555aaaaULL;
    uint32_t ia = drip__depot_intern_hashed(a, 2, h), ib = drip__depot_intern_hashed(b, 2, h);
    assert_int_not_equal(ia, 0);
    assert_int_not_equal(ib, 0);
    assert_int_not_equal(ia, ib);
    assert_int_equal(drip__depot_intern_hashed(a, 2, h), ia);
    assert_int_equal(drip__depot_intern_hashed(b, 2, h), ib);
    /* and the same frames at another depth are another stack */
    assert_int_not_equal(drip__depot_intern_hashed(a, 1, h), ia);
    /* the empty stack is a stack */
    uint32_t e = drip__depot_intern(a, 0);
    assert_int_not_equal(e, 0);
    assert_int_equal(drip__depot_intern(b, 0), e);
    assert_int_equal(drip__depot_get(e)->depth, 0);
}

static uint32_t seen[THREADS][STACKS / 4];

/* Four threads intern the same 8,192 new stacks at once, from an empty depot: the 4,096th one
 * turns the big table on while the others insert and look up. Each stack is stored once, every
 * thread gets the same id for it, and a stack stored in the small table is found again after. */
enum { ACROSS = 8192, ACROSS_BASE = 3 * STACKS };
static uint32_t across[THREADS][ACROSS];

static void *across_worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    uintptr_t f[DRIP_MAX_FRAMES];
    for (uint32_t j = 0; j < ACROSS; j++) {
        uint32_t k = t % 2 ? ACROSS - 1 - j : j;
        int n = stack_of(ACROSS_BASE + k, f);
        across[t][k] = drip__depot_intern(f, n);
    }
    return NULL;
}

static void test_threads_across_switch(void **state)
{
    assert_int_equal(drip__depot_count(), 0);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, across_worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(drip__depot_count(), ACROSS);   /* each stack once */
    uintptr_t f[DRIP_MAX_FRAMES];
    for (uint32_t k = 0; k < ACROSS; k++) {
        for (int t = 1; t < THREADS; t++)
            assert_int_equal(across[t][k], across[0][k]);
        int n = stack_of(ACROSS_BASE + k, f);
        assert_int_equal(drip__depot_intern(f, n), across[0][k]);   /* found again, either table */
        assert_memory_equal(drip__depot_get(across[0][k])->frames, f, (size_t)n * sizeof *f);
    }
    assert_int_equal(drip__depot_count(), ACROSS);
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    uintptr_t f[DRIP_MAX_FRAMES];
    for (uint32_t j = 0; j < STACKS / 4; j++) {
        uint32_t k = STACKS + (t % 2 ? STACKS / 4 - 1 - j : j);   /* half of them backwards */
        int n = stack_of(k, f);
        seen[t][k - STACKS] = drip__depot_intern(f, n);
    }
    return NULL;
}

static void test_threads(void **state)
{
    uint32_t before = drip__depot_count();
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(drip__depot_count(), before + STACKS / 4);   /* each stack once */
    for (uint32_t j = 0; j < STACKS / 4; j++) {
        for (int t = 1; t < THREADS; t++)
            assert_int_equal(seen[t][j], seen[0][j]);
        assert_true(seen[0][j] > before && seen[0][j] <= before + STACKS / 4);
    }
}

/* A thread's stack cache: 64 sets in its static TLS, 1,024 from the arena at its 256th miss, the
 * small one again after drip__depot_release (and no growing on the thread's way out). Every
 * lookup gives the stack's id, whichever table answers. */
enum { GROWN_BASE = 3 * STACKS };
static void *growth_worker(void *arg)
{
    (void)arg;
    uintptr_t f[DRIP_MAX_FRAMES];
    uint32_t ids[300];
    assert_int_equal(drip__depot_cache_sets(), 64);
    for (uint32_t k = 0; k < 255; k++) {   /* new stacks: each one a miss */
        int n = stack_of(GROWN_BASE + k, f);
        ids[k] = drip__depot_intern(f, n);
    }
    assert_int_equal(drip__depot_cache_sets(), 64);
    for (uint32_t k = 0; k < 8; k++) {   /* stacks it holds: hits, no growing */
        int n = stack_of(GROWN_BASE + 254 - k, f);
        assert_int_equal(drip__depot_intern(f, n), ids[254 - k]);
    }
    assert_int_equal(drip__depot_cache_sets(), 64);
    int n = stack_of(GROWN_BASE + 255, f);   /* the 256th miss */
    ids[255] = drip__depot_intern(f, n);
    assert_int_equal(drip__depot_cache_sets(), 1024);
    for (uint32_t k = 0; k < 256; k++) {
        n = stack_of(GROWN_BASE + k, f);
        assert_int_equal(drip__depot_intern(f, n), ids[k]);
    }
    drip__depot_release();
    assert_int_equal(drip__depot_cache_sets(), 64);
    for (uint32_t k = 0; k < 300; k++) {   /* 300 misses more: it stays small */
        n = stack_of(GROWN_BASE + 256 + k, f);
        assert_int_equal(drip__depot_intern(f, n), drip__depot_intern(f, n));
    }
    assert_int_equal(drip__depot_cache_sets(), 64);
    for (uint32_t k = 0; k < 256; k++) {
        n = stack_of(GROWN_BASE + k, f);
        assert_int_equal(drip__depot_intern(f, n), ids[k]);
    }
    return NULL;
}

static void test_thread_cache_grows(void **state)
{
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, growth_worker, NULL), 0);
    pthread_join(th, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_across_switch),
        cmocka_unit_test(test_intern_once), cmocka_unit_test(test_get),     cmocka_unit_test(test_hash_fold),
        cmocka_unit_test(test_collisions),  cmocka_unit_test(test_threads),
        cmocka_unit_test(test_thread_cache_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
