/* stop.c — how drip stops the world without the program seeing it.
 *
 * The exit scan and the live leak check need every other thread paused, with its registers and
 * stack pointer, while they read memory. Pausing threads with a signal is visible: a thread asleep
 * in nanosleep, clock_nanosleep, pause, poll, epoll_wait or select returns EINTR early and runs on,
 * and a thread that blocks every signal cannot be paused at all. So drip does what LeakSanitizer's
 * StopTheWorld does:
 *   1. the scanning thread clone()s a tracer task (CLONE_VM | CLONE_FS | CLONE_UNTRACED, no exit
 *      signal, every signal blocked, its own stack from drip's arena). It is a separate process
 *      sharing our memory: a process cannot ptrace its own threads, another one can. It shares
 *      the caller's TLS too (no CLONE_SETTLS), so it makes raw system calls only (libc's
 *      wrappers would write errno into the caller's TLS). Its file table is a copy (no
 *      CLONE_FILES), so the descriptors it opens (a thread's stat) cannot be seen or closed by the
 *      program; the caller's one descriptor on /proc/self/task lives only across the clone.
 *   2. where Yama asks for it (ptrace_scope 1) the caller allows it with PR_SET_PTRACER, and makes
 *      the process dumpable for the while if it was not (as LSan does);
 *   3. the tracer lists /proc/self/task (opened by the caller before the clone, so it names our
 *      process even where /proc is another PID namespace's) and PTRACE_SEIZEs + PTRACE_INTERRUPTs every task but the
 *      caller, waits for each stop (wait4 __WALL), lists again until a pass finds no new task
 *      (threads created meanwhile), reads each task's registers (PTRACE_GETREGSET) into the
 *      caller's array, and says "stopped" through a futex word;
 *   4. the caller scans; then says "resume"; the tracer PTRACE_DETACHes every task and exits.
 * An interrupted sleep is restarted by the kernel (ERESTART_RESTARTBLOCK and friends) with the
 * remaining time, so no syscall of the program sees a difference; the signal mask does not
 * matter to PTRACE_INTERRUPT. A stop that is not ours (a signal-delivery-stop: the thread was
 * about to take a signal) keeps its signal, given back at detach so the program does not lose it;
 * a group-stop (SIGSTOP from the user) is re-established by the kernel at detach. A task that
 * exits meanwhile (ESRCH, or its exit reported by wait4) is dropped; a zombie thread (EPERM on
 * seize, state Z in its stat) too. A task that does not stop before the deadline
 * (scan_threads_timeout_ms: a thread in an uninterruptible wait) is counted as unstopped and its
 * whole stack is read. Any other refusal (EPERM from an existing tracer such as gdb or strace,
 * Yama scope 3, seccomp) is returned to threads.c, which falls back to pausing threads with a
 * signal and says so once. The tracer dies with the caller (PR_SET_PDEATHSIG).
 * Also here: the signal-free memory read the scan uses for pages it cannot trust, and the fork
 * of the snapshot that a live check scans.
 * Locks: none. The caller (threads.c) serialises stops under the threads lock; `S` is the one
 * tracer's shared state.
 */
#include "stop.h"
#include "threads.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif

/* ---- raw system calls: the tracer must not touch errno (it is the caller's) ------------------ */
#if defined(__x86_64__)
static long rsys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define HAVE_RSYS 1
#elif defined(__aarch64__)
static long rsys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
#define HAVE_RSYS 1
#else
#define HAVE_RSYS 0
static long rsys6(long n, long a, long b, long c, long d, long e, long f)
{
    (void)n, (void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
    return -ENOSYS;
}
#endif
static long rsys(long n, long a, long b, long c, long d, long e) { return rsys6(n, a, b, c, d, e, 0); }

enum { PH_IDLE, PH_GO, PH_STOPPED, PH_FAILED, PH_RESUME, PH_DONE };

static struct {
    _Atomic int phase;
    int pid, caller_tid;
    int task_fd;   /* /proc/self/task of the traced process (the tracer's copy of the descriptor) */
    int result;
    const char *why;
    long timeout_ms;
    struct drip__world *w;
} S;

static void futex_wake(_Atomic int *p) { rsys(SYS_futex, (long)p, FUTEX_WAKE, 1 << 30, 0, 0); }

static void futex_wait(_Atomic int *p, int val, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    rsys(SYS_futex, (long)p, FUTEX_WAIT, val, ms >= 0 ? (long)&ts : 0, 0);
}

static long now_ms(void)
{
    struct timespec ts;
    rsys(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000L};
    rsys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ts, 0, 0);
}

