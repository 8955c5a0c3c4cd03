/* cli.h — shared pieces of the drip command. */
#ifndef DRIP_CLI_H
#define DRIP_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Prints "drip: <message>" on stderr and returns status. */
int die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Path of a file in drip's library directory (../lib next to the drip executable). */
int drip__libdir_file(const char *name, char *out, size_t cap);
/* The first cap - 1 bytes of the file at path into buf, NUL-terminated; the count read, -1 when
 * it cannot be opened. open, read and close only: safe in a signal handler. */
ssize_t drip__read_head(const char *path, char *buf, size_t cap);
/* Runs argv[0]=prog in a child, waits, and returns its status (re-raising its signal). */
int run_child(const char *prog, char **argv);
/* When set, run_child calls it once the child has ended, before reaping it (so /proc/PID still
 * names it): code is siginfo's si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED), status its
 * si_status (exit status or signal). */
extern void (*drip__run_ended)(int pid, int code, int status);
/* When set, run_child calls it once the child is forked (drip run's shared symbolizer starts then,
 * off the program's path). */
extern void (*drip__run_started)(int pid);

/* dwload.c: loads libdw (and libelf) for the symbolizer now, rather than at its first call.
 * 0, or -1 when it cannot be loaded (the first call then says so and exits with status 2). */
int drip__dw_load(void);

/* The commands of main.c's table (argv[0] is the command's name); each returns the exit status. */
int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);       /* top.c */
int cmd_diff(int argc, char **argv);      /* diff.c */
int cmd_flame(int argc, char **argv);     /* flame.c */
int cmd_watch(int argc, char **argv);     /* watch.c */
int cmd_symbolize(int argc, char **argv); /* symbolize.c */
/* `drip [valgrind options] prog args`: maps valgrind's flags onto drip run (vgcompat.c). */
int cmd_vgcompat(int argc, char **argv);
int cmd_sarif(int argc, char **argv);
int cmd_suppress(int argc, char **argv);
/* drip options --man / --bash-completion (manpage.c). */
int drip__options_generate(const char *what);
/* Called by run_child once the child has exited, before its status is returned or its signal
 * re-raised: drip run's post-exit steps (postrun.c). NULL when there are none. */
extern void (*drip__after_child)(int pid);

/* drip run's flags handled by the CLI after the program exits (postrun.c): --sarif FILE,
 * --source-root DIR, --gen-suppressions[=all|yes|no]. drip__postrun_flag returns how many of
 * argv[i..] it consumed (0: not one of them; -1: bad, said on stderr). */
int drip__postrun_flag(int argc, char **argv, int i);
struct drip_options;
/* Before the exec: asks the library for a JSON report (a temporary file unless --json names
 * one) when a post-exit step needs it, appending to the DRIP_OPTIONS text. 0 or -1 (said). */
int drip__postrun_prepare(char *opts, size_t cap, const struct drip_options *parsed);
void drip__postrun_usage(FILE *out);
/* gensupp.c/sarif.c: suppressions for a parsed report (returns lines written, -1 on OOM), and
 * the converter from a report file to a SARIF file ("-" or NULL: standard output). */
struct json;
int drip__suppress_write(FILE *o, const struct json *report, const char *prefix);
int drip__sarif_convert(const char *report_path, const char *out_path, const char *source_root);
/* Writes the SARIF log of a parsed report to o; root: the absolute source root. Returns the number
 * of results. */
int drip__sarif_write(FILE *o, const struct json *report, const char *root);

#endif
