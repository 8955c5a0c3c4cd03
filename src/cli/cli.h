/* cli.h — shared pieces of the drip command. */
#ifndef DRIP_CLI_H
#define DRIP_CLI_H

#include <stddef.h>

/* Prints "drip: <message>" on stderr and returns status. */
int die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Path of a file in drip's library directory (../lib next to the drip executable). */
int drip_libdir_file(const char *name, char *out, size_t cap);
/* Runs argv[0]=prog in a child, waits, and returns its status (re-raising its signal). */
int run_child(const char *prog, char **argv);
/* When set, run_child calls it once the child has ended, before reaping it (so /proc/PID still
 * names it): code is siginfo's si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED), status its
 * si_status (exit status or signal). */
extern void (*drip_run_ended)(int pid, int code, int status);

int cmd_run(int argc, char **argv);

#endif
