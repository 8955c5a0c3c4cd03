/* exec_count.c — how many children of a traced process ran a program drip did not follow (a
 * forked child's exec without follow_exec, a posix_spawn, a vfork child's exec), and the first
 * one's name: the report's summary line that points to --follow-exec (exec.c decides what is
 * counted). Split out of exec.c.
 *
 * The count lives in a page shared (MAP_SHARED) between a process and its children: a forked
 * child counts its execs in its parent's page, a vfork child or posix_spawn in the process's own.
 * A page is made on first need (own(): the process's first fork, vfork or posix_spawn), not at
 * start: a shared mapping costs tens of microseconds to make and to tear down, and most forked
 * children (a shell's `$(echo)` subshells) never fork.
 * Locks: none (atomics; two threads making the page at once keep one).
 */
#include "exec_count.h"

#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>

struct drip__exec_page {
    atomic_uint untraced;
    atomic_int first_taken;
    char first[PATH_MAX];
};

static struct drip__exec_page *own_page;     /* this process's children count here */
static struct drip__exec_page *parent_page;  /* a forked child counts its own execs in its parent's */

static struct drip__exec_page *own(void)
{
    struct drip__exec_page *p = __atomic_load_n(&own_page, __ATOMIC_ACQUIRE);
    if (p)
        return p;
    void *m = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    struct drip__exec_page *made = m, *none = NULL;
    if (__atomic_compare_exchange_n(&own_page, &none, made, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return made;
    munmap(made, sizeof *made);
    return none;
}

void drip__exec_fork_prepare(void) { own(); }

void drip__exec_fork_child(void)
{
    parent_page = own_page;
    own_page = NULL;   /* made if this child forks in its turn */
}

struct drip__exec_page *drip__exec_count(int own_count, const char *name)
{
    struct drip__exec_page *p = own_count ? own() : parent_page;
    if (p) {
        atomic_fetch_add(&p->untraced, 1);
        if (!atomic_exchange(&p->first_taken, 1))
            snprintf(p->first, sizeof p->first, "%s", name);
    }
    return p;
}

void drip__exec_uncount(struct drip__exec_page *p)
{
    if (p)
        atomic_fetch_sub(&p->untraced, 1);
}

unsigned drip__untraced_execs(const char **first)
{
    if (!own_page)
        return 0;
    *first = own_page->first;
    return atomic_load(&own_page->untraced);
}
