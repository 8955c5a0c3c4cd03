/*
 * test_group.c - drip_group: start/shutdown/join, stragglers reported and
 * still reclaimed, all-or-nothing start under allocation failure, parent
 * cancellation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <unistd.h>
#include "drip/group.h"
#include "test_alloc.h"

#define MS 1000000ULL
#define GENEROUS (10000 * MS)

struct shared {
    atomic_int ran;          /* workers that entered fn */
    atomic_int mask;         /* bit per index */
    atomic_int canceled;     /* workers that saw -ECANCELED */
    atomic_int release;      /* straggler gate */
    atomic_int finished;     /* stragglers that returned */
};

static void polite(drip_ctx *ctx, unsigned idx, void *arg)
{
    struct shared *s = arg;
    atomic_fetch_add(&s->ran, 1);
    atomic_fetch_or(&s->mask, 1 << idx);
    if (drip_ctx_wait(ctx, DRIP_CTX_FOREVER) == -ECANCELED)
        atomic_fetch_add(&s->canceled, 1);
}

/* Ignores its context until the test opens the gate. */
static void stubborn(drip_ctx *ctx, unsigned idx, void *arg)
{
    struct shared *s = arg;
    atomic_fetch_add(&s->ran, 1);
    while (!atomic_load(&s->release))
        usleep(1000);
    atomic_fetch_add(&s->finished, 1);
}

#define WAIT_UNTIL(cond) \
    do { for (int i_ = 0; i_ < 20000 && !(cond); i_++) usleep(1000); } while (0)

static void test_start_shutdown(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct shared s = { 0 };
    drip_group *g = drip_group_create(NULL, &t.a);
    assert_non_null(g);
    assert_int_equal(drip_group_start(g, 4, polite, &s), 0);
    assert_int_equal(drip_group_running(g), 4);
    assert_int_equal(drip_group_shutdown(g, GENEROUS), 0);
    assert_int_equal(atomic_load(&s.ran), 4);
    assert_int_equal(atomic_load(&s.mask), 0xf);
    assert_int_equal(atomic_load(&s.canceled), 4);
    assert_int_equal(drip_group_running(g), 0);
    assert_int_equal(drip_group_shutdown(g, 0), 0);   /* idempotent */
    drip_group_destroy(g);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_parent_cancel(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct shared s = { 0 };
    drip_ctx *parent = drip_ctx_new(&t.a);
    drip_group *g = drip_group_create(parent, &t.a);
    assert_int_equal(drip_group_start(g, 2, polite, &s), 0);
    assert_int_equal(drip_group_start(g, 1, polite, &s), 0);   /* index 0 again */
    drip_ctx_cancel(parent);
    WAIT_UNTIL(atomic_load(&s.canceled) == 3);
    assert_int_equal(atomic_load(&s.canceled), 3);
    assert_int_equal(atomic_load(&s.mask), 0x3);
    assert_int_equal(drip_group_shutdown(g, GENEROUS), 0);
    drip_group_destroy(g);
    drip_ctx_release(parent);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_stragglers(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct shared s = { 0 };
    drip_group *g = drip_group_create(NULL, &t.a);
    assert_int_equal(drip_group_start(g, 3, polite, &s), 0);
    assert_int_equal(drip_group_start(g, 2, stubborn, &s), 0);
    WAIT_UNTIL(atomic_load(&s.ran) == 5);
    /* The polite three stop; the stubborn two are reported, not leaked. */
    int left = drip_group_shutdown(g, 1 * MS);
    assert_true(left >= 2);
    WAIT_UNTIL(drip_group_running(g) == 2);
    left = drip_group_shutdown(g, 1 * MS);          /* join the polite ones */
    assert_int_equal(left, 2);
    assert_int_equal(atomic_load(&s.canceled), 3);
    assert_int_equal(drip_group_running(g), 2);
    atomic_store(&s.release, 1);
    assert_int_equal(drip_group_shutdown(g, GENEROUS), 0);
    assert_int_equal(atomic_load(&s.finished), 2);
    drip_group_destroy(g);
    assert_int_equal(talloc_live(&t), 0);
}

/* Destroying with a straggler detaches it; its memory is freed when it
 * returns. */
static void test_destroy_detaches(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct shared s = { 0 };
    drip_group *g = drip_group_create(NULL, &t.a);
    assert_int_equal(drip_group_start(g, 1, stubborn, &s), 0);
    WAIT_UNTIL(atomic_load(&s.ran) == 1);
    assert_int_equal(drip_group_shutdown(g, 1 * MS), 1);
    drip_group_destroy(g);
    assert_true(talloc_live(&t) > 0);   /* held by the straggler */
    atomic_store(&s.release, 1);
    WAIT_UNTIL(talloc_live(&t) == 0);
    assert_int_equal(talloc_live(&t), 0);
    assert_int_equal(atomic_load(&s.finished), 1);
}

static void test_fail(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct shared s = { 0 };
    for (long n = 1;; n++) {     /* group record, then its root ctx */
        talloc_fail_nth(&t, n);
        errno = 0;
        drip_group *g = drip_group_create(NULL, &t.a);
        talloc_fail_nth(&t, 0);
        if (g) {
            assert_int_equal(n, 3);
            drip_group_destroy(g);
            break;
        }
        assert_int_equal(errno, ENOMEM);
        assert_int_equal(talloc_live(&t), 0);
    }
    drip_group *g = drip_group_create(NULL, &t.a);
    long base = talloc_live(&t);
    for (long n = 1;; n++) {     /* one record per worker, all before any thread */
        talloc_fail_nth(&t, n);
        int rc = drip_group_start(g, 3, polite, &s);
        talloc_fail_nth(&t, 0);
        if (rc == 0) {
            assert_int_equal(n, 4);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_int_equal(drip_group_running(g), 0);
        assert_int_equal(atomic_load(&s.ran), 0);
        assert_int_equal(talloc_live(&t), base);
    }
    assert_int_equal(drip_group_start(NULL, 1, polite, &s), -EINVAL);
    assert_int_equal(drip_group_start(g, 0, polite, &s), -EINVAL);
    assert_int_equal(drip_group_start(g, 1, NULL, &s), -EINVAL);
    assert_int_equal(drip_group_shutdown(NULL, 0), -EINVAL);
    assert_int_equal(drip_group_shutdown(g, GENEROUS), 0);
    assert_int_equal(atomic_load(&s.ran), 3);
    drip_group_destroy(g);
    drip_group_destroy(NULL);
    assert_int_equal(talloc_live(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_shutdown),
        cmocka_unit_test(test_parent_cancel),
        cmocka_unit_test(test_stragglers),
        cmocka_unit_test(test_destroy_detaches),
        cmocka_unit_test(test_fail),
    };
    return cmocka_run_group_tests_name("safe_group", tests, NULL, NULL);
}
