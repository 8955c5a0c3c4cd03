/*
 * test_ttlmap.c - drip_ttlmap: expiry on a fake clock, replace/take/touch,
 * the cleanup thread (removal and join at close), failure of every
 * allocation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "drip/ttlmap.h"
#include "test_alloc.h"

struct log {
    atomic_int n;
    uintptr_t vals[64];
    atomic_int in_free;      /* slow-free test: a free_value is running */
    int slow;
};

static void free_value(void *value, void *arg)
{
    struct log *l = arg;
    if (l->slow) {
        atomic_store(&l->in_free, 1);
        usleep(100 * 1000);
        atomic_store(&l->in_free, 0);
    }
    int i = atomic_fetch_add(&l->n, 1);
    if (i < 64)
        l->vals[i] = (uintptr_t)value;
}

#define V(x) ((void *)(uintptr_t)(x))
#define SET(m, k, v, ttl) drip_ttlmap_set((m), (k), strlen(k), V(v), (ttl))

static drip_ttlmap *mk(struct log *l, struct talloc *t, struct fake_clock *fc,
                       uint64_t ttl, uint64_t interval)
{
    drip_ttlmap_options o = { .ttl_ns = ttl, .sweep_interval_ns = interval,
                              .free_value = free_value, .cb_arg = l, .alloc = &t->a };
    if (fc) {
        o.clock = fake_now;
        o.clock_arg = fc;
    }
    drip_ttlmap *m = drip_ttlmap_create(&o);
    assert_non_null(m);
    return m;
}

static void test_expiry(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    struct fake_clock fc = { 0 };
    drip_ttlmap *m = mk(&l, &t, &fc, 100, 0);
    void *v;
    assert_int_equal(SET(m, "a", 1, 0), 0);     /* expires 100 */
    fc.ns = 10;
    assert_int_equal(SET(m, "b", 2, 0), 0);     /* expires 110 */
    assert_int_equal(SET(m, "c", 3, 5), 0);     /* expires 15: sorted first */
    assert_int_equal(drip_ttlmap_count(m), 3);
    fc.ns = 14;
    assert_int_equal(drip_ttlmap_sweep(m), 0);
    fc.ns = 15;
    assert_int_equal(drip_ttlmap_sweep(m), 1);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.vals[0], 3);
    fc.ns = 100;
    assert_int_equal(drip_ttlmap_get(m, "a", 1, &v), -ENOENT);   /* removed here */
    assert_int_equal(l.n, 2);
    assert_int_equal(l.vals[1], 1);
    assert_int_equal(drip_ttlmap_get(m, "b", 1, &v), 0);
    assert_int_equal((uintptr_t)v, 2);
    assert_int_equal(drip_ttlmap_count(m), 1);
    fc.ns = 110;
    assert_int_equal(drip_ttlmap_sweep(m), 1);
    assert_int_equal(drip_ttlmap_count(m), 0);
    drip_ttlmap_close(m);
    assert_int_equal(l.n, 3);
    assert_int_equal(talloc_live(&t), 0);
}

/* Entries with the same expiry expire in the order they were set (ties go after existing
 * entries), whether set with it or touched to it. */
static void test_equal_expiries(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    struct fake_clock fc = { 0 };
    drip_ttlmap *m = mk(&l, &t, &fc, 100, 0);
    assert_int_equal(SET(m, "a", 1, 50), 0);
    assert_int_equal(SET(m, "b", 2, 0), 0);     /* expires 100 */
    assert_int_equal(SET(m, "c", 3, 0), 0);     /* expires 100, after b */
    assert_int_equal(SET(m, "d", 4, 100), 0);   /* expires 100, after c */
    assert_int_equal(drip_ttlmap_touch(m, "a", 1, 100), 0);   /* expires 100, after d */
    fc.ns = 100;
    assert_int_equal(drip_ttlmap_sweep(m), 4);
    /* expiry order b, c, d, a; free_value sees them last buried first (the graveyard is a stack,
     * which ttlmap's flush does not reverse, unlike lru's) */
    assert_int_equal(l.n, 4);
    assert_int_equal(l.vals[0], 1);
    assert_int_equal(l.vals[1], 4);
    assert_int_equal(l.vals[2], 3);
    assert_int_equal(l.vals[3], 2);
    drip_ttlmap_close(m);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_replace_take_touch(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    struct fake_clock fc = { 0 };
    drip_ttlmap *m = mk(&l, &t, &fc, 100, 0);
    void *v;
    assert_int_equal(SET(m, "k", 1, 0), 0);
    assert_int_equal(SET(m, "k", 2, 0), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.vals[0], 1);
    assert_int_equal(drip_ttlmap_take(m, "k", 1, &v), 0);
    assert_int_equal((uintptr_t)v, 2);
    assert_int_equal(l.n, 1);                   /* take does not free */
    assert_int_equal(drip_ttlmap_take(m, "k", 1, &v), -ENOENT);
    assert_int_equal(SET(m, "t", 3, 0), 0);     /* expires 100 */
    assert_int_equal(SET(m, "u", 4, 0), 0);     /* expires 100 */
    fc.ns = 90;
    assert_int_equal(drip_ttlmap_touch(m, "t", 1, 0), 0);   /* now 190 */
    fc.ns = 100;
    assert_int_equal(drip_ttlmap_sweep(m), 1);  /* only u */
    assert_int_equal(l.vals[1], 4);
    assert_int_equal(drip_ttlmap_get(m, "t", 1, &v), 0);
    assert_int_equal(drip_ttlmap_touch(m, "zz", 2, 0), -ENOENT);
    assert_int_equal(drip_ttlmap_delete(m, "t", 1), 0);
    assert_int_equal(l.vals[2], 3);
    assert_int_equal(drip_ttlmap_delete(m, "t", 1), -ENOENT);
    assert_int_equal(SET(m, "left", 5, 0), 0);
    drip_ttlmap_close(m);                       /* frees "left" */
    assert_int_equal(l.n, 4);
    assert_int_equal(l.vals[3], 5);
    assert_int_equal(talloc_live(&t), 0);
}

/* Wait (generously) for a condition; the bound only guards against hangs. */
#define WAIT_UNTIL(cond) \
    do { for (int i_ = 0; i_ < 20000 && !(cond); i_++) usleep(1000); } while (0)

static void test_cleanup_thread(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    /* Real clock: 1 ms TTL, sweeps every 2 ms. */
    drip_ttlmap *m = mk(&l, &t, NULL, 1000000, 2000000);
    char k[8];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(SET(m, k, i, 0), 0);
    }
    WAIT_UNTIL(atomic_load(&l.n) == 10);
    assert_int_equal(atomic_load(&l.n), 10);
    assert_int_equal(drip_ttlmap_count(m), 0);
    drip_ttlmap_close(m);
    assert_int_equal(talloc_live(&t), 0);
}