static char *put_int(char *p, long v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

/* A task that is exiting (a zombie thread, or gone) cannot be seized and need not be. */
static int task_dead(int tid)
{
    char path[32];
    put_str(put_int(path, tid), "/stat")[0] = 0;
    long fd = rsys(SYS_openat, S.task_fd, (long)path, O_RDONLY | O_CLOEXEC, 0, 0);
    if (fd < 0)
        return 1;
    char buf[512];
    long n = rsys(SYS_read, fd, (long)buf, sizeof buf - 1, 0, 0);
    rsys(SYS_close, fd, 0, 0, 0, 0);
    if (n <= 0)
        return 1;
    buf[n] = 0;
    char *rp = NULL;
    for (char *q = buf; *q; q++)   /* the last ')' ends the command name */
        if (*q == ')')
            rp = q;
    return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X';
}

static struct drip__task *find(struct drip__world *w, int tid)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->tasks[i].tid == tid)
            return &w->tasks[i];
    return NULL;
}

/* Seizes and interrupts every task not seen yet; returns how many were new, or -errno. */
static int seize_new(struct drip__world *w)
{
    /* the caller's /proc/self/task, opened before the clone (so it names our process even where
     * /proc belongs to another PID namespace); each pass reads it again from the start */
    long fd = S.task_fd;
    rsys(SYS_lseek, fd, 0, SEEK_SET, 0, 0);
    int added = 0, err = 0;
    char buf[4096];
    for (;;) {
        long n = rsys(SYS_getdents64, fd, (long)buf, sizeof buf, 0, 0);
        if (n <= 0)
            break;
        for (long off = 0; off < n && !err;) {
            const char *name = buf + off + 19;   /* struct linux_dirent64: ino 8, off 8, reclen 2, type 1 */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            off += reclen;
            if (name[0] < '0' || name[0] > '9')
                continue;
            int tid = 0;
            for (const char *q = name; *q >= '0' && *q <= '9'; q++)
                tid = tid * 10 + (*q - '0');
            if (tid == S.caller_tid || find(w, tid))
                continue;
            if (w->n == w->cap) {
                err = -EOVERFLOW;
                break;
            }
            long r = rsys(SYS_ptrace, PTRACE_SEIZE, tid, 0, 0, 0);
            if (r == -ESRCH || (r == -EPERM && task_dead(tid)))
                continue;
            if (r < 0) {
                S.why = "PTRACE_SEIZE";
                err = (int)r;
                break;
            }
            w->tasks[w->n++] = (struct drip__task){.tid = tid, .state = DRIP_TASK_SEIZED};
            added++;
            rsys(SYS_ptrace, PTRACE_INTERRUPT, tid, 0, 0, 0);   /* ESRCH: its exit comes through wait4 */
        }
        if (err)
            break;
    }
    return err ? err : added;
}

/* Collects stops until every seized task has stopped or gone, or the deadline passes. */
static void wait_stops(struct drip__world *w, long deadline)
{
    long nap = 20;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < w->n; i++)
            pending += w->tasks[i].state == DRIP_TASK_SEIZED;
        if (!pending)
            return;
        int st = 0;
        long r = rsys(SYS_wait4, -1, (long)&st, __WALL | WNOHANG, 0, 0);
        if (r < 0)
            return;   /* ECHILD: nothing left to wait for */
        if (r == 0) {
            if (now_ms() >= deadline)
                return;
            nap_us(nap);
            nap = nap < 1000 ? nap * 2 : 1000;
            continue;
        }
        struct drip__task *t = find(w, (int)r);
        if (!t)
            continue;
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            t->state = DRIP_TASK_GONE;
        } else if (WIFSTOPPED(st)) {
            /* event 0: a signal-delivery-stop; keep the signal for the detach. PTRACE_EVENT_STOP:
             * our interrupt, or a group-stop the kernel re-establishes at detach. */
            if ((st >> 16) == 0 && t->state == DRIP_TASK_SEIZED)
                t->sig = WSTOPSIG(st);
            t->state = DRIP_TASK_STOPPED;
        }
    }
}

