/*
 * test_registry.c - drip_registry: add/close by id, double close, foreach
 * with close-in-walk and stop, close_all order, forget, allocation failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include "drip/registry.h"
#include "test_alloc.h"

struct log {
    int n;
    uintptr_t closed[128];
    drip_registry *reenter;
};

static void on_close(void *obj, void *arg)
{
    struct log *l = arg;
    l->closed[l->n++] = (uintptr_t)obj;
    if (l->reenter)
        (void)drip_registry_count(l->reenter);   /* unlocked: must not deadlock */
}

#define O(x) ((void *)(uintptr_t)(x))

static void test_basic(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct log l = { 0 };
    drip_registry *r = drip_registry_create(&t.a);
    l.reenter = r;
    drip_handle_id id[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(drip_registry_add(r, O(i + 1), on_close, &l, &id[i]), 0);
    assert_int_equal(id[0], 1);
    assert_int_equal(id[3], 4);
    assert_int_equal(drip_registry_count(r), 4);
    assert_int_equal(drip_registry_close(r, id[1]), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.closed[0], 2);
    assert_int_equal(drip_registry_close(r, id[1]), -ENOENT);   /* double close */
    assert_int_equal(drip_registry_close(r, 999), -ENOENT);
    assert_int_equal(l.n, 1);
    void *obj;
    assert_int_equal(drip_registry_forget(r, id[2], &obj), 0);
    assert_ptr_equal(obj, O(3));
    assert_int_equal(l.n, 1);                                   /* no close */
    assert_int_equal(drip_registry_count(r), 2);
    drip_handle_id id5;
    assert_int_equal(drip_registry_add(r, O(5), NULL, NULL, &id5), 0);
    assert_int_equal(id5, 5);                                   /* never reused */
    assert_int_equal(drip_registry_close_all(r), 3);            /* 1, 4, 5 */
    assert_int_equal(l.n, 3);
    assert_int_equal(l.closed[1], 1);
    assert_int_equal(l.closed[2], 4);
    assert_int_equal(drip_registry_count(r), 0);
    assert_int_equal(drip_registry_close(r, id[0]), -ENOENT);
    assert_int_equal(drip_registry_add(r, O(6), on_close, &l, &id5), 0);
    drip_registry_destroy(r);                                   /* closes 6 */
    assert_int_equal(l.n, 4);
    assert_int_equal(l.closed[3], 6);
    assert_int_equal(talloc_live(&t), 0);
}

static int visit(drip_handle_id id, void *obj, void *arg)
{
    uintptr_t v = (uintptr_t)obj;
    int *seen = arg;
    (*seen)++;
    if (v == 7)
        return DRIP_REGISTRY_STOP;
    return v % 2 == 0 ? DRIP_REGISTRY_CLOSE : 0;   /* close even "idle" ones */
}

static void test_foreach(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct log l = { 0 };
    drip_registry *r = drip_registry_create(&t.a);
    drip_handle_id id;
    for (int i = 1; i <= 8; i++)
        assert_int_equal(drip_registry_add(r, O(i), on_close, &l, &id), 0);
    int seen = 0;
    assert_int_equal(drip_registry_foreach(r, visit, &seen), 7);   /* stops at 7 */
    assert_int_equal(seen, 7);
    assert_int_equal(l.n, 3);                                      /* 2, 4, 6 */
    assert_int_equal(l.closed[0], 2);
    assert_int_equal(l.closed[2], 6);
    assert_int_equal(drip_registry_count(r), 5);
    assert_int_equal(drip_registry_foreach(NULL, visit, &seen), 0);
    drip_registry_destroy(r);
    assert_int_equal(l.n, 8);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_fail(void **state)
{
    struct talloc t;
    talloc_init(&t);
    struct log l = { 0 };
    for (long n = 1;; n++) {
        talloc_fail_nth(&t, n);
        errno = 0;
        drip_registry *r = drip_registry_create(&t.a);
        talloc_fail_nth(&t, 0);
        if (r) {
            assert_int_equal(n, 3);   /* registry + bucket array */
            drip_registry_destroy(r);
            break;
        }
        assert_int_equal(errno, ENOMEM);
        assert_int_equal(talloc_live(&t), 0);
    }
    drip_registry *r = drip_registry_create(&t.a);
    drip_handle_id id = 0;
    for (int i = 0; i < 64; i++)     /* fill the 64 initial buckets */
        assert_int_equal(drip_registry_add(r, O(i), on_close, &l, &id), 0);
    for (long n = 1;; n++) {
        long live = talloc_live(&t);
        talloc_fail_nth(&t, n);
        drip_handle_id got = 0;
        int rc = drip_registry_add(r, O(100), on_close, &l, &got);
        talloc_fail_nth(&t, 0);
        if (n == 1) {
            assert_int_equal(rc, -ENOMEM);
            assert_int_equal(got, 0);
            assert_int_equal(drip_registry_count(r), 64);
            assert_int_equal(talloc_live(&t), live);
            continue;
        }
        assert_int_equal(n, 2);       /* failed grow absorbed */
        assert_int_equal(rc, 0);
        assert_int_equal(got, 65);    /* the failed add consumed no id */
        break;
    }
    for (drip_handle_id i = 1; i <= 65; i++)
        assert_int_equal(drip_registry_close(r, i), 0);
    assert_int_equal(l.n, 65);
    assert_int_equal(drip_registry_add(NULL, NULL, NULL, NULL, &id), -EINVAL);
    assert_int_equal(drip_registry_add(r, NULL, NULL, NULL, NULL), -EINVAL);
    drip_registry_destroy(r);
    drip_registry_destroy(NULL);
    assert_int_equal(talloc_live(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_fail),
    };
    return cmocka_run_group_tests_name("safe_registry", tests, NULL, NULL);
}
