/*
 * test_registry_stress.c - "connections" open and close from several
 * threads while a reaper walks the registry closing some and, at the end,
 * close_all races the connection threads closing their own handles.  Each
 * connection must be closed exactly once and nothing may leak.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include "drip/registry.h"
#include "test_alloc.h"

#define THREADS 4
#define ITERS 50000
#define OPEN 32

struct conn {
    atomic_int closes;
};

static atomic_long opened, closed, double_closes;

static void conn_close(void *obj, void *arg)
{
    struct conn *c = obj;
    if (atomic_fetch_add(&c->closes, 1) != 0)
        atomic_fetch_add(&double_closes, 1);
    atomic_fetch_add(&closed, 1);
    free(c);
}

struct targ {
    drip_registry *r;
    uint64_t seed, stop_at;
};

static void *conn_thread(void *p)
{
    struct targ *a = p;
    drip_handle_id mine[OPEN] = { 0 };
    for (int i = 0; i < ITERS; i++) {
        if ((i & 1023) == 0 && mono_ns() > a->stop_at)
            break;
        uint64_t r = xorshift64(&a->seed);
        int k = (int)(r % OPEN);
        if (mine[k]) {
            int rc = drip_registry_close(a->r, mine[k]);
            WORKER_CHECK(rc == 0 || rc == -ENOENT);   /* reaper may have won */
            mine[k] = 0;
        } else {
            struct conn *c = malloc(sizeof *c);
            atomic_init(&c->closes, 0);
            int rc = drip_registry_add(a->r, c, conn_close, NULL, &mine[k]);
            WORKER_CHECK(rc == 0);
            atomic_fetch_add(&opened, 1);
        }
    }
    /* Leave the rest open for close_all to race with. */
    for (int k = 0; k < OPEN; k++)
        if (mine[k] && (k & 1))
            drip_registry_close(a->r, mine[k]);
    return NULL;
}

static int reap(drip_handle_id id, void *obj, void *arg)
{
    uint64_t *seed = arg;
    return xorshift64(seed) % 16 == 0 ? DRIP_REGISTRY_CLOSE : 0;
}

static atomic_int reaper_stop;

static void *reaper(void *p)
{
    drip_registry *r = p;
    uint64_t seed = 99;
    while (!atomic_load(&reaper_stop)) {
        drip_registry_foreach(r, reap, &seed);
        (void)drip_registry_count(r);
    }
    return NULL;
}

static void stress(void **state)
{
    struct talloc t;
    talloc_init(&t);
    drip_registry *r = drip_registry_create(&t.a);
    assert_non_null(r);
    pthread_t th[THREADS], rp;
    struct targ args[THREADS];
    uint64_t stop = mono_ns() + STRESS_BUDGET_NS;
    assert_int_equal(pthread_create(&rp, NULL, reaper, r), 0);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct targ){ r, 0xa0761d6478bd642fULL * (i + 1), stop };
        assert_int_equal(pthread_create(&th[i], NULL, conn_thread, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&reaper_stop, 1);
    pthread_join(rp, NULL);
    WORKER_CHECKS_PASSED();
    drip_registry_close_all(r);
    assert_int_equal(drip_registry_count(r), 0);
    drip_registry_destroy(r);
    assert_int_equal(atomic_load(&double_closes), 0);
    assert_int_equal(atomic_load(&opened), atomic_load(&closed));
    assert_int_equal(talloc_live(&t), 0);
}

int safe_registry_stress_run(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(stress) };
    return cmocka_run_group_tests_name("safe_registry_stress", tests, NULL, NULL);
}

#ifndef SAFE_STRESS_NO_MAIN
int main(void) { return safe_registry_stress_run(); }
#endif
