/* Unit tests of the live map (src/preload/table.c, with drip's arena under it): long random
 * runs of inserts and removes checked against a plain array, with addresses 16 bytes apart so
 * that a 2 KiB span's leaf fills up (128 records) and grows through every capacity, and empties
 * and shrinks back; records in address order; addresses the map refuses; records removed by a
 * thread other than the one that recorded them; threads inserting and removing while another
 * freezes the map and snapshots it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "arena.h"
#include "table.h"

DRIP_TLS int drip__guard;   /* internal.h declares it; the table does not use it */
DRIP_TLS int *drip__errno_at;

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

struct cmp {
    const struct drip__rec *snap;
    size_t n, k;
    uint16_t gen;   /* what span_cb expects each record's generation XORed with */
    size_t bad;     /* span_cb's mismatches */
};

static void cmp_cb(const struct drip__rec *r, void *arg)
{
    struct cmp *c = arg;
    assert_true(c->k < c->n);
    assert_int_equal(r->addr, c->snap[c->k].addr);
    assert_int_equal(r->size, c->snap[c->k].size);
    c->k++;
}

/* One span of the frozen map, read in place: its records (span_recs) are the next ones of the
 * snapshot, and span_find finds, for addresses inside and past the span, the last record at or
 * below them. Mismatches are counted, not asserted: an assertion would leave the map frozen and
 * every later test waiting on it. */
static void span_cb(const struct drip__tspan *sp, void *arg)
{
    struct cmp *c = arg;
    static struct drip__rec recs[256];
    if (sp->n < 1 || sp->n > 256 || c->k + sp->n > c->n) {
        c->bad++;
        return;
    }
    drip__table_span_recs(sp, recs);
    struct drip__rec r;
    for (uint32_t i = 0; i < sp->n; i++) {
        const struct drip__rec *want = &c->snap[c->k + i];
        c->bad += recs[i].addr != want->addr || recs[i].size != want->size || recs[i].site != want->site ||
                  recs[i].gen != (want->gen ^ c->gen);
        c->bad += drip__table_span_find(sp, want->addr + 8, &r) != (int)i || r.addr != want->addr ||
                  r.size != want->size;   /* inside the block */
    }
    c->bad += drip__table_span_find(sp, UINTPTR_MAX, &r) != (int)sp->n - 1 ||
              r.addr != c->snap[c->k + sp->n - 1].addr;   /* past the span */
    if (recs[0].addr > sp->base)
        c->bad += drip__table_span_find(sp, recs[0].addr - 8, &r) != -1;   /* below the first */
    c->k += sp->n;
}

static uint16_t flip_gen(uint16_t gen, void *arg) { return (uint16_t)(gen ^ 0x5a5a); }

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
        if (i > 0)
            assert_true(snap[i].addr > snap[i - 1].addr);   /* address order */
    }
    /* foreach_chunked sees the same records in the same order */
    struct cmp c = {snap, n, 0, 0, 0};
    drip__table_foreach_chunked(cmp_cb, &c);
    assert_int_equal(c.k, n);
    /* and so does the frozen map read in place, span by span (the exit scan's way) */
    drip__table_lock_all();
    c.k = 0;
    drip__table_spans(span_cb, &c);
    size_t spanned = c.k;
    drip__table_regen(flip_gen, NULL);   /* every record's generation rewritten in place ... */
    c.k = 0;
    c.gen = 0x5a5a;
    drip__table_spans(span_cb, &c);
    drip__table_regen(flip_gen, NULL);   /* ... and back */
    drip__table_unlock_all();
    assert_int_equal(spanned, n);
    assert_int_equal(c.bad, 0);
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

/* Memory follows the live records: every leaf holds at least one record and at least a
 * quarter of its capacity, or is of the smallest capacity (2). */
static void check_shape(size_t cap, size_t leaves)
{
    assert_true(leaves <= n_live);
    assert_true(cap >= n_live);
    assert_true(cap <= 4 * n_live + 2 * leaves);
}

/* A million random operations over 64 Ki addresses, the live set swinging between empty and
 * most of them, so leaves grow through their capacities and shrink back; the whole map is
 * compared with the model, and its memory with the live records, every 50,000 operations. */
