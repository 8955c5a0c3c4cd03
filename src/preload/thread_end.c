/* thread_end.c — how the program's threads end, for threads.c's registry: the stacks of ended
 * threads (kept mapped in glibc's cache, but dead memory to valgrind: not roots), and main()'s
 * pthread_exit, after which the process must end when the program's last thread does.
 *
 * Lock: none of its own. The dead-stack list is guarded by threads.c's `mu` (drip__threads_lock):
 * every caller holds it (a live check's forked copy reads it with the parent's hold).
 */
#include "internal.h"
#include "background.h"
#include "helper.h"
#include "stop.h"
#include "threads.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the stacks of ended threads ------------------------------------------------------------ */
/* Dead stacks (drip__threads_dead_stacks): [lo, hi) of each ended thread's frames, and its
 * descriptor `pd` (pthread_self), by which a stack glibc hands to a new thread is recognised and
 * by which the scan checks the memory is still that cached stack. Guarded by threads.c's `mu`
 * (every caller holds it). */
enum { MAX_DEAD = 512 };
static struct dead_stack { uintptr_t lo, hi, pd; } dead[MAX_DEAD];
static size_t n_dead;

void drip__threads_dead_forget(uintptr_t lo, uintptr_t hi, uintptr_t pd)
{
    for (size_t i = 0; i < n_dead;)
        if (dead[i].pd == pd || (dead[i].lo < hi && lo < dead[i].hi))
            dead[i] = dead[--n_dead];
        else
            i++;
}

void drip__threads_dead_add(const struct drip__thread *t)
{
    if (!t->stack_lo || t->frames_hi <= t->stack_lo || t->frames_hi > t->stack_hi)
        return;
    drip__threads_dead_forget(t->stack_lo, t->frames_hi, (uintptr_t)pthread_self());
    if (n_dead == MAX_DEAD)   /* the oldest goes: its stack is read whole again, as before */
        memmove(dead, dead + 1, --n_dead * sizeof *dead);
    dead[n_dead++] = (struct dead_stack){t->stack_lo, t->frames_hi, (uintptr_t)pthread_self()};
}

size_t drip__threads_dead_stacks(uintptr_t (*out)[2], size_t max)
{
    /* no assertion on `mu`: a live check's forked copy calls this with the parent's hold */
    size_t n = 0;
    for (size_t i = 0; i < n_dead && n < max; i++) {
#if defined(__x86_64__)
        /* still glibc's cached stack: the descriptor's tcb and self words point at itself */
        uintptr_t w[3];
        if (drip__safe_read(w, dead[i].pd, sizeof w) != (long)sizeof w || w[0] != dead[i].pd || w[2] != dead[i].pd)
            continue;
        out[n][0] = dead[i].lo;
        out[n][1] = dead[i].hi;
        n++;
#else
        (void)out;
#endif
    }
    return n;
}

/* ---- main's pthread_exit ----------------------------------------------------------------------
 * main() called pthread_exit: the process ends when the last of its threads does (glibc: the last
 * thread to exit calls exit(0)); drip's own threads count in glibc's tally, so the ticker does it
 * for them (drip__threads_orphaned, background.c). */
static atomic_int main_exited;
static void (*real_pthread_exit)(void *) __attribute__((noreturn));

/* pthread_exit: from the main thread, the process must end with exit(0) once every other thread
 * of the program has; glibc leaves that to the last thread to exit, and with drip's ticker alive
 * that is never one of the program's (drip__threads_orphaned). */
void drip__pthread_exit(void *ret)
{
    if (!real_pthread_exit)
        real_pthread_exit = (__typeof__(real_pthread_exit))dlsym(RTLD_NEXT, "pthread_exit");
    struct drip__thread *t = drip__self;
    if (t && t->is_main && atomic_load(&drip__g.initialised)) {
        atomic_store(&main_exited, 1);
        drip__background_poke();
    }
    real_pthread_exit(ret);
}

/* Whether the leader task (the main thread) has ended: after pthread_exit it is a zombie until
 * the whole process ends. */
