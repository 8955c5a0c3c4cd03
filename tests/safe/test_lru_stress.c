/*
 * test_lru_stress.c - seeded multi-threaded churn on a thread-safe drip_lru.
 *
 * Values are small refcounted objects: `retain` takes a reference under the
 * cache lock, the reader drops it after use, on_evict drops the cache's.  So
 * this also checks the documented way to use values after get.  At the end
 * every object created has been freed and the allocator balances.
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

static atomic_long made, freed, evicted, puts_ok;

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
    int k;
    assert_int_equal(klen, sizeof k);
    memcpy(&k, key, sizeof k);
    assert_int_equal(k, v->key);
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
                assert_int_equal(rc, -ENOMEM);
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
                assert_int_equal(v->key, k);   /* safe: we hold a reference */
                val_put(v);
            }
        }
        }
    }
    return NULL;
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
    uint64_t stop = mono_ns() + STRESS_BUDGET_NS;
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct targ){ c, 0x9e3779b97f4a7c15ULL * (i + 1), stop };
        assert_int_equal(pthread_create(&th[i], NULL, churn, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_true(drip_lru_count(c) <= CAP);
    assert_true(drip_lru_bytes(c) <= CAP * 6);
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
