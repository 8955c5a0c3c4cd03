/*
 * test_ctx_stress.c - threads grow, wait on, cancel and release random
 * subtrees of one context tree while others cancel from above.  At the end
 * the root is cancelled, everything is done, and every node is freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include "drip/ctx.h"
#include "test_alloc.h"

#define THREADS 4
#define ITERS 20000
#define SLOTS 16

struct targ {
    drip_ctx *root;
    uint64_t seed, stop_at;
};

static void *churn(void *p)
{
    struct targ *a = p;
    drip_ctx *slot[SLOTS] = { 0 };   /* this thread's references */
    for (int i = 0; i < ITERS; i++) {
        if ((i & 255) == 0 && mono_ns() > a->stop_at)
            break;
        uint64_t r = xorshift64(&a->seed);
        int k = (int)(r % SLOTS);
        drip_ctx *c = slot[k];
        switch ((r >> 8) % 8) {
        case 0: case 1: {           /* new child of the root or of a sibling */
            int pk = (int)((r >> 16) % SLOTS);
            drip_ctx *parent = slot[pk] && pk != k ? slot[pk] : a->root;
            drip_ctx *n = (r >> 24) & 1 ? drip_ctx_with_cancel(parent)
                                        : drip_ctx_with_timeout(parent, (r >> 32) % 200000);
            WORKER_CHECK(n != NULL);
            if (!n)
                break;
            drip_ctx_release(slot[k]);
            slot[k] = n;
            break;
        }
        case 2:
            drip_ctx_cancel(c);
            break;
        case 3:
            if (c) {
                int e = drip_ctx_wait(c, 20000);
                WORKER_CHECK(e == 0 || e == -ECANCELED || e == -ETIMEDOUT);
            }
            break;
        case 4:
            if (c && (r >> 20) % 16 == 0) {
                int fd = drip_ctx_fd(c);
                WORKER_CHECK(fd >= 0);
                struct pollfd pf = { .fd = fd, .events = POLLIN };
                int ready = poll(&pf, 1, 0);
                int e = drip_ctx_err(c);
                /* readable implies done (the reverse may lag a timerfd) */
                WORKER_CHECK(ready == 0 || e != 0);
            }
            break;
        case 5:
            drip_ctx_release(c);
            slot[k] = NULL;
            break;
        default: {
            int e = drip_ctx_err(c ? c : a->root);
            WORKER_CHECK(e == 0 || e == -ECANCELED || e == -ETIMEDOUT);
        }
        }
    }
    for (int k = 0; k < SLOTS; k++)
        drip_ctx_release(slot[k]);
    return NULL;
}

static void stress(void **state)
{
    struct talloc t;
    talloc_init(&t);
    drip_ctx *root = drip_ctx_new(&t.a);
    assert_non_null(root);
    pthread_t th[THREADS];
    struct targ args[THREADS];
    uint64_t stop = mono_ns() + STRESS_BUDGET_NS;
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct targ){ root, 0x853c49e6748fea9bULL * (i + 1), stop };
        assert_int_equal(pthread_create(&th[i], NULL, churn, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    WORKER_CHECKS_PASSED();
    drip_ctx_cancel(root);
    assert_int_equal(drip_ctx_err(root), -ECANCELED);
    drip_ctx_release(root);
    assert_int_equal(talloc_live(&t), 0);
}

int safe_ctx_stress_run(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(stress) };
    return cmocka_run_group_tests_name("safe_ctx_stress", tests, NULL, NULL);
}

#ifndef SAFE_STRESS_NO_MAIN
int main(void) { return safe_ctx_stress_run(); }
#endif
