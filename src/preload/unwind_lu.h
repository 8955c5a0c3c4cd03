/* unwind_lu.h — unwind_lu.c: libunwind, dlopen'ed on the first walk that needs it. */
#ifndef DRIP_PRELOAD_UNWIND_LU_H
#define DRIP_PRELOAD_UNWIND_LU_H

#include <stdbool.h>

/* libunwind's unw_backtrace (the caller holds the reentrancy guard), loading the library first
 * when this is its first use. -1: not loaded (not installed, or the loader is in the middle of a
 * dlopen or dlclose: the load is tried again on the next call). */
int drip__lu_backtrace(void **buf, int n);
/* fork: the child re-initialises the load lock (the parent may have held it). */
void drip__lu_child_reset(void);

#endif
