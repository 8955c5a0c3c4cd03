/* threads.h — threads.c: the registry of the program's threads and stopping the world. */
#ifndef DRIP_PRELOAD_THREADS_H
#define DRIP_PRELOAD_THREADS_H

#include "internal.h"

struct drip__thread {
    struct drip__thread *next;
    pthread_t tid;
    int os_tid;
    uint32_t create_site;
    uintptr_t start_routine;
    uintptr_t start_arg;             /* a root while the thread runs: it may not have started yet */
    uintptr_t stack_lo, stack_hi;    /* whole mapping: includes TLS and the thread descriptor */
    uintptr_t frames_hi;             /* just above drip's start frame: the program's frames lie below */
    atomic_int state;                /* THREAD_RUNNING / THREAD_FINISHED */
    int joined, detached, is_main;
    uint32_t gen;                    /* drip__generation at creation */
    /* filled in by the stop-the-world (threads.c) */
    _Atomic uintptr_t stopped_sp;    /* stopped stack pointer less the red zone */
    _Atomic uintptr_t stopped_regs_lo, stopped_regs_hi;   /* a copy of its registers: roots */
    atomic_int stopped;
};
enum { DRIP_THREAD_RUNNING = 1, DRIP_THREAD_FINISHED = 2 };
void drip__threads_init(void);
void drip__threads_register_main(void);
struct drip__thread *drip__threads_list(void); /* caller holds drip__threads_lock */
void drip__threads_lock(void);
void drip__threads_unlock(void);
void drip__threads_child_reset(void);
/* In a forked child: the threads that ran in the parent at fork (their stacks are roots). */
struct drip__thread *drip__threads_orphans(void);
/* Stops every other thread (ptrace from a tracer task; a signal where ptrace is refused) and
 * returns how many registered threads stopped. Called with drip's locks but not the arena's. */
int drip__threads_stop_world(void);
void drip__threads_start_world(void);
/* While stopped: is every other task of the process stopped (no mapping can change under the
 * scan but by the scanning thread itself)? */
bool drip__threads_world_frozen(void);
uintptr_t drip__interrupted_sp(const void *ucontext);
/* The general registers saved in a signal's ucontext (not the FPU area: drip's own hooks leave
 * block addresses in vector registers). */
void drip__uc_regs(const void *ucontext, uintptr_t *lo, uintptr_t *hi);
extern DRIP_TLS struct drip__thread *drip__self;
/* The interposed pthread functions (interpose.c) call these. */
int drip__pthread_create(pthread_t *tid, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int drip__pthread_join(pthread_t tid, void **ret);
int drip__pthread_detach(pthread_t tid);
void drip__pthread_exit(void *ret) __attribute__((noreturn));
/* 1: main() called pthread_exit, and every other thread of the program has ended since (tasks
 * `is_own` names are drip's and do not count): the process must exit(0) now (background.c);
 * 0: the last ones are on their way out; -1: main or another thread of the program runs. */
int drip__threads_orphaned(bool (*is_own)(int tid));
bool drip__threads_main_exited(void);
/* The stacks of threads that have ended (glibc keeps them mapped in its cache): each one's frames
 * part, to be taken out of the roots as valgrind does with a dead thread's stack (its descriptor
 * and TLS, above, stay roots). A range is dropped when a new thread gets that stack. Called by
 * the scan with drip__threads_lock held; `out` gets up to `max`; returns how many. */
size_t drip__threads_dead_stacks(uintptr_t (*out)[2], size_t max);
/* thread_end.c, with drip__threads_lock held: t has ended (its frames are dead); a thread got
 * the stack [lo, hi) with descriptor pd (any dead range there is its own now). */
void drip__threads_dead_add(const struct drip__thread *t);
void drip__threads_dead_forget(uintptr_t lo, uintptr_t hi, uintptr_t pd);
/* Whether the leader task (main) has ended: a zombie after pthread_exit. */
bool drip__threads_leader_gone(void);
/* /proc's entries, in a chroot without /proc too: drip__proc_keep (privdrop.c, before a chroot:
 * new_root; interpose.c, before a new mount namespace or a mount over /proc) keeps /proc open if
 * it is this process's, and drip__proc_name gives the directory for openat and, in path, the
 * name under it of /proc/REL. REL "self/..." is the process's own entry: with main gone (after
 * its pthread_exit the leader's maps and exe read empty), the calling thread's (thread-self). */
void drip__proc_keep(bool new_root);
int drip__proc_name(const char *rel, char *path, size_t cap);
/* Whether /proc was kept open for a chroot (the process changed its root). */
bool drip__proc_kept(void);
/* openat(drip__proc_name(rel)) by the raw system call; -1 on failure. */
int drip__proc_open(const char *rel, int flags);

#endif
