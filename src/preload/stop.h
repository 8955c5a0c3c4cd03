/* stop.h — stopping every other thread of the process unseen, with ptrace from a tracer task
 * (see stop.c for how and why). */
#ifndef DRIP_PRELOAD_STOP_H
#define DRIP_PRELOAD_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRIP_STOP_NREGS 34   /* >= the words of the general registers (x86_64: 27, aarch64: 34) */

enum { DRIP_TASK_SEIZED = 1, DRIP_TASK_STOPPED, DRIP_TASK_GONE };

struct drip__task {
    int tid;
    int state;        /* DRIP_TASK_* */
    int sig;          /* a signal caught in signal-delivery-stop: given back at detach */
    int nregs;        /* words of regs[] filled */
    uintptr_t sp;     /* the stopped stack pointer */
    uintptr_t regs[DRIP_STOP_NREGS];
};

/* The stopped tasks, in memory the caller provides (drip's arena: the tracer allocates nothing). */
struct drip__world {
    struct drip__task *tasks;
    size_t n, cap;
    void *stack;      /* the tracer's stack */
    size_t stack_size;
    int unstopped;    /* tasks seized that did not stop before the deadline */
};

/* Stops every task of the process except the calling one. Returns 0 with w->tasks filled (the
 * world stays stopped until drip__stop_resume), -EOVERFLOW when w->cap is too small (nothing is
 * stopped: retry with more), or another negative errno when ptrace cannot be used here (already
 * traced, Yama, seccomp, no clone): *why then names the step that failed. Called with no lock
 * a program thread may hold; allocates nothing; errno is preserved. */
int drip__stop_ptrace(struct drip__world *w, long timeout_ms, const char **why);
void drip__stop_resume(struct drip__world *w);

/* drip's ticker thread (server.c), for a stop where it is the only other task: true when tid is
 * the ticker and it is parked in its wait, where it stays until drip__ticker_unpark (it needs a
 * lock the caller now holds). Never blocks. */
bool drip__ticker_park(int tid);
void drip__ticker_unpark(void);

/* Copies [addr, addr+len) of this process into buf without ever raising a signal (unreadable
 * pages, a truncated file mapping, a racing munmap). Returns the bytes copied from the start of
 * the range before the first unreadable byte, or -1 when the kernel offers no such read. */
long drip__safe_read(void *buf, uintptr_t addr, size_t len);

/* Forks a copy of the process (no atfork handlers, no SIGCHLD: the program sees no child).
 * Returns the pid in the parent, 0 in the copy, -errno on failure. */
int drip__snapshot_fork(void);

#endif
