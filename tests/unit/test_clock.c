/* Unit test of drip__now_ms() (src/preload/table.c), the clock whose milliseconds the live
 * records keep: clock_gettime is wrapped at link time, so the test sets the clock near the
 * points where an int of milliseconds since boot went negative (24.8 days) and where 32 bits of
 * them wrap (49.7 days), and checks the exact, positive, increasing value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "internal.h"

DRIP_TLS int drip__guard;   /* internal.h declares it; the clock does not use it */

static struct timespec fake;
int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
    if (id != CLOCK_MONOTONIC_COARSE)
        return __real_clock_gettime(id, ts);
    *ts = fake;
    return 0;
}

static uint64_t at(long long ms)
{
    fake.tv_sec = (time_t)(ms / 1000);
    fake.tv_nsec = (long)(ms % 1000) * 1000000 + 999999;   /* the sub-millisecond part is dropped */
    return drip__now_ms();
}

static void near_the_wrap(void **state)
{
    const long long int_max = 2147483647LL, u32 = 4294967296LL;
    assert_true(at(0) == 0);
    assert_true(at(int_max - 1) == (uint64_t)int_max - 1);
    assert_true(at(int_max) == (uint64_t)int_max);
    assert_true(at(int_max + 1) == (uint64_t)int_max + 1);   /* was INT_MIN */
    assert_true(at(u32 + 5) == (uint64_t)u32 + 5);           /* 49.7 days: no wrap either */
    assert_true(at(1000LL * 86400 * 365 * 10) == 1000ULL * 86400 * 365 * 10);
    /* a record keeps the low 32 bits; an age is their unsigned difference, across the wrap */
    uint32_t birth = (uint32_t)at(u32 - 300), now = (uint32_t)at(u32 + 700);
    assert_int_equal((uint32_t)(now - birth), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(near_the_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
