/*
 * test_lru.c - exact behaviour of drip_lru: eviction order, byte caps,
 * replacement, TTL on a fake clock, callbacks, and failure of every
 * allocation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "drip/lru.h"
#include "test_alloc.h"

/* Every on_evict call, in order. */
struct log {
    int n;
    char keys[64][16];
    drip_lru_reason why[64];
    void *vals[64];
    drip_lru *reenter;   /* if set, on_evict calls drip_lru_count on it */
    int retains;
};

static void on_evict(const void *key, size_t klen, void *value, size_t bytes,
                     drip_lru_reason why, void *arg)
{
    struct log *l = arg;
    memcpy(l->keys[l->n], key, klen);
    l->keys[l->n][klen] = '\0';
    l->why[l->n] = why;
    l->vals[l->n] = value;
    l->n++;
    if (l->reenter)
        (void)drip_lru_count(l->reenter);   /* must not deadlock */
}

static void on_retain(void *value, void *arg) { ((struct log *)arg)->retains++; }

#define PUT(c, k, v, b, ttl) drip_lru_put((c), (k), strlen(k), (void *)(uintptr_t)(v), (b), (ttl))

static drip_lru *mk(struct log *l, struct talloc *t, size_t ents, size_t bytes,
                    bool ts, struct fake_clock *fc)
{
    drip_lru_options o = { .max_entries = ents, .max_bytes = bytes, .thread_safe = ts,
                           .on_evict = on_evict, .retain = on_retain, .cb_arg = l,
                           .alloc = &t->a };
    if (fc) {
        o.clock = fake_now;
        o.clock_arg = fc;
    }
    drip_lru *c = drip_lru_create(&o);
    assert_non_null(c);
    return c;
}