static void read_regs(struct drip__task *t)
{
    struct user_regs_struct regs;
    struct iovec io = {&regs, sizeof regs};
    if (rsys(SYS_ptrace, PTRACE_GETREGSET, t->tid, NT_PRSTATUS, (long)&io, 0) < 0) {
        t->nregs = 0;
        return;
    }
    size_t words = io.iov_len / sizeof(uintptr_t);
    if (words > DRIP_STOP_NREGS)
        words = DRIP_STOP_NREGS;
    memcpy(t->regs, &regs, words * sizeof(uintptr_t));
    t->nregs = (int)words;
#if defined(__x86_64__)
    t->sp = (uintptr_t)regs.rsp;
#elif defined(__aarch64__)
    t->sp = (uintptr_t)regs.sp;
#endif
}

static void detach_all(struct drip__world *w)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->tasks[i].state == DRIP_TASK_STOPPED)
            rsys(SYS_ptrace, PTRACE_DETACH, w->tasks[i].tid, 0, w->tasks[i].sig, 0);
    /* tasks still running with our interrupt pending are detached by the kernel when we exit */
}

static void set_phase(int ph)
{
    atomic_store(&S.phase, ph);
    futex_wake(&S.phase);
}

static int tracer(void *arg)
{
    struct drip__world *w = arg;
    rsys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (rsys(SYS_getppid, 0, 0, 0, 0, 0) != S.pid)
        rsys(SYS_exit, 0, 0, 0, 0, 0);   /* the caller died before the line above */
    while (atomic_load(&S.phase) == PH_IDLE)
        futex_wait(&S.phase, PH_IDLE, -1);
    long deadline = now_ms() + S.timeout_ms;
    int rc;
    for (;;) {
        rc = seize_new(w);
        if (rc <= 0)
            break;
        wait_stops(w, deadline);
    }
    if (rc < 0) {
        wait_stops(w, now_ms() + 100);   /* only tasks that stop can be detached */
        detach_all(w);
        S.result = rc;
        set_phase(PH_FAILED);
        rsys(SYS_exit, 0, 0, 0, 0, 0);
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->tasks[i].state == DRIP_TASK_STOPPED)
            read_regs(&w->tasks[i]);
        else if (w->tasks[i].state == DRIP_TASK_SEIZED)
            w->unstopped++;
    }
    S.result = 0;
    set_phase(PH_STOPPED);
    while (atomic_load(&S.phase) != PH_RESUME)
        futex_wait(&S.phase, PH_STOPPED, -1);
    detach_all(w);
    set_phase(PH_DONE);
    rsys(SYS_exit, 0, 0, 0, 0, 0);
    return 0;
}

/* Yama's ptrace_scope: 1 asks the tracee to name its tracer; -1 when there is no Yama. */
static int yama_scope(void)
{
    static int scope = -2;
    if (scope == -2) {
        scope = -1;
        int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char c;
            if (read(fd, &c, 1) == 1)
                scope = c - '0';
            close(fd);
        }
    }
    return scope;
}

static pid_t tracer_pid;
static int restore_dumpable = -1, ptracer_set;

