/* signals.h — signals.c's interface (apart from internal.h: <signal.h> with _GNU_SOURCE
 * defines names, such as REG_RBP, that other files of the library use for their own). */
#ifndef DRIP_PRELOAD_SIGNALS_H
#define DRIP_PRELOAD_SIGNALS_H

/* ---- signals.c: drip's handler stands in for the program's SIG_DFL on fatal signals ------- */
#include <signal.h>
void drip__signals_init(void);
int drip__is_fatal_signal(int sig);
int drip__real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
void drip__signal_default(int sig);
int drip__sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t drip__signal(int sig, sighandler_t handler);
void drip__on_fatal(int sig, siginfo_t *si, void *uc);   /* runtime.c: report, then die by sig */


#endif
