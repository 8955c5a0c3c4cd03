/* Unit tests of the live table (src/preload/table.c, with drip's arena under it): long random
 * runs of inserts and removes checked against a plain array, with enough addresses that groups
 * fill up and 7-bit tags repeat within a group; the tombstones that full groups leave and the
 * rebuilds that drop them; records removed by a thread other than the one that recorded them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

DRIP_TLS int drip__guard;   /* internal.h declares it; the table does not use it */

/* The model: block k lives at addr_of(k) when live[k] is set. */
enum { BLOCKS = 1 << 16 };
static uint8_t live[BLOCKS];
static uint32_t size_of[BLOCKS];
static size_t n_live;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Addresses 16 bytes apart, then a stride that keeps the low bits fixed: Fibonacci hashing
 * spreads both, but the second kind shares more high bits of the product. */
static uintptr_t addr_of(size_t k) { return (uintptr_t)0x7f0000000000ULL + (k % 4096) * 16 + (k / 4096) * 65536; }

static void check_all(void)
{
    assert_int_equal(drip__table_count(), n_live);
    size_t n, bytes;
    drip__table_lock_all();
    struct drip__rec *snap = drip__table_snapshot(&n, &bytes);
    drip__table_unlock_all();
    assert_non_null(snap);
    assert_int_equal(n, n_live);
    static uint8_t seen[BLOCKS];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < n; i++) {
        uintptr_t off = snap[i].addr - (uintptr_t)0x7f0000000000ULL;
        size_t k = (off % 65536) / 16 + (off / 65536) * 4096;
        assert_true(k < BLOCKS && addr_of(k) == snap[i].addr);
        assert_true(live[k]);
        assert_false(seen[k]);
        seen[k] = 1;
        assert_int_equal(snap[i].size, size_of[k]);
        assert_int_equal(snap[i].site, (uint32_t)k + 1);
    }
    drip__arena_free(snap, bytes);
}

static void insert(size_t k, uint32_t size)
{
    assert_true(drip__table_insert(addr_of(k), size, (uint32_t)k + 1));
    if (!live[k])
        n_live++;
    live[k] = 1;
    size_of[k] = size;
}

static void remove_(size_t k)
{
    struct drip__rec r;
    bool found = drip__table_remove(addr_of(k), &r);
    assert_int_equal(found, live[k]);
    if (found) {
        assert_int_equal(r.addr, addr_of(k));
        assert_int_equal(r.size, size_of[k]);
        assert_int_equal(r.site, (uint32_t)k + 1);
        live[k] = 0;
        n_live--;
    }
}

/* A million random operations over 64 Ki addresses, the live set swinging between empty and
 * most of them, so the shard grows, fills its groups, leaves tombstones and is rebuilt; the
 * whole table is compared with the model every 50,000 operations. */
static void random_churn(void **state)
{
    size_t max_tombstones = 0;
    for (int round = 0; round < 1000000; round++) {
        /* the target fill moves in a slow sawtooth: 0 .. 90% of the addresses */
        size_t target = (size_t)((round / 1000) % 90) * BLOCKS / 100;
        size_t k = next() % BLOCKS;
        if (n_live < target ? next() % 4 != 0 : next() % 4 == 0)
            insert(k, (uint32_t)(next() % 100000) + 1);   /* on a live address: overwrites */
        else
            remove_(k);                                    /* on a dead one: not found */
        if (round % 50000 == 0) {
            check_all();
            size_t slots, tombs;
            drip__table_shape(&slots, &tombs);
            assert_true(tombs <= slots - n_live || slots == 0);   /* the tombstone count is a count */
            assert_true((n_live + tombs) * 8 <= slots * 7 || slots == 0);
            if (tombs > max_tombstones)
                max_tombstones = tombs;
        }
    }
    check_all();
    assert_true(max_tombstones > 0);   /* the tombstone path ran */
    for (size_t k = 0; k < BLOCKS; k++)
        remove_(k);
    check_all();
    assert_int_equal(drip__table_count(), 0);
}

/* A table that keeps its size: fill half of its slots, then replace the oldest block by one at a
 * random new address, again and again. A removal from a full group leaves a tombstone that the
 * new address (with another home group) does not reuse, so rebuilds at the same size must drop
 * them, or the probes would end up never meeting an EMPTY slot. */
static void steady_full(void **state)
{
    size_t slots, tombs, max_tombs = 0;
    insert(0, 1);
    drip__table_shape(&slots, &tombs);
    size_t fill = slots / 2, before = slots;
    static size_t ring[BLOCKS];
    ring[0] = 0;
    for (size_t i = 1; i < fill; i++) {
        size_t k;
        do
            k = next() % BLOCKS;
        while (live[k]);
        insert(k, 16);
        ring[i] = k;
    }
    for (size_t i = 0; i < 200000; i++) {
        size_t k;
        do
            k = next() % BLOCKS;
        while (live[k]);
        remove_(ring[i % fill]);
        insert(k, 32);
        ring[i % fill] = k;
        drip__table_shape(&slots, &tombs);
        if (tombs > max_tombs)
            max_tombs = tombs;
    }
    assert_int_equal(slots, before);   /* same size: only tombstones were dropped */
    assert_true(max_tombs >= slots / 8);
    check_all();
    for (size_t k = 0; k < BLOCKS; k++)
        remove_(k);
    check_all();
}

static void *remove_half(void *arg)
{
    size_t *count = arg;
    struct drip__rec r;
    for (size_t k = 0; k < 20000; k += 2)
        if (drip__table_remove(addr_of(k), &r))
            ++*count;
    drip__table_release();
    return NULL;
}

/* Records made by this thread, removed by another (which looks in its own shard first); then
 * records made by that thread after it ended and left its shard to be claimed. */
static void other_thread(void **state)
{
    for (size_t k = 0; k < 20000; k++)
        insert(k, 8);
    size_t removed = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, remove_half, &removed), 0);
    pthread_join(t, NULL);
    assert_int_equal(removed, 10000);
    for (size_t k = 0; k < 20000; k += 2) {
        live[k] = 0;
        n_live--;
    }
    check_all();
    for (size_t k = 1; k < 20000; k += 2)
        remove_(k);
    check_all();
    assert_int_equal(drip__table_count(), 0);
}

/* restore puts back exactly the record that was removed (a failed realloc). */
static void restore_record(void **state)
{
    insert(7, 123);
    struct drip__rec r;
    assert_true(drip__table_remove(addr_of(7), &r));
    struct drip__rec again;
    assert_false(drip__table_remove(addr_of(7), &again));
    assert_true(drip__table_restore(&r));
    check_all();
    remove_(7);
    check_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restore_record),
        cmocka_unit_test(steady_full),   /* first to size the table: it fills the first shard */
        cmocka_unit_test(other_thread),
        cmocka_unit_test(random_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
