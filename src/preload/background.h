/* background.h — drip's own threads in the traced process: "drip", the ticker (background.c),
 * and "drip-http", the HTTP server (server.c, endpoints.c). */
#ifndef DRIP_PRELOAD_BACKGROUND_H
#define DRIP_PRELOAD_BACKGROUND_H

#include "internal.h"

void drip__background_start(void);   /* just before main */
void drip__background_child(void);   /* a forked child: the threads did not come along */
void drip__background_exit(void);    /* exit or a fatal signal: the unix sockets' files go */
void drip__background_threaded(void);   /* the program started a thread: the ticker takes over */
/* A thread of the program ended after main's pthread_exit: the ticker looks whether the program
 * is over (threads.h: drip__threads_orphaned) and then calls exit(0) as glibc's last thread would. */
void drip__background_poke(void);

/* Growth samples on the allocation path while drip has no thread of its own (background.c):
 * hooks.c counts drip__tick_countdown down while drip__ticks_inline is set, and calls
 * drip__tick_inline (guard held, no lock held) when it runs out. */
extern atomic_int drip__ticks_inline;
extern DRIP_TLS int drip__tick_countdown;
void drip__tick_inline(void);

/* Names the calling thread, blocks every signal and holds the reentrancy guard for good. */
void drip__quiet_thread(const char *name);

/* A live leak check asked over HTTP runs on the ticker, which the program's priority keeps fast
 * (the check pauses the program). 1: posted, and the ticker writes the JSON report to fd and then
 * signals drip__leak_job_fd(); 0: there is no ticker (the caller runs the check itself). */
int drip__leak_job_post(int fd);
/* The same for a check that writes `want` (drip__leak_report_ex, retain.h; NULL: the leak report). */
int drip__leak_job_post_want(int fd, const char *want);
int drip__leak_job_fd(void);       /* the eventfd the ticker signals; -1: none */
/* After drip__leak_job_fd() fired: 1 when the posted check is done (the eventfd is read). */
int drip__leak_job_done(void);

#endif
