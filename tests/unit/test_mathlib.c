/* Unit test of src/preload/mathlib.c, libdrip.so's libm functions: compiled into this program,
 * its sqrt, lround, log and exp must give libm's results bit for bit (libm's own are taken from
 * libm.so.6 with dlvsym, at the versions drip is built against), on the edge cases (halves,
 * the last double below a half, signs, 2^52, 2^63, NaN, infinities) and on 200,000 values spread
 * over the magnitudes the growth detector and the sampler meet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "mathlib.h"

/* ownload.c's reentrancy guard and errno slot: runtime.c's, which is not linked here */
DRIP_TLS int drip__guard;
DRIP_TLS int *drip__errno_at;

DRIP_TLS int drip__guard;   /* internal.h declares it; mathlib.c does not use it */

static double (*libm_sqrt)(double), (*libm_log)(double), (*libm_exp)(double);
static long (*libm_lround)(double);

static int setup(void **state)
{
    (void)state;
    void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return -1;
    libm_sqrt = (double (*)(double))dlvsym(h, "sqrt", "GLIBC_2.2.5");
    libm_lround = (long (*)(double))dlvsym(h, "lround", "GLIBC_2.2.5");
    libm_log = (double (*)(double))dlvsym(h, "log", "GLIBC_2.29");
    libm_exp = (double (*)(double))dlvsym(h, "exp", "GLIBC_2.29");
    return libm_sqrt && libm_lround && libm_log && libm_exp ? 0 : -1;
}

static uint64_t bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* drip's and libm's results for x, compared bit for bit (NaNs: both NaN) */
static void same(double x)
{
    assert_int_equal(lround(x), libm_lround(x));
    double a = sqrt(x), b = libm_sqrt(x);
    if (!(a != a && b != b))
        assert_int_equal(bits(a), bits(b));
    if (x > 0) {
        a = log(x), b = libm_log(x);
        assert_int_equal(bits(a), bits(b));
    }
    a = exp(x), b = libm_exp(x);
    if (!(a != a && b != b))
        assert_int_equal(bits(a), bits(b));
}

static void test_edges(void **state)
{
    (void)state;
    const double halves[] = {0.5, 1.5, 2.5, 3.5, 1e6 + 0.5, 0.49999999999999994, 4503599627370495.5,
                             4503599627370496.0, 9007199254740993.0, 9223372036854774784.0,
                             9223372036854775808.0, 1e300, 0.0, 1e-310, 1.0, 2.0, 0.25, 0.75};
    for (size_t i = 0; i < sizeof halves / sizeof halves[0]; i++) {
        same(halves[i]);
        same(-halves[i]);
    }
    same(nextafter(0.5, 0));
    same(-nextafter(0.5, 0));
    same(INFINITY);
    same(-INFINITY);
    same(NAN);
    assert_int_equal(lround(2.5), 3);
    assert_int_equal(lround(-2.5), -3);
    assert_int_equal(lround(0.49999999999999994), 0);
}

static void test_spread(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u = ((double)(s >> 11) + 1.0) / 9007199254740993.0;   /* (0, 1]: the sampler's */
        double x = u * pow(10.0, (double)(int)(s % 19) - 6);         /* 1e-6 .. 1e12 */
        same(x);
        same(-x);
        same(u);
        same(-u * 700);   /* exp's range */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_spread),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