/* close must not return while the cleanup thread is still inside a
 * free_value: that is the pthread_join guarantee. */
static void test_close_joins(void **state)
{
    struct log l = { .slow = 1 };
    struct talloc t;
    talloc_init(&t);
    drip_ttlmap *m = mk(&l, &t, NULL, 1000, 1000000);
    assert_int_equal(SET(m, "slow", 1, 0), 0);
    WAIT_UNTIL(atomic_load(&l.in_free) == 1);
    assert_int_equal(atomic_load(&l.in_free), 1);
    drip_ttlmap_close(m);
    assert_int_equal(atomic_load(&l.in_free), 0);
    assert_int_equal(atomic_load(&l.n), 1);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_args(void **state)
{
    drip_ttlmap_options o = { 0 };
    errno = 0;
    assert_null(drip_ttlmap_create(&o));
    assert_int_equal(errno, EINVAL);
    assert_null(drip_ttlmap_create(NULL));
    drip_ttlmap_close(NULL);
    void *v;
    assert_int_equal(drip_ttlmap_set(NULL, "a", 1, NULL, 0), -EINVAL);
    assert_int_equal(drip_ttlmap_get(NULL, "a", 1, &v), -EINVAL);
    assert_int_equal(drip_ttlmap_sweep(NULL), 0);
    o.ttl_ns = 1000000000;
    drip_ttlmap *m = drip_ttlmap_create(&o);
    assert_non_null(m);
    assert_int_equal(drip_ttlmap_set(m, NULL, 0, NULL, 0), -EINVAL);
    drip_ttlmap_close(m);
}

static void test_fail_create(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    drip_ttlmap_options o = { .ttl_ns = 1000, .sweep_interval_ns = 1000000,
                              .free_value = free_value, .cb_arg = &l, .alloc = &t.a };
    for (long n = 1;; n++) {
        talloc_fail_nth(&t, n);
        errno = 0;
        drip_ttlmap *m = drip_ttlmap_create(&o);
        talloc_fail_nth(&t, 0);
        if (m) {
            assert_int_equal(n, 3);   /* map + bucket array */
            drip_ttlmap_close(m);
            break;
        }
        assert_int_equal(errno, ENOMEM);
        assert_int_equal(talloc_live(&t), 0);
    }
    assert_int_equal(talloc_live(&t), 0);
}

static void test_fail_set(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    struct fake_clock fc = { 0 };
    drip_ttlmap *m = mk(&l, &t, &fc, 100, 0);
    char k[8];
    for (int i = 0; i < 64; i++) {     /* fills the 64 initial buckets */
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(SET(m, k, i, 0), 0);
    }
    for (long n = 1;; n++) {
        long live = talloc_live(&t);
        talloc_fail_nth(&t, n);
        int rc = SET(m, "new", 99, 0);
        talloc_fail_nth(&t, 0);
        if (n == 1) {
            assert_int_equal(rc, -ENOMEM);
            assert_int_equal(drip_ttlmap_count(m), 64);
            assert_int_equal(talloc_live(&t), live);
            continue;
        }
        assert_int_equal(n, 2);       /* the failed grow is absorbed */
        assert_int_equal(rc, 0);
        assert_int_equal(talloc_live(&t), live + 1);
        break;
    }
    void *v;
    for (int i = 0; i < 64; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(drip_ttlmap_get(m, k, strlen(k), &v), 0);
        assert_int_equal((uintptr_t)v, i);
    }
    assert_int_equal(drip_ttlmap_get(m, "new", 3, &v), 0);
    assert_int_equal(l.n, 0);
    drip_ttlmap_close(m);
    assert_int_equal(l.n, 65);
    assert_int_equal(talloc_live(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_equal_expiries),
        cmocka_unit_test(test_replace_take_touch),
        cmocka_unit_test(test_cleanup_thread),
        cmocka_unit_test(test_close_joins),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_fail_create),
        cmocka_unit_test(test_fail_set),
    };
    return cmocka_run_group_tests_name("safe_ttlmap", tests, NULL, NULL);
}