static void random_churn(void **state)
{
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
            size_t cap, leaves;
            drip__table_shape(&cap, &leaves);
            check_shape(cap, leaves);
        }
    }
    check_all();
    /* down to one block in 16 (8 a leaf, which held up to 128): the leaves must have shrunk */
    for (size_t k = 0; k < BLOCKS; k++)
        if (k % 16)
            remove_(k);
    check_all();
    size_t cap, leaves;
    drip__table_shape(&cap, &leaves);
    check_shape(cap, leaves);
    for (size_t k = 0; k < BLOCKS; k++)
        remove_(k);
    check_all();
    assert_int_equal(drip__table_count(), 0);
    drip__table_shape(&cap, &leaves);
    assert_int_equal(cap, 0);   /* every leaf went with its last record */
    assert_int_equal(leaves, 0);
}

/* A map that keeps its size: fill a quarter of the addresses, then replace the oldest block by
 * one at a random new address, again and again: leaves come, grow, shrink and go, and the memory
 * stays within its bounds at every step. */
static void steady_full(void **state)
{
    size_t fill = BLOCKS / 4;
    static size_t ring[BLOCKS];
    for (size_t i = 0; i < fill; i++) {
        size_t k;
        do
            k = next() % BLOCKS;
        while (live[k]);
        insert(k, 16);
        ring[i] = k;
    }
    size_t cap, leaves, max_cap = 0;
    for (size_t i = 0; i < 200000; i++) {
        size_t k;
        do
            k = next() % BLOCKS;
        while (live[k]);
        remove_(ring[i % fill]);
        insert(k, 32);
        ring[i % fill] = k;
        if (i % 1000 == 0) {
            drip__table_shape(&cap, &leaves);
            check_shape(cap, leaves);
            max_cap = cap > max_cap ? cap : max_cap;
        }
    }
    assert_true(max_cap <= 2 * fill);
    check_all();
    for (size_t k = 0; k < BLOCKS; k++)
        remove_(k);
    check_all();
}

/* Blocks allocated and freed in address order, as queues and stacks of small blocks are: a
 * leaf's records start at an offset that moves, so that removing the lowest record or adding
 * one below the lowest moves no other. Each phase keeps the map equal to the model while the
 * offset grows, the leaf grows and shrinks with the records off its start, and records come
 * back below it. */
static void ordered_runs(void **state)
{
    enum { SPAN = 128 };   /* blocks 16 bytes apart: one 2 KiB span */
    size_t cap, leaves;
    for (size_t span = 0; span < 8; span++) {
        size_t base = span * SPAN;
        for (size_t k = base; k < base + SPAN; k++)   /* ascending: appends */
            insert(k, (uint32_t)(k + 7));
        check_all();
        for (size_t k = base; k < base + SPAN - 3; k++) {   /* a queue: the oldest goes first */
            remove_(k);
            if (k % 16 == 0)
                check_all();
        }
        drip__table_shape(&cap, &leaves);
        check_shape(cap, leaves);   /* shrunk, with the records moved off their offset */
        check_all();
        for (size_t k = base + SPAN - 4;; k--) {   /* then back down: below the lowest */
            insert(k, (uint32_t)(k + 11));
            if (k % 16 == 0)
                check_all();
            if (k == base)
                break;
        }
        check_all();
        for (size_t k = base + SPAN / 2; k < base + SPAN; k += 2)   /* holes in the upper half */
            remove_(k);
        for (size_t k = base + SPAN / 2 - 1;; k--) {   /* a stack popped from its bottom */
            remove_(k);
            if (k % 8 == 0)
                check_all();
            if (k == base)
                break;
        }
        check_all();
    }
    for (size_t k = 0; k < BLOCKS; k++)
        remove_(k);
    check_all();
    drip__table_shape(&cap, &leaves);
    assert_int_equal(leaves, 0);
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

/* Records made by this thread, removed by another; the live count is kept per thread, and the
 * other thread's share goes negative: the sum is what counts. */
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

/* Every 8-byte slot of one 2 KiB span (256 records: the largest leaf), in and out in both
 * orders; addresses the map refuses: not 8-aligned, above 47 bits; a block's size and scope
 * generation kept whole. */
static void dense_and_refused(void **state)
{
    const uintptr_t base = 0x600000000800ULL;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < 256; i++) {
            unsigned s = pass ? 255 - i : i;
            assert_true(drip__table_insert(base + s * 8, s + 1, s + 1));
        }
        assert_int_equal(drip__table_count(), 256);
        size_t cap, leaves;
        drip__table_shape(&cap, &leaves);
        assert_int_equal(cap, 256);
        assert_int_equal(leaves, 1);
        for (unsigned i = 0; i < 256; i++) {
            unsigned s = pass ? i : 255 - i;
            struct drip__rec r;
            assert_true(drip__table_remove(base + s * 8, &r));
            assert_int_equal(r.addr, base + s * 8);
            assert_int_equal(r.size, s + 1);
            assert_int_equal(r.site, s + 1);
        }
        assert_int_equal(drip__table_count(), 0);
    }
    struct drip__rec r;
    assert_false(drip__table_insert(base + 4, 8, 1));
    assert_false(drip__table_remove(base + 4, &r));
    assert_false(drip__table_insert((uintptr_t)1 << 47, 8, 1));
    assert_false(drip__table_remove((uintptr_t)1 << 47, &r));
    struct drip__rec big = {.addr = base, .size = ((uint64_t)1 << 48) - 16, .gen = 0xfedc, .site = 0xfffffffe};
    assert_true(drip__table_restore(&big));
    assert_true(drip__table_remove(base, &r));
    assert_true(r.addr == big.addr && r.size == big.size && r.gen == big.gen && r.site == big.site);
    assert_int_equal(drip__table_count(), 0);
}

