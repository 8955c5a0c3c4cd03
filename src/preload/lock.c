/* lock.c — the pair that takes every lock guarding drip's records, in the order lock.h writes
 * down, for fork (runtime.c) and the leak scan (scan.c); and the debug build's assertion report.
 * Locks: takes the threads, depot and table locks (see lock.h); owns none.
 */
#include "internal.h"
#include "depot.h"
#include "lock.h"
#include "table.h"
#include "threads.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef DRIP_DEBUG
static DRIP_TLS int world_locked;   /* this thread holds the world (debug: no nesting) */
#endif

void drip__lock_world(void)
{
    DRIP_ASSERT(drip__guard > 0);
#ifdef DRIP_DEBUG
    DRIP_ASSERT(!world_locked);
    world_locked = 1;
#endif
    drip__threads_lock();     /* DRIP_RANK_THREADS */
    drip__depot_lock_all();   /* DRIP_RANK_DEPOT */
    drip__table_lock_all();   /* DRIP_RANK_TABLE */
}

void drip__unlock_world(void)
{
#ifdef DRIP_DEBUG
    DRIP_ASSERT(world_locked);
    world_locked = 0;
#endif
    drip__table_unlock_all();
    drip__depot_unlock_all();
    drip__threads_unlock();
}

void drip__lock_child_reset(void)
{
#ifdef DRIP_DEBUG
    world_locked = 0;
#endif
}

/* Written with write(2) alone: an assertion may fail inside a hook, under drip's own locks. */
void drip__assert_fail(const char *what, const char *file, int line)
{
    char num[16];
    int n = 0;
    char rev[16];
    unsigned v = line > 0 ? (unsigned)line : 0;
    do
        rev[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < (int)sizeof rev);
    for (int i = 0; i < n; i++)
        num[i] = rev[n - 1 - i];
    const char *parts[] = {"drip: assertion failed: ", what, " (", file, ":", NULL, ")\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *p = parts[i] ? parts[i] : num;
        size_t len = parts[i] ? strlen(p) : (size_t)n;
        ssize_t ignored = write(2, p, len);
        (void)ignored;
    }
    abort();
}
