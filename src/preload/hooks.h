/* hooks.h — hooks.c's interface besides the interposed allocator itself. */
#ifndef DRIP_PRELOAD_HOOKS_H
#define DRIP_PRELOAD_HOOKS_H

#include "internal.h"

uint64_t drip__peak_live(void);
void drip__sampling_init(void);   /* sets up sampling mode when sample > 0 */
/* The real _exit: the runtime leaves with the report's exit status. */
void drip__real_exit(int status) __attribute__((noreturn));
/* drip's own malloc, by a name no other object can take (an alias of hooks.c's malloc). */
void *drip__own_malloc(size_t n);

#endif