bool drip__threads_leader_gone(void)
{
    char rel[48], buf[256];
    snprintf(rel, sizeof rel, "%d/task/%d/stat", (int)getpid(), (int)getpid());
    int fd = drip__proc_open(rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');   /* "pid (comm) S ...": comm may hold anything */
    return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X';
}

/* For the ticker (background.c): 1 when main has called pthread_exit and every task of the
 * program has ended, so that the process must now exit(0) as glibc's last thread would; 0 when
 * only tasks on their way out remain; -1 when main runs or a thread of the program does.
 * `is_own(tid)` names drip's own threads. Then the main thread's entry is marked finished: its
 * stack is dead, as a joined thread's is. */
int drip__threads_orphaned(bool (*is_own)(int tid))
{
    if (!atomic_load(&main_exited))
        return -1;
    drip__threads_lock();
    bool running = false;
    for (struct drip__thread *t = drip__threads_list(); t && !running; t = t->next)
        running = !t->is_main && atomic_load(&t->state) == DRIP_THREAD_RUNNING;
    drip__threads_unlock();
    if (running)
        return -1;
    /* a thread may be past drip's key destructor but not yet gone (other destructors run after
     * it): every task but drip's and the zombie leader must have left /proc/self/task */
    char rel[32];
    snprintf(rel, sizeof rel, "%d/task", (int)getpid());
    int fd = drip__proc_open(rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int pid = getpid();
    char buf[2048];
    bool alone = true;
    for (long n; alone && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0;)
        for (long off = 0; off < n;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
            int tid = atoi(d->name);
            if (tid > 0 && !is_own(tid) && (tid != pid || !drip__threads_leader_gone()))
                alone = false;
            off += d->reclen;
        }
    close(fd);
    if (!alone)
        return 0;
    drip__threads_lock();
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        if (t->is_main)
            atomic_store(&t->state, DRIP_THREAD_FINISHED);
    drip__threads_unlock();
    return 1;
}

bool drip__threads_main_exited(void) { return atomic_load(&main_exited) != 0; }

/* /proc, kept open before the process changes its root (privdrop.c) or its mount namespace, or
 * mounts over /proc (interpose.c: another pid namespace's /proc may then sit there, where this
 * process is no entry: `unshare --pid --fork --mount-proc`'s parent): its entries are then
 * looked up from here. "self" under it still names whichever process looks (a forked child its
 * own); kept_pid is the process that kept it. */
static _Atomic int proc_dir = -1;
static _Atomic int kept_pid;
static _Atomic bool chrooted;   /* kept for a chroot: the drip binary may be out of reach */

/* Whether /proc at dir (an fd, or AT_FDCWD for the path) is this process's pid namespace's: its
 * "self" is our pid as getpid() gives it (drip names entries by getpid(): "PID/task"). A /proc of
 * an outer namespace names a process of an inner one by another number. */
static bool proc_is_ours(int dir)
{
    char buf[24];
    long n = syscall(SYS_readlinkat, dir, dir == AT_FDCWD ? "/proc/self" : "self", buf, sizeof buf - 1);
    if (n <= 0)
        return false;
    buf[n] = 0;
    return atoi(buf) == (int)getpid();
}

void drip__proc_keep(bool new_root)
{
    if (new_root)
        atomic_store(&chrooted, true);
    if (atomic_load(&proc_dir) >= 0)
        return;
    int saved = errno;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd >= 0 && !proc_is_ours(fd)) {   /* not this process's /proc already: nothing to keep */
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {   /* out of the program's way: its next open() gets the number it would */
        int high = drip__fd_high(fd);
        close(fd);
        fd = high;
    }
    int none = -1;
    if (fd >= 0 && atomic_compare_exchange_strong(&proc_dir, &none, fd))
        atomic_store(&kept_pid, (int)getpid());
    else if (fd >= 0)
        close(fd);
    errno = saved;
}

/* Once the main thread (the leader task) is gone, /proc/self/maps and /proc/self/exe read as
 * empty (they go through the leader's memory map): the calling thread's own view has the same. */
int drip__proc_name(const char *rel, char *path, size_t cap)
{
    int dir = atomic_load(&proc_dir);
    struct statfs fs;   /* the program may have closed it, and its number may be another file now */
    if (dir >= 0 && (syscall(SYS_fstatfs, dir, &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC))
        dir = -1;
    /* a forked child that is pid 1 of a new pid namespace (its parent kept /proc before the
     * unshare): the kept /proc names it by its outer number; its own /proc is the one mounted */
    if (dir >= 0 && atomic_load(&kept_pid) != (int)getpid() && !proc_is_ours(dir))
        dir = -1;
    bool self = !strncmp(rel, "self/", 5);
    snprintf(path, cap, "%s%s%s", dir >= 0 ? "" : "/proc/", self && atomic_load(&main_exited) ? "thread-self/" : "",
             self && atomic_load(&main_exited) ? rel + 5 : rel);
    return dir >= 0 ? dir : AT_FDCWD;
}

bool drip__proc_kept(void) { return atomic_load(&proc_dir) >= 0 && atomic_load(&chrooted); }

int drip__proc_open(const char *rel, int flags)
{
    char path[64];
    int dir = drip__proc_name(rel, path, sizeof path);
    return (int)syscall(SYS_openat, dir, path, flags, 0);
}
