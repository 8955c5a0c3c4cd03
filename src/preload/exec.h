/* exec.h — exec.c: the root process stays traced through its execs; untraced children counted. */
#ifndef DRIP_PRELOAD_EXEC_H
#define DRIP_PRELOAD_EXEC_H

#include "internal.h"
#include "exec_count.h"   /* the untraced children's count (split out of exec.c) */

void drip__exec_init(void);
int drip__execve(const char *path, char *const argv[], char *const envp[]);
int drip__execvpe(const char *file, char *const argv[], char *const envp[]);
int drip__fexecve(int fd, char *const argv[], char *const envp[]);
void drip__spawned(const char *file, char *const envp[]);
/* Takes drip run's variables out of environ (DRIP_ENV_RESTORE); 1 when it did, 0 under plain
 * LD_PRELOAD. Called at the end of drip__init, after every reader of the environment. */
int drip__exec_hide(void);
/* DRIP_ROOT_PID as drip keeps it (NULL: none); main_wrapper sets it under plain LD_PRELOAD. */
const char *drip__exec_root_pid(void);
void drip__exec_set_root_pid(int pid);
/* The environment for a followed posix_spawn/system/popen (NULL: pass envp as it is). */
char **drip__exec_spawn_env(char *const envp[], size_t *len);
void drip__exec_env_free(char **env, size_t len);
/* Tells drip run (through DRIP_STATUS_DIR) that the root process wrote its report. */
void drip__status_reported(void);
/* The root process could not write its report: the line drip run prints instead of "reported". */
void drip__status_lost(const char *line);

/* exec_target.c: what an exec would run, and whether the kernel could read its arguments. */
int drip__exec_is_static(const char *path, int depth);   /* ELF without an interpreter */
int drip__exec_is_setid(const char *path);
void drip__exec_search_path(const char *file, char *out, size_t cap);   /* as execvp; "" if absent */
int drip__exec_string_ok(const char *s);                 /* 0: reading s would fault */
int drip__exec_envp_ok(char *const envp[]);

#endif
