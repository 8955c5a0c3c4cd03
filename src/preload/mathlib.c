/* mathlib.c — the four libm functions libdrip.so calls, without linking libm.
 *
 * Linked, libm.so.6 was mapped and relocated in every traced process (about 0.05 ms and a dozen
 * page faults of each exec of a program that does not use it: ls, cat, bash...) for two
 * functions drip needs always and two it needs only when sampling:
 *  - sqrt and lround (the growth detector's Theil-Sen bounds, theil_sen.c) are computed here,
 *    with libm's exact results: sqrt is the SSE2 instruction (IEEE, correctly rounded, as libm's),
 *    lround rounds half away from zero as C says;
 *  - log (the sampler's next gap, hooks.c) and exp (unsampling a profile, profile.c) are libm's,
 *    opened with dlopen and taken at the version drip was built against (GLIBC_2.29). drip needs
 *    them only with `sample` set: the constructor loads them then (drip__mathlib_init), outside
 *    any hook. A call without that (none today) loads them on first use.
 * These definitions are hidden: only libdrip.so's own calls reach them; the program's calls to
 * sqrt, log... are its libm's, and a function of the program that happens to be named `log` is
 * never taken for libm's (the lookup is in libm's handle, not the global scope).
 * Locks: none (each pointer is resolved to the same value by whichever thread does it).
 */
#include "internal.h"
#include "mathlib.h"
#include "ownload.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdatomic.h>

#define DRIP_HIDDEN __attribute__((visibility("hidden")))

DRIP_HIDDEN double sqrt(double x);
DRIP_HIDDEN long lround(double x);
DRIP_HIDDEN double log(double x);
DRIP_HIDDEN double exp(double x);

double sqrt(double x)
{
#if defined(__x86_64__)
    __asm__("sqrtsd %1, %0" : "=x"(x) : "x"(x));
    return x;
#else
    return __builtin_sqrt(x);   /* elsewhere: the compiler's, with -fno-math-errno below */
#endif
}

long lround(double x)
{
    double a = x < 0 ? -x : x;
    if (!(a < 9223372036854775808.0))   /* NaN, infinities, |x| >= 2^63: what x86_64's libm returns */
        return LONG_MIN;
    long i = (long)a;            /* truncated; a - i is exact (the fraction of a double) */
    if (a - (double)i >= 0.5)    /* half away from zero */
        i++;
    return x < 0 ? -i : i;
}

static double (*_Atomic libm_log)(double);
static double (*_Atomic libm_exp)(double);

/* libm's own function, at the version drip was built against. */
static void *from_libm(const char *name)
{
    void *h = drip__own_dlopen("libm.so.6");   /* ownload.c: the loader's chunks are roots */
    if (!h)
        return NULL;
    void *f = dlvsym(h, name, "GLIBC_2.29");
    return f ? f : dlsym(h, name);
}

void drip__mathlib_init(void)
{
    if (!atomic_load_explicit(&libm_log, memory_order_acquire))
        atomic_store_explicit(&libm_log, (double (*)(double))from_libm("log"), memory_order_release);
    if (!atomic_load_explicit(&libm_exp, memory_order_acquire))
        atomic_store_explicit(&libm_exp, (double (*)(double))from_libm("exp"), memory_order_release);
}

double log(double x)
{
    double (*f)(double) = atomic_load_explicit(&libm_log, memory_order_acquire);
    if (DRIP_UNLIKELY(!f)) {
        drip__mathlib_init();
        f = atomic_load_explicit(&libm_log, memory_order_acquire);
        if (!f)
            return 0.0;   /* no libm: the sampler's gap is 1 byte (every allocation sampled) */
    }
    return f(x);
}

double exp(double x)
{
    double (*f)(double) = atomic_load_explicit(&libm_exp, memory_order_acquire);
    if (DRIP_UNLIKELY(!f)) {
        drip__mathlib_init();
        f = atomic_load_explicit(&libm_exp, memory_order_acquire);
        if (!f)
            return 0.0;   /* no libm: a profile's figures stay unscaled */
    }
    return f(x);
}
