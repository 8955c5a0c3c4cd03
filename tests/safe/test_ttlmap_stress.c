/*
 * test_ttlmap_stress.c - seeded churn on a drip_ttlmap while its cleanup
 * thread sweeps every 100 us.  Values are refcounted (retain on get), taken
 * values are freed by the taker; at close every value made has been freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "drip/ttlmap.h"
#include "test_alloc.h"

#define THREADS 4
#define ITERS 100000
#define KEYS 512

struct val {
    atomic_int refs;
    int key;
};

static atomic_long made, freed;

static void val_put(struct val *v)
{
    if (atomic_fetch_sub(&v->refs, 1) == 1) {
        atomic_fetch_add(&freed, 1);
        free(v);
    }
}

static void free_value(void *value, void *arg) { val_put(value); }
static void retain(void *value, void *arg) { atomic_fetch_add(&((struct val *)value)->refs, 1); }

struct targ {
    drip_ttlmap *m;
    uint64_t seed, stop_at;
};

static void *churn(void *p)
{
    struct targ *a = p;
    for (int i = 0; i < ITERS; i++) {
        if ((i & 1023) == 0 && mono_ns() > a->stop_at)
            break;
        uint64_t r = xorshift64(&a->seed);
        int k = (int)(r % KEYS);
        void *out;
        switch ((r >> 16) % 8) {
        case 0: case 1: case 2: {
            struct val *v = malloc(sizeof *v);
            atomic_init(&v->refs, 1);
            v->key = k;
            atomic_fetch_add(&made, 1);
            /* TTLs from 10 us to ~1 ms, so the sweeper always has work */
            if (drip_ttlmap_set(a->m, &k, sizeof k, v, 10000 + (r >> 32) % 1000000) != 0)
                val_put(v);
            break;
        }
        case 3:
            drip_ttlmap_delete(a->m, &k, sizeof k);
            break;
        case 4:
            if (drip_ttlmap_take(a->m, &k, sizeof k, &out) == 0) {
                WORKER_CHECK(((struct val *)out)->key == k);
                val_put(out);
            }
            break;
        case 5:
            drip_ttlmap_touch(a->m, &k, sizeof k, 0);
            break;
        default:
            if (drip_ttlmap_get(a->m, &k, sizeof k, &out) == 0) {
                WORKER_CHECK(((struct val *)out)->key == k);
                val_put(out);
            }
        }
    }
    return NULL;
}

static void stress(void **state)
{
    struct talloc t;
    talloc_init(&t);
    drip_ttlmap_options o = { .ttl_ns = 500000, .sweep_interval_ns = 100000,
                              .free_value = free_value, .retain = retain, .alloc = &t.a };
    drip_ttlmap *m = drip_ttlmap_create(&o);
    assert_non_null(m);
    pthread_t th[THREADS];
    struct targ args[THREADS];
    uint64_t stop = mono_ns() + STRESS_BUDGET_NS;
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct targ){ m, 0xd1b54a32d192ed03ULL * (i + 7), stop };
        assert_int_equal(pthread_create(&th[i], NULL, churn, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    WORKER_CHECKS_PASSED();
    drip_ttlmap_close(m);
    assert_int_equal(atomic_load(&made), atomic_load(&freed));
    assert_int_equal(talloc_live(&t), 0);
}

int safe_ttlmap_stress_run(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(stress) };
    return cmocka_run_group_tests_name("safe_ttlmap_stress", tests, NULL, NULL);
}

#ifndef SAFE_STRESS_NO_MAIN
int main(void) { return safe_ttlmap_stress_run(); }
#endif