/* Takes back what the stop granted the tracer: the Yama exception and dumpability. */
static void undo_permissions(void)
{
    if (ptracer_set)
        prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    if (restore_dumpable == 0)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int drip__stop_ptrace(struct drip__world *w, long timeout_ms, const char **why)
{
    if (!HAVE_RSYS) {
        *why = "no raw system calls for this architecture";
        return -ENOSYS;
    }
    int saved = errno;
    w->n = 0;
    w->unstopped = 0;
    memset(&S, 0, sizeof S);
    S.pid = getpid();
    S.caller_tid = (int)syscall(SYS_gettid);
    S.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    S.w = w;
    /* the tracer starts with every signal blocked: the program's handlers are copied into it */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    char task_rel[32];
    snprintf(task_rel, sizeof task_rel, "%d/task", (int)getpid());
    S.task_fd = drip__proc_open(task_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (S.task_fd < 0) {
        int err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        *why = "open /proc/self/task";
        errno = saved;
        return -err;
    }
    /* no CLONE_FILES: the tracer gets its own copy of the descriptor table, task_fd included */
    pid_t pid = clone(tracer, (char *)w->stack + w->stack_size, CLONE_VM | CLONE_FS | CLONE_UNTRACED, w);
    int clone_err = errno;
    close(S.task_fd);   /* ours; the tracer keeps its copy */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        *why = "clone";
        errno = saved;
        return -clone_err;
    }
    tracer_pid = pid;
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    restore_dumpable = -1;
    if (dumpable == 0 && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0)
        restore_dumpable = 0;
    ptracer_set = yama_scope() == 1 && prctl(PR_SET_PTRACER, pid, 0, 0, 0) == 0;
    set_phase(PH_GO);
    /* wait for "stopped" or "failed"; a tracer killed on the way (seccomp) counts as failed */
    long limit = now_ms() + S.timeout_ms + 5000;
    int ph, st;
    while ((ph = atomic_load(&S.phase)) == PH_GO) {
        futex_wait(&S.phase, PH_GO, 10);
        if ((ph = atomic_load(&S.phase)) != PH_GO)
            break;
        int reaped = waitpid(pid, &st, __WALL | WNOHANG) == pid;
        if (!reaped && now_ms() <= limit)
            continue;
        if (!reaped) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, __WALL);
        }
        tracer_pid = 0;
        if ((ph = atomic_load(&S.phase)) == PH_GO) {
            S.result = -ECHILD;
            S.why = "the tracer task died";
            ph = PH_FAILED;
        }
        break;
    }
    int rc = 0;
    if (ph == PH_FAILED) {
        rc = S.result ? S.result : -EPERM;
        *why = S.why ? S.why : "ptrace";
        if (tracer_pid) {
            waitpid(pid, &st, __WALL);
            tracer_pid = 0;
        }
        undo_permissions();
    }
    errno = saved;
    return rc;
}

void drip__stop_resume(struct drip__world *w)
{
    (void)w;
    if (!tracer_pid)
        return;
    int saved = errno, st;
    set_phase(PH_RESUME);
    while (waitpid(tracer_pid, &st, __WALL) < 0 && errno == EINTR)
        ;
    tracer_pid = 0;
    undo_permissions();
    errno = saved;
}

/* ---- reading memory that may not be there ------------------------------------------------- */
/* process_vm_readv refused (a seccomp filter, an old kernel): the same read through
 * /proc/thread-self/mem, where memory past a file's end or a racing munmap gives EIO, not a
 * signal. Opened per read (only in this fallback), so no descriptor of drip's stays open for
 * the program to see, and a forked copy reads its own memory, not the parent's. */
static long mem_read(void *buf, uintptr_t addr, size_t len)
{
    char path[64];
    int dir = drip__proc_name("thread-self/mem", path, sizeof path);
    long fd = rsys(SYS_openat, dir, (long)path, O_RDONLY | O_CLOEXEC, 0, 0);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        long r = rsys6(SYS_pread64, fd, (long)((char *)buf + got), (long)(len - got), (long)(addr + got), 0, 0);
        if (r == -EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    rsys(SYS_close, fd, 0, 0, 0, 0);
    return (long)got;
}

long drip__safe_read(void *buf, uintptr_t addr, size_t len)
{
    static int unavailable;   /* 1: process_vm_readv refused; 2: /proc/thread-self/mem too */
    if (unavailable == 2)
        return -1;
    if (unavailable == 1) {
        long r = mem_read(buf, addr, len);
        if (r < 0)
            unavailable = 2;
        return r;
    }
    struct iovec local = {buf, len}, remote = {(void *)addr, len};
    /* the calling task's id, not the process's: once main has called pthread_exit the leader
     * has no memory map left to read through */
    long r = rsys6(SYS_process_vm_readv, rsys(SYS_gettid, 0, 0, 0, 0, 0), (long)&local, 1, (long)&remote, 1, 0);
    if (r == -ENOSYS || r == -EPERM) {
        unavailable = 1;
        return drip__safe_read(buf, addr, len);
    }
    return r < 0 ? 0 : r;
}

int drip__snapshot_fork(void)
{
    /* clone with no exit signal: no SIGCHLD, and wait(-1) without __WALL never sees it */
#if defined(__x86_64__) || defined(__aarch64__)
    return (int)rsys(SYS_clone, 0, 0, 0, 0, 0);
#else
    return -ENOSYS;
#endif
}
