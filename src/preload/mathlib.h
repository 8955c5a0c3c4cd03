/* mathlib.h — mathlib.c: libdrip.so's sqrt, lround, log and exp without linking libm. */
#ifndef DRIP_PRELOAD_MATHLIB_H
#define DRIP_PRELOAD_MATHLIB_H

/* Opens libm for log and exp (the sampler's): called by the constructor when `sample` is set, so
 * that no hook has to. */
void drip__mathlib_init(void);

#endif
