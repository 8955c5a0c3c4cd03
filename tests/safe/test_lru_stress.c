/*
 * test_lru_stress.c - seeded multi-threaded churn on a thread-safe drip_lru.
 *
 * Values are small refcounted objects: `retain` takes a reference under the
 * cache lock, the reader drops it after use, on_evict drops the cache's.  So
 * this also checks the documented way to use values after get.  At the end
 * every object created has been freed and the allocator balances.
 *
 * Order: the churn runs in rounds; after each, the main thread asks for every
 * key in a shuffled order and clears the cache, which hands entries back least
 * recent first: for the exact LRU that order must be the order of its hits
 * (every hit moved its entry to the front), and for second_chance the same set.
 * Worker threads record failures with WORKER_CHECK (test_alloc.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "drip/lru.h"
#include "test_alloc.h"

#define THREADS 4
#define ITERS 100000
#define KEYS 256
#define CAP 64

struct val {
    atomic_int refs;
    int key;
};

#define ROUNDS 3

static atomic_long made, freed, evicted, puts_ok;
/* keys handed back by drip_lru_clear, in its order (main thread only, between rounds) */
static int cleared[KEYS];
static int ncleared;

static void val_put(struct val *v)
{
    if (atomic_fetch_sub(&v->refs, 1) == 1) {
        atomic_fetch_add(&freed, 1);
        free(v);
    }
}

static void on_evict(const void *key, size_t klen, void *value, size_t bytes,
                     drip_lru_reason why, void *arg)
{
    struct val *v = value;
    int k = -1;
    WORKER_CHECK(klen == sizeof k);
    memcpy(&k, key, sizeof k);
    WORKER_CHECK(k == v->key);
    if (why == DRIP_LRU_DESTROYED && ncleared < KEYS)
        cleared[ncleared++] = k;
    atomic_fetch_add(&evicted, 1);
    val_put(v);
}

static void on_retain(void *value, void *arg)
{
    atomic_fetch_add(&((struct val *)value)->refs, 1);
}

struct targ {
    drip_lru *c;
    uint64_t seed;
    uint64_t stop_at;
};

static void *churn(void *p)
{
    struct targ *a = p;
    for (int i = 0; i < ITERS; i++) {
        if ((i & 1023) == 0 && mono_ns() > a->stop_at)
            break;
        uint64_t r = xorshift64(&a->seed);
        int k = (int)(r % KEYS);
        switch ((r >> 16) % 8) {
        case 0: case 1: case 2: {
            struct val *v = malloc(sizeof *v);
            atomic_init(&v->refs, 1);
            v->key = k;
            atomic_fetch_add(&made, 1);
            uint64_t ttl = (r >> 24) % 4 == 0 ? 1000 : 0;   /* some expire fast */
            int rc = drip_lru_put(a->c, &k, sizeof k, v, 1 + (r >> 32) % 16, ttl);
            if (rc == 0) {
                atomic_fetch_add(&puts_ok, 1);
            } else {
                WORKER_CHECK(rc == -ENOMEM);
                val_put(v);
            }
            break;
        }
        case 3:
            drip_lru_delete(a->c, &k, sizeof k);
            break;
        case 4:
            if ((r >> 40) % 64 == 0)
                drip_lru_sweep(a->c);
            break;
        default: {
            void *out;
            if (drip_lru_get(a->c, &k, sizeof k, &out) == 0) {
                struct val *v = out;
                WORKER_CHECK(v->key == k);   /* safe: we hold a reference */
                val_put(v);
            }
        }
        }
    }
    return NULL;
}

/* Asks for every key once, in a shuffled order, then clears the cache: it hands the entries
 * back least recent first, i.e. (exact LRU) in the order of those hits. */
static void check_order(drip_lru *c, bool second_chance, uint64_t *seed)
{
    int order[KEYS], hit[KEYS], nhit = 0;
    for (int i = 0; i < KEYS; i++)
        order[i] = i;
    for (int i = KEYS - 1; i > 0; i--) {
        int j = (int)(xorshift64(seed) % (uint64_t)(i + 1)), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (int i = 0; i < KEYS; i++) {
        void *out;
        if (drip_lru_get(c, &order[i], sizeof order[i], &out) == 0) {
            hit[nhit++] = order[i];
            val_put(out);
        }
    }
    assert_true(nhit > 8);   /* the churn leaves the cache well filled */
    ncleared = 0;
    drip_lru_clear(c);
    assert_int_equal(drip_lru_count(c), 0);
    assert_int_equal(ncleared, nhit);
    if (!second_chance) {
        for (int i = 0; i < nhit; i++)
            if (cleared[i] != hit[i])
                fail_msg("clear's %dth entry is key %d; the %dth hit was key %d (least recent first)", i, cleared[i], i, hit[i]);
    } else {
        /* second_chance does not reorder on a hit: the same entries, in no particular order */
        bool seen[KEYS] = {0};
        for (int i = 0; i < nhit; i++)
            seen[cleared[i]] = true;
        for (int i = 0; i < nhit; i++)
            assert_true(seen[hit[i]]);
    }
}

static void stress_with(bool second_chance)
{
    atomic_store(&made, 0);
    atomic_store(&freed, 0);
    atomic_store(&evicted, 0);
    atomic_store(&puts_ok, 0);
    struct talloc t;
    talloc_init(&t);
    drip_lru_options o = { .max_entries = CAP, .max_bytes = CAP * 6, .thread_safe = true,
                           .second_chance = second_chance,
                           .on_evict = on_evict, .retain = on_retain, .alloc = &t.a };
    drip_lru *c = drip_lru_create(&o);
    assert_non_null(c);
    pthread_t th[THREADS];
    struct targ args[THREADS];
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t stop = mono_ns() + STRESS_BUDGET_NS / ROUNDS;
        for (int i = 0; i < THREADS; i++) {
            args[i] = (struct targ){ c, 0x9e3779b97f4a7c15ULL * (i + 1) + (uint64_t)round, stop };
            assert_int_equal(pthread_create(&th[i], NULL, churn, &args[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        WORKER_CHECKS_PASSED();
        assert_true(drip_lru_count(c) <= CAP);
        assert_true(drip_lru_bytes(c) <= CAP * 6);
        check_order(c, second_chance, &seed);
    }
    drip_lru_destroy(c);
    assert_int_equal(atomic_load(&evicted), atomic_load(&puts_ok));
    assert_int_equal(atomic_load(&made), atomic_load(&freed));
    assert_int_equal(talloc_live(&t), 0);
}

static void stress(void **state) { stress_with(false); }
static void stress_second_chance(void **state) { stress_with(true); }

int safe_lru_stress_run(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(stress), cmocka_unit_test(stress_second_chance) };
    return cmocka_run_group_tests_name("safe_lru_stress", tests, NULL, NULL);
}

#ifndef SAFE_STRESS_NO_MAIN
int main(void) { return safe_lru_stress_run(); }
#endif
