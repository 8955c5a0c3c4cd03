/*
 * test_group_stress.c - repeated start/shutdown cycles of worker groups whose
 * workers block in drip_ctx_wait or poll drip_ctx_err, with a controller
 * thread cancelling the shared parent at random points.  Every cycle must
 * join all workers and free everything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include "drip/group.h"
#include "test_alloc.h"

#define CYCLES 2000
#define GENEROUS (10ULL * 1000000000ULL)

static atomic_long work;

static void waiter(drip_ctx *ctx, unsigned idx, void *arg)
{
    int e = drip_ctx_wait(ctx, DRIP_CTX_FOREVER);
    WORKER_CHECK(e == -ECANCELED);
    atomic_fetch_add(&work, 1);
}

static void poller(drip_ctx *ctx, unsigned idx, void *arg)
{
    while (!drip_ctx_done(ctx))
        sched_yield();
    atomic_fetch_add(&work, 1);
}

static void stress(void **state)
{
    struct talloc t;
    talloc_init(&t);
    uint64_t seed = 777, stop = mono_ns() + STRESS_BUDGET_NS;
    long expected = 0;
    for (int cyc = 0; cyc < CYCLES && mono_ns() < stop; cyc++) {
        drip_ctx *parent = drip_ctx_new(&t.a);
        drip_group *g = drip_group_create(parent, &t.a);
        assert_non_null(g);
        uint64_t r = xorshift64(&seed);
        unsigned n1 = 1 + r % 3, n2 = 1 + (r >> 8) % 2;
        assert_int_equal(drip_group_start(g, n1, waiter, NULL), 0);
        assert_int_equal(drip_group_start(g, n2, poller, NULL), 0);
        expected += n1 + n2;
        if ((r >> 16) & 1)
            drip_ctx_cancel(parent);   /* from above, racing the start */
        assert_int_equal(drip_group_shutdown(g, GENEROUS), 0);
        WORKER_CHECKS_PASSED();
        drip_group_destroy(g);
        drip_ctx_release(parent);
        assert_int_equal(talloc_live(&t), 0);
    }
    assert_int_equal(atomic_load(&work), expected);
}

int safe_group_stress_run(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(stress) };
    return cmocka_run_group_tests_name("safe_group_stress", tests, NULL, NULL);
}

#ifndef SAFE_STRESS_NO_MAIN
int main(void) { return safe_group_stress_run(); }
#endif
