/*
 * test_ref_stress.c - race the last strong release against concurrent
 * drip_weak_get, round after round.  Every strong ref obtained must see the
 * object alive, the destructor must run exactly once per round, and the
 * control block must be freed once the last weak ref is gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include "drip/ref.h"
#include "test_alloc.h"

#define THREADS 4
#define ROUNDS 20000

struct obj {
    atomic_int alive;
};

static atomic_int dtors;
static atomic_long bad_gets;
static pthread_barrier_t start_b, end_b;
static drip_weak *slots[THREADS];
static atomic_int quit;

static void dtor(void *o, void *arg)
{
    struct obj *ob = o;
    if (atomic_exchange(&ob->alive, 0) != 1)
        atomic_fetch_add(&bad_gets, 1000000);   /* second destructor run */
    atomic_fetch_add(&dtors, 1);
    free(ob);
}

static void *worker(void *p)
{
    int id = (int)(intptr_t)p;
    uint64_t seed = 0x2545f4914f6cdd1dULL * (id + 3);
    for (;;) {
        pthread_barrier_wait(&start_b);
        if (atomic_load(&quit))
            return NULL;
        drip_weak *w = slots[id];
        drip_ref *s;
        while ((s = drip_weak_get(w)) != NULL) {
            struct obj *ob = drip_ref_obj(s);
            if (atomic_load(&ob->alive) != 1)
                atomic_fetch_add(&bad_gets, 1);
            if (xorshift64(&seed) & 1)
                drip_ref_release(drip_ref_retain(s));
            drip_ref_release(s);
        }
        drip_weak_release(w);
        pthread_barrier_wait(&end_b);
    }
}

static void stress(void **state)
{
    struct talloc t;
    talloc_init(&t);
    pthread_barrier_init(&start_b, NULL, THREADS + 1);
    pthread_barrier_init(&end_b, NULL, THREADS + 1);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    uint64_t seed = 12345, stop = mono_ns() + STRESS_BUDGET_NS;
    int rounds = 0;
    for (; rounds < ROUNDS && mono_ns() < stop; rounds++) {
        struct obj *ob = malloc(sizeof *ob);
        atomic_init(&ob->alive, 1);
        drip_ref *r = drip_ref_create(ob, dtor, NULL, &t.a);
        assert_non_null(r);
        for (int i = 0; i < THREADS; i++)
            slots[i] = drip_weak_create(r);
        pthread_barrier_wait(&start_b);
        for (uint64_t spin = xorshift64(&seed) % 2000; spin; spin--)
            __asm__ volatile("" ::: "memory");
        drip_ref_release(r);
        pthread_barrier_wait(&end_b);
        assert_int_equal(atomic_load(&dtors), rounds + 1);
        assert_int_equal(talloc_live(&t), 0);
    }
    atomic_store(&quit, 1);
    pthread_barrier_wait(&start_b);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start_b);
    pthread_barrier_destroy(&end_b);
    assert_int_equal(atomic_load(&bad_gets), 0);
    assert_int_equal(atomic_load(&dtors), rounds);
    assert_true(rounds > 0);
}

int safe_ref_stress_run(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(stress) };
    return cmocka_run_group_tests_name("safe_ref_stress", tests, NULL, NULL);
}

#ifndef SAFE_STRESS_NO_MAIN
int main(void) { return safe_ref_stress_run(); }
#endif
