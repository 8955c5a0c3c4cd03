/* mmaps.h — mmaps.c: who mapped each anonymous mapping the program made itself (mmap, munmap,
 * mremap through the PLT), so that a retention root in one is named by its mapper (issue #16). */
#ifndef DRIP_PRELOAD_MMAPS_H
#define DRIP_PRELOAD_MMAPS_H

#include "internal.h"

#include <sys/types.h>

/* The interposed functions (interpose.c) call these; each returns what the real call returned,
 * with errno as the real call left it. */
void *drip__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, uintptr_t caller);
int drip__munmap(void *addr, size_t len);
void *drip__mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);

/* The recorded mapping that holds a: true, with its range and the depot id of the stack that
 * mapped it. Reads without a lock (the world is stopped, or this is the snapshot's copy). */
bool drip__mmaps_find(uintptr_t a, uintptr_t *lo, uintptr_t *hi, uint32_t *site);
/* Excludes from r's roots the mappings that the next malloc (when it is not glibc's) made for
 * itself: its arenas, caches and metadata. false: out of memory. */
struct drip__roots;
bool drip__mmaps_exclude_allocator(struct drip__roots *r);
/* A forked child: the lock is released (the table may hold one half-made change). */
void drip__mmaps_child_reset(void);

#endif
