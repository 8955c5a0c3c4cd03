/*
 * test_ref.c - drip_ref / drip_weak: destructor runs exactly once at the last
 * strong release, weak refs do not keep the object alive, the control block
 * lives until the last weak ref, allocation failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include "drip/ref.h"
#include "test_alloc.h"

static int dtor_calls;
static void *dtor_obj;

static void dtor(void *obj, void *arg)
{
    dtor_calls++;
    dtor_obj = obj;
    (*(int *)arg)++;
}

static void test_strong(void **state)
{
    struct talloc t;
    talloc_init(&t);
    int obj = 42, n = 0;
    dtor_calls = 0;
    drip_ref *r = drip_ref_create(&obj, dtor, &n, &t.a);
    assert_non_null(r);
    assert_ptr_equal(drip_ref_obj(r), &obj);
    assert_int_equal(drip_ref_count(r), 1);
    assert_ptr_equal(drip_ref_retain(r), r);
    assert_int_equal(drip_ref_count(r), 2);
    drip_ref_release(r);
    assert_int_equal(dtor_calls, 0);
    drip_ref_release(r);
    assert_int_equal(dtor_calls, 1);
    assert_ptr_equal(dtor_obj, &obj);
    assert_int_equal(n, 1);
    assert_int_equal(talloc_live(&t), 0);   /* no weak refs: block freed too */
}

static void test_weak(void **state)
{
    struct talloc t;
    talloc_init(&t);
    int obj = 1, n = 0;
    dtor_calls = 0;
    drip_ref *r = drip_ref_create(&obj, dtor, &n, &t.a);
    drip_weak *w = drip_weak_create(r);
    drip_weak *w2 = drip_weak_retain(w);
    assert_ptr_equal(w2, w);
    drip_ref *s = drip_weak_get(w);
    assert_ptr_equal(s, r);
    assert_int_equal(drip_ref_count(r), 2);
    drip_ref_release(s);
    drip_ref_release(r);                    /* last strong: object gone */
    assert_int_equal(dtor_calls, 1);
    assert_int_equal(talloc_live(&t), 1);   /* block kept for the weak refs */
    assert_null(drip_weak_get(w));          /* and never resurrected */
    assert_null(drip_weak_get(w2));
    assert_int_equal(dtor_calls, 1);
    drip_weak_release(w);
    assert_int_equal(talloc_live(&t), 1);
    drip_weak_release(w2);
    assert_int_equal(talloc_live(&t), 0);
}

/* A weak ref outliving nothing: weak released before the strong one. */
static void test_weak_first(void **state)
{
    struct talloc t;
    talloc_init(&t);
    int obj = 1, n = 0;
    drip_ref *r = drip_ref_create(&obj, dtor, &n, &t.a);
    drip_weak *w = drip_weak_create(r);
    drip_weak_release(w);
    assert_int_equal(n, 0);
    assert_int_equal(talloc_live(&t), 1);
    drip_ref_release(r);
    assert_int_equal(n, 1);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_null_and_fail(void **state)
{
    drip_ref_release(NULL);
    drip_weak_release(NULL);
    assert_null(drip_ref_retain(NULL));
    assert_null(drip_weak_create(NULL));
    assert_null(drip_weak_get(NULL));
    assert_null(drip_ref_obj(NULL));
    assert_int_equal(drip_ref_count(NULL), 0);
    /* NULL dtor and libc allocator */
    drip_ref *r = drip_ref_create(NULL, NULL, NULL, NULL);
    assert_non_null(r);
    drip_ref_release(r);

    struct talloc t;
    talloc_init(&t);
    int obj = 0, n = 0;
    for (long k = 1;; k++) {
        talloc_fail_nth(&t, k);
        errno = 0;
        r = drip_ref_create(&obj, dtor, &n, &t.a);
        talloc_fail_nth(&t, 0);
        if (r) {
            assert_int_equal(k, 2);
            break;
        }
        assert_int_equal(errno, ENOMEM);
        assert_int_equal(n, 0);             /* obj untouched */
        assert_int_equal(talloc_live(&t), 0);
    }
    drip_ref_release(r);
    assert_int_equal(n, 1);
    assert_int_equal(talloc_live(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strong),
        cmocka_unit_test(test_weak),
        cmocka_unit_test(test_weak_first),
        cmocka_unit_test(test_null_and_fail),
    };
    return cmocka_run_group_tests_name("safe_ref", tests, NULL, NULL);
}