static void test_entry_cap_order(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    drip_lru *c = mk(&l, &t, 3, 0, false, NULL);
    assert_int_equal(PUT(c, "a", 1, 1, 0), 0);
    assert_int_equal(PUT(c, "b", 2, 1, 0), 0);
    assert_int_equal(PUT(c, "c", 3, 1, 0), 0);
    void *v;
    assert_int_equal(drip_lru_get(c, "a", 1, &v), 0);   /* order now a c b */
    assert_int_equal((uintptr_t)v, 1);
    assert_int_equal(l.retains, 1);
    assert_int_equal(PUT(c, "d", 4, 1, 0), 0);          /* evicts b */
    assert_int_equal(PUT(c, "e", 5, 1, 0), 0);          /* evicts c */
    assert_int_equal(l.n, 2);
    assert_string_equal(l.keys[0], "b");
    assert_string_equal(l.keys[1], "c");
    assert_int_equal(l.why[0], DRIP_LRU_EVICTED);
    assert_int_equal((uintptr_t)l.vals[1], 3);
    assert_int_equal(drip_lru_count(c), 3);
    assert_int_equal(drip_lru_get(c, "b", 1, &v), -ENOENT);
    assert_int_equal(l.retains, 1);
    drip_lru_destroy(c);
    /* destroy hands back a, d, e least recent first */
    assert_int_equal(l.n, 5);
    assert_string_equal(l.keys[2], "a");
    assert_string_equal(l.keys[3], "d");
    assert_string_equal(l.keys[4], "e");
    assert_int_equal(l.why[4], DRIP_LRU_DESTROYED);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_byte_cap(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    drip_lru *c = mk(&l, &t, 0, 10, false, NULL);
    assert_int_equal(PUT(c, "a", 1, 4, 0), 0);
    assert_int_equal(PUT(c, "b", 2, 4, 0), 0);
    assert_int_equal(drip_lru_bytes(c), 8);
    assert_int_equal(PUT(c, "c", 3, 4, 0), 0);   /* 12 > 10: a goes */
    assert_int_equal(l.n, 1);
    assert_string_equal(l.keys[0], "a");
    assert_int_equal(drip_lru_bytes(c), 8);
    long before = t.calls;
    assert_int_equal(PUT(c, "big", 9, 11, 0), -E2BIG);
    assert_int_equal(t.calls, before);          /* rejected before allocating */
    assert_int_equal(PUT(c, "d", 4, 10, 0), 0); /* needs everything: b, c go */
    assert_int_equal(l.n, 3);
    assert_string_equal(l.keys[1], "b");
    assert_string_equal(l.keys[2], "c");
    assert_int_equal(drip_lru_count(c), 1);
    assert_int_equal(drip_lru_bytes(c), 10);
    drip_lru_destroy(c);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_replace_delete_clear(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    drip_lru *c = mk(&l, &t, 4, 100, true, NULL);
    l.reenter = c;
    assert_int_equal(PUT(c, "k", 1, 5, 0), 0);
    assert_int_equal(PUT(c, "k", 2, 7, 0), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.why[0], DRIP_LRU_REPLACED);
    assert_int_equal((uintptr_t)l.vals[0], 1);
    assert_int_equal(drip_lru_count(c), 1);
    assert_int_equal(drip_lru_bytes(c), 7);
    assert_int_equal(drip_lru_delete(c, "k", 1), 0);
    assert_int_equal(l.why[1], DRIP_LRU_DELETED);
    assert_int_equal(drip_lru_delete(c, "k", 1), -ENOENT);
    assert_int_equal(PUT(c, "x", 1, 1, 0), 0);
    assert_int_equal(PUT(c, "y", 2, 1, 0), 0);
    drip_lru_clear(c);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.why[3], DRIP_LRU_DESTROYED);
    assert_int_equal(drip_lru_count(c), 0);
    assert_int_equal(drip_lru_bytes(c), 0);
    /* binary keys with NUL bytes and the empty key are distinct keys */
    assert_int_equal(drip_lru_put(c, "a\0b", 3, NULL, 0, 0), 0);
    assert_int_equal(drip_lru_put(c, "a\0c", 3, NULL, 0, 0), 0);
    assert_int_equal(drip_lru_put(c, "", 0, NULL, 0, 0), 0);
    assert_int_equal(drip_lru_count(c), 3);
    drip_lru_destroy(c);
    assert_int_equal(l.n, 7);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_ttl(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    struct fake_clock fc = { 1000 };
    drip_lru *c = mk(&l, &t, 3, 0, false, &fc);
    void *v;
    assert_int_equal(PUT(c, "a", 1, 0, 100), 0);   /* expires at 1100 */
    assert_int_equal(PUT(c, "b", 2, 0, 0), 0);     /* never */
    assert_int_equal(PUT(c, "c", 3, 0, 50), 0);    /* expires at 1050 */
    fc.ns = 1049;
    assert_int_equal(drip_lru_get(c, "c", 1, &v), 0);
    fc.ns = 1050;
    assert_int_equal(drip_lru_get(c, "c", 1, &v), -ENOENT);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.why[0], DRIP_LRU_EXPIRED);
    assert_int_equal(drip_lru_count(c), 2);
    fc.ns = 1100;
    assert_int_equal(drip_lru_sweep(c), 1);        /* a */
    assert_string_equal(l.keys[1], "a");
    assert_int_equal(l.why[1], DRIP_LRU_EXPIRED);
    assert_int_equal(drip_lru_sweep(c), 0);
    /* an expired tail is reported as EXPIRED when capacity pushes it out */
    assert_int_equal(PUT(c, "d", 4, 0, 10), 0);    /* expires 1110; order d b */
    assert_int_equal(drip_lru_get(c, "b", 1, &v), 0); /* order b d */
    fc.ns = 2000;
    assert_int_equal(PUT(c, "e", 5, 0, 0), 0);
    assert_int_equal(PUT(c, "f", 6, 0, 0), 0);     /* over 3: tail d goes */
    assert_int_equal(l.n, 3);
    assert_string_equal(l.keys[2], "d");
    assert_int_equal(l.why[2], DRIP_LRU_EXPIRED);
    /* a huge TTL saturates instead of wrapping into the past */
    assert_int_equal(PUT(c, "g", 7, 0, UINT64_MAX), 0);
    assert_int_equal(drip_lru_get(c, "g", 1, &v), 0);
    drip_lru_destroy(c);
    assert_int_equal(talloc_live(&t), 0);
}

/* second_chance: a hit sets a bit; the tail gets a second pass if its bit is set. The two orders
 * differ when entries are hit in another order than they were inserted. */
static void test_second_chance(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    struct fake_clock fc = { 1000 };
    drip_lru_options o = { .max_entries = 2, .second_chance = true, .on_evict = on_evict, .retain = on_retain,
                           .cb_arg = &l, .alloc = &t.a, .clock = fake_now, .clock_arg = &fc };
    drip_lru *c = drip_lru_create(&o);
    assert_non_null(c);
    void *v;
    assert_int_equal(PUT(c, "a", 1, 1, 0), 0);
    assert_int_equal(PUT(c, "b", 2, 1, 0), 0);
    assert_int_equal(drip_lru_get(c, "b", 1, &v), 0);
    assert_int_equal(drip_lru_get(c, "a", 1, &v), 0);   /* exact LRU would now evict b */
    assert_int_equal((uintptr_t)v, 1);
    assert_int_equal(PUT(c, "c", 3, 1, 0), 0);          /* a and b passed over once, then a goes */
    assert_int_equal(l.n, 1);
    assert_string_equal(l.keys[0], "a");
    assert_int_equal(l.why[0], DRIP_LRU_EVICTED);
    assert_int_equal(PUT(c, "d", 4, 1, 0), 0);          /* b's bit was cleared: b goes, c stays */
    assert_int_equal(l.n, 2);
    assert_string_equal(l.keys[1], "b");
    assert_int_equal(drip_lru_get(c, "c", 1, &v), 0);
    assert_int_equal(drip_lru_get(c, "d", 1, &v), 0);
    assert_int_equal(l.retains, 4);
    /* every entry used: one full pass clears the bits, then the oldest goes */
    assert_int_equal(PUT(c, "e", 5, 1, 0), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.keys[2], "c");
    assert_int_equal(drip_lru_count(c), 2);
    /* an expired entry at the tail goes as EXPIRED even though it was used */
    assert_int_equal(PUT(c, "f", 6, 1, 10), 0);        /* evicts d (unused since its pass); expires 1010 */
    assert_string_equal(l.keys[3], "d");
    assert_int_equal(drip_lru_get(c, "f", 1, &v), 0);
    assert_int_equal(drip_lru_get(c, "e", 1, &v), 0);
    fc.ns = 2000;
    assert_int_equal(PUT(c, "g", 7, 1, 0), 0);          /* tail e is used: passed over; then f, expired */
    assert_int_equal(l.n, 5);
    assert_string_equal(l.keys[4], "f");
    assert_int_equal(l.why[4], DRIP_LRU_EXPIRED);
    assert_int_equal(drip_lru_count(c), 2);
    assert_int_equal(drip_lru_get(c, "e", 1, &v), 0);
    assert_int_equal(drip_lru_get(c, "g", 1, &v), 0);
    drip_lru_destroy(c);
    assert_int_equal(l.n, 7);   /* e and g handed back as DESTROYED */
    assert_int_equal(l.why[6], DRIP_LRU_DESTROYED);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_args(void **state)
{
    drip_lru_options o = { 0 };
    errno = 0;
    assert_null(drip_lru_create(&o));
    assert_int_equal(errno, EINVAL);
    assert_null(drip_lru_create(NULL));
    drip_lru_destroy(NULL);
    void *v;
    assert_int_equal(drip_lru_put(NULL, "a", 1, NULL, 0, 0), -EINVAL);
    assert_int_equal(drip_lru_get(NULL, "a", 1, &v), -EINVAL);
    assert_int_equal(drip_lru_delete(NULL, "a", 1), -EINVAL);
    o.max_entries = 1;   /* libc allocator, no callbacks */
    drip_lru *c = drip_lru_create(&o);
    assert_non_null(c);
    assert_int_equal(drip_lru_put(c, NULL, 0, NULL, 0, 0), -EINVAL);
    assert_int_equal(drip_lru_get(c, "a", 1, NULL), -EINVAL);
    drip_lru_destroy(c);
}

/* create makes exactly two allocations (cache, bucket array); failing either
 * returns NULL/ENOMEM and frees the other. */
static void test_fail_create(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    drip_lru_options o = { .max_entries = 8, .on_evict = on_evict, .cb_arg = &l, .alloc = &t.a };
    for (long n = 1;; n++) {
        talloc_fail_nth(&t, n);
        errno = 0;
        drip_lru *c = drip_lru_create(&o);
        talloc_fail_nth(&t, 0);
        if (c) {
            assert_int_equal(n, 3);
            drip_lru_destroy(c);
            break;
        }
        assert_int_equal(errno, ENOMEM);
        assert_int_equal(talloc_live(&t), 0);
    }
    assert_int_equal(talloc_live(&t), 0);
}

/* Fail the Nth allocation of a put into a full cache for every N: the first
 * (the entry) fails the put with nothing changed; the second (the bucket
 * array grow) is absorbed and the put succeeds. */
static void test_fail_put(void **state)
{
    struct log l = { 0 };
    struct talloc t;
    talloc_init(&t);
    drip_lru *c = mk(&l, &t, 8, 0, true, NULL);
    char k[8];
    for (int i = 0; i < 8; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(PUT(c, k, i, 1, 0), 0);
    }
    assert_int_equal(l.n, 0);
    for (long n = 1;; n++) {
        long live = talloc_live(&t);
        talloc_fail_nth(&t, n);
        int rc = PUT(c, "new", 99, 1, 0);
        talloc_fail_nth(&t, 0);
        if (n == 1) {
            assert_int_equal(rc, -ENOMEM);
            assert_int_equal(drip_lru_count(c), 8);
            assert_int_equal(l.n, 0);
            assert_int_equal(talloc_live(&t), live);
            void *v;
            assert_int_equal(drip_lru_get(c, "new", 3, &v), -ENOENT);
            continue;
        }
        assert_int_equal(n, 2);
        assert_int_equal(rc, 0);
        assert_int_equal(talloc_live(&t), live);   /* +entry -evicted k0, no new table */
        break;
    }
    assert_int_equal(l.n, 1);
    assert_string_equal(l.keys[0], "k0");
    void *v;
    assert_int_equal(drip_lru_get(c, "new", 3, &v), 0);
    assert_int_equal((uintptr_t)v, 99);
    /* and every other key is still reachable with the un-grown table */
    for (int i = 1; i < 8; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(drip_lru_get(c, k, strlen(k), &v), 0);
        assert_int_equal((uintptr_t)v, i);
    }
    drip_lru_destroy(c);
    assert_int_equal(l.n, 9);
    assert_int_equal(talloc_live(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_cap_order),
        cmocka_unit_test(test_second_chance),
        cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_replace_delete_clear),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_fail_create),
        cmocka_unit_test(test_fail_put),
    };
    return cmocka_run_group_tests_name("safe_lru", tests, NULL, NULL);
}
