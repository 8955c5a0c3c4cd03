/* exec_count.h — exec_count.c: the children of a process that ran a program drip did not follow. */
#ifndef DRIP_PRELOAD_EXEC_COUNT_H
#define DRIP_PRELOAD_EXEC_COUNT_H

#include "internal.h"

struct drip__exec_page;

void drip__exec_fork_prepare(void);   /* before a fork: the page its children count in */
void drip__exec_fork_child(void);     /* in the child: its parent's page; its own made on need */
/* Counts one untraced exec of `name`: in this process's own count (a vfork child, posix_spawn) or
 * its parent's (a forked child). Returns where it was counted (NULL: nowhere), for uncount. */
struct drip__exec_page *drip__exec_count(int own_count, const char *name);
void drip__exec_uncount(struct drip__exec_page *p);   /* the exec failed */
/* How many children of this process ran a program drip did not follow; *first names one. */
unsigned drip__untraced_execs(const char **first);

#endif
