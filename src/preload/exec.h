/* exec.h — exec.c: the root process stays traced through its execs; untraced children counted. */
#ifndef DRIP_PRELOAD_EXEC_H
#define DRIP_PRELOAD_EXEC_H

#include "internal.h"

void drip__exec_init(void);
void drip__exec_fork_child(void);
int drip__execve(const char *path, char *const argv[], char *const envp[]);
int drip__execvpe(const char *file, char *const argv[], char *const envp[]);
int drip__fexecve(int fd, char *const argv[], char *const envp[]);
void drip__spawned(const char *file, char *const envp[]);
/* How many children of this process ran a program drip did not follow; *first names one. */
unsigned drip__untraced_execs(const char **first);
/* Tells drip run (through DRIP_STATUS_DIR) that the root process wrote its report. */
void drip__status_reported(void);

#endif
