/* helper.h — helper.c: where reports go, and the symbolizer process (drip symbolize); outfd.c:
 * drip's own descriptors and lines (drip__fd_high, drip__fd_above_stdio, drip__say). */
#ifndef DRIP_PRELOAD_HELPER_H
#define DRIP_PRELOAD_HELPER_H

#include "internal.h"

#include <stdbool.h>
#include <sys/resource.h>

void drip__start_dir(char *out, size_t cap);
void drip__resolve_path(const char *pattern, char *out, size_t cap);
void drip__report_dest_init(void);
int drip__report_fd(int *is_log);
/* A child's report handed to drip run's shared symbolizer without waiting: 0, or -1 (write it). */
int drip__helper_handoff(int in_fd, int err_fd, const int *keep, int nkeep, char *const *args);
/* 1 when the text report goes to stderr and fd 2 was closed when the program started. */
int drip__report_stderr_closed(void);
/* One line of drip's own, where the text report goes (helper.c says where); errno preserved. */
void drip__say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* During the exit report: the descriptor drip__say writes to (-1: back to the usual). */
void drip__say_to(int fd);
/* After drip__helper_run answered: the errno of an output it could not write (a full disk), or 0. */
int drip__helper_write_err(void);
int drip__helper_run(int in_fd, int err_fd, const int *keep, int nkeep, char *const *args, const char **why);
/* fd moved above 0-2 if it is one of them (the program may have closed its stdio): see helper.c */
int drip__fd_above_stdio(int fd);
/* A close-on-exec copy of fd out of the program's way (1000, or past a low RLIMIT_NOFILE), so
 * that the program's open() returns the numbers it would without drip; -1 on failure. */
int drip__fd_high(int fd);
int drip__helper_ask(int memfd, int out_fd, const char **why);
void drip__helper_child_reset(void);   /* a forked child: serve_mu re-initialised */

/* ---- outfd.c ---- */
/* `ulimit -f` lifted for the exit report (outfd.c says why): lift, write, restore. */
struct drip__fsize_lift { struct rlimit old; bool raised, was_pending; };
void drip__fsize_lift(struct drip__fsize_lift *g);
void drip__fsize_restore(const struct drip__fsize_lift *g);

#endif