/* Four threads insert and remove blocks of their own, in spans they share, while this thread
 * freezes the map again and again: while it is frozen nothing changes (two snapshots and two
 * counts agree), each snapshot is in address order and holds only addresses some thread
 * inserted; at the end every thread's blocks are gone. */
enum { T_THREADS = 4, T_BLOCKS = 4096, T_ROUNDS = 200000 };

static uintptr_t t_addr(int t, size_t k) { return (uintptr_t)0x500000000000ULL + (k * T_THREADS + (size_t)t) * 16; }

static void *t_churn(void *arg)
{
    int t = (int)(intptr_t)arg;
    static _Thread_local uint8_t in[T_BLOCKS];
    uint64_t x = 0x12345 + (uint64_t)t;
    for (int i = 0; i < T_ROUNDS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t k = x % T_BLOCKS;
        struct drip__rec r;
        if (in[k]) {
            assert_true(drip__table_remove(t_addr(t, k), &r));
            assert_int_equal(r.site, (uint32_t)t + 1);
        } else {
            assert_true(drip__table_insert(t_addr(t, k), 16, (uint32_t)t + 1));
        }
        in[k] ^= 1;
    }
    for (size_t k = 0; k < T_BLOCKS; k++) {
        struct drip__rec r;
        assert_int_equal(drip__table_remove(t_addr(t, k), &r), in[k]);
    }
    drip__table_release();
    return NULL;
}

static void concurrent_freeze(void **state)
{
    pthread_t th[T_THREADS];
    for (int t = 0; t < T_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, t_churn, (void *)(intptr_t)t), 0);
    for (int i = 0; i < 1000; i++) {
        size_t n, bytes, n2, bytes2;
        drip__table_lock_all();
        size_t count = drip__table_count();
        struct drip__rec *snap = drip__table_snapshot(&n, &bytes);
        sched_yield();   /* let the other threads try to change the map meanwhile */
        struct drip__rec *again = drip__table_snapshot(&n2, &bytes2);
        size_t count2 = drip__table_count();
        drip__table_unlock_all();
        assert_non_null(snap);
        assert_non_null(again);
        /* frozen: nothing changed between the two */
        assert_int_equal(count2, count);
        assert_int_equal(n, count);
        assert_int_equal(n2, n);
        assert_memory_equal(again, snap, n * sizeof *snap);
        drip__arena_free(again, bytes2);
        for (size_t j = 0; j < n; j++) {
            uintptr_t off = snap[j].addr - (uintptr_t)0x500000000000ULL;
            assert_true(snap[j].addr >= 0x500000000000ULL && off / 16 < (size_t)T_BLOCKS * T_THREADS);
            assert_int_equal(snap[j].site, (uint32_t)(off / 16 % T_THREADS) + 1);
            if (j)
                assert_true(snap[j].addr > snap[j - 1].addr);
        }
        drip__arena_free(snap, bytes);
    }
    for (int t = 0; t < T_THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(drip__table_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restore_record),
        cmocka_unit_test(steady_full),
        cmocka_unit_test(ordered_runs),
        cmocka_unit_test(other_thread),
        cmocka_unit_test(random_churn),
        cmocka_unit_test(dense_and_refused),
        cmocka_unit_test(concurrent_freeze),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
