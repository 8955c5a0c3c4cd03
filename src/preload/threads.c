/* threads.c — behind the interposed pthread functions (interpose.c): a registry of the program's
 * threads with the stack that created each one, and the stop-the-world used by the exit scan and
 * the live leak check.
 *
 * A thread is registered by the start trampoline (in the new thread) and marked finished by a
 * pthread key destructor, which runs for every way a thread can end (return, pthread_exit,
 * cancellation). Entries of threads that finished and were joined or detached are dropped;
 * those that finished without either stay, as a resource leak the report names.
 * Stop the world: with ptrace from a tracer task (stop.c), which the program cannot observe: its
 * sleeps are restarted by the kernel and its signal masks do not matter. Each registered thread's
 * stopped stack pointer and a copy of its registers are published in its entry. Where ptrace is
 * refused (already traced by gdb or strace, Yama ptrace_scope 3, seccomp), drip says so once on
 * stderr and falls back to a signal: the caller sends `stop_signal` to every other running
 * thread; the handler (on the thread's own stack, so its frame and the saved registers lie inside
 * the range the scan reads) publishes its stack pointer and waits until the scan is over. That
 * fallback is visible (a sleep interrupted by it returns EINTR) and cannot pause a thread that
 * blocks the signal (the scan then reads that thread's whole stack after
 * scan_threads_timeout_ms).
 * How threads end (the stacks of ended threads, main's pthread_exit) is thread_end.c's.
 * Lock: `mu` guards the list, the joined/detached flags and thread_end.c's dead stacks. Leaf lock.
 */
#include "internal.h"
#include "helper.h"
#include "background.h"
#include "arena.h"
#include "counters.h"
#include "depot.h"
#include "lock.h"
#include "table.h"
#include "threads.h"
#include "unwind.h"
#include "stop.h"
#include "scan.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

DRIP_TLS struct drip__thread *drip__self;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct drip__thread *threads;
static pthread_key_t exit_key;
static atomic_int world_stopped;
static int stop_sig;

static int (*real_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static int (*real_join)(pthread_t, void **);
static int (*real_detach)(pthread_t);

struct start {
    void *(*fn)(void *);
    void *arg;
    struct drip__thread *t;
};

static void resolve(void)
{
    if (!real_create) {
        real_join = dlsym(RTLD_NEXT, "pthread_join");
        real_detach = dlsym(RTLD_NEXT, "pthread_detach");
        real_create = dlsym(RTLD_NEXT, "pthread_create");
    }
}

static void unlink_locked(struct drip__thread *t)
{
    DRIP_ASSERT_HELD(&mu);
    for (struct drip__thread **pp = &threads; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            drip__arena_free(t, sizeof *t);
            return;
        }
}

static void on_thread_exit(void *p)
{
    struct drip__thread *t = p;
    struct drip__entry e = drip__enter();
    drip__counters_release();
    drip__table_release();
    drip__depot_release();
    drip__cfi_release();
    drip__leave(e);
    pthread_mutex_lock(&mu);
    atomic_store(&t->state, DRIP_THREAD_FINISHED);
    drip__threads_dead_add(t);
    if (t->detached)
        unlink_locked(t);
    pthread_mutex_unlock(&mu);
    drip__self = NULL;
    if (drip__threads_main_exited())
        drip__background_poke();   /* maybe the last one: the ticker looks (drip__threads_orphaned) */
}

static void stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
    pthread_attr_t a;
    void *addr = NULL;
    size_t size = 0;
    *lo = *hi = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstack(&a, &addr, &size);
        pthread_attr_destroy(&a);
        *lo = (uintptr_t)addr;
        *hi = (uintptr_t)addr + size;
    }
}

static void *trampoline(void *p)
{
    struct start st = *(struct start *)p;
    drip__thread_ret = (uintptr_t)__builtin_return_address(0);
    struct drip__entry e = drip__enter();
    drip__arena_free(p, sizeof st);
    struct drip__thread *t = st.t;
    t->tid = pthread_self();
    stack_bounds(&t->stack_lo, &t->stack_hi);
    t->frames_hi = (uintptr_t)__builtin_frame_address(0) + 2 * sizeof(void *);
    drip__stack_hi = t->stack_hi;
    pthread_mutex_lock(&mu);   /* a stack glibc reuses is this live thread's now */
    drip__threads_dead_forget(t->stack_lo, t->stack_hi, (uintptr_t)pthread_self());
    pthread_mutex_unlock(&mu);
    /* only now: a scan takes a thread without an os_tid for one not started, whose argument
     * (t->start_arg) is a root; with one, it reads the thread's stack, which must no longer be
     * on the dead list (a reused stack of an ended thread) by then, else neither holds the
     * argument (lsan_check_before_thread_started) */
    atomic_thread_fence(memory_order_seq_cst);
    t->os_tid = (int)syscall(SYS_gettid);
    drip__self = t;
    pthread_setspecific(exit_key, t);
    drip__leave(e);
    return st.fn(st.arg);
}

/* drip's static TLS (the per-thread caches of depot.c and cfi.c: about 40 KB) is carved out of
 * every thread's stack by glibc, so a thread created with a small stack size has that much less
 * than without drip, and one of 32 KiB or less cannot be created at all (EINVAL). The size of
 * drip's block, rounded up to a page, is given back on top of a size the program asks for. */
static size_t own_tls;

static int tls_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t me = (uintptr_t)data;
    bool mine = false;
    size_t tls = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && me >= a && me < a + ph->p_memsz)
            mine = true;
        if (ph->p_type == PT_TLS)
            tls = ph->p_memsz + ph->p_align;
    }
    if (!mine)
        return 0;
    own_tls = (tls + 4095) & ~(size_t)4095;
    return 1;
}

/* A copy of the program's attributes with drip's TLS added to the stack size it asked for, or
 * NULL (no size asked, or a stack of the program's own). glibc's pthread_attr_t is a plain
 * struct; the copy shares its extension (CPU set, signal mask) and is never destroyed. */
static const pthread_attr_t *with_tls_room(const pthread_attr_t *attr, pthread_attr_t *copy)
{
    size_t asked = 0, size = 0;
    void *addr = NULL;
    if (!attr || !own_tls || pthread_attr_getstacksize(attr, &asked) != 0 || asked >= ((size_t)1 << 30))
        return NULL;
    /* no size asked (glibc answers its default): as without attributes, or the stack would not
     * match the size of glibc's cached stacks and the program's threads would map new ones */
    pthread_attr_t def;
    size_t dsize = 0;
    if (pthread_getattr_default_np(&def) == 0) {
        int got = pthread_attr_getstacksize(&def, &dsize);
        pthread_attr_destroy(&def);
        if (got == 0 && asked == dsize)
            return NULL;
    }
    /* glibc gives the stack's top less its size: 0 less the size when no stack was given */
    if (pthread_attr_getstack(attr, &addr, &size) != 0 || (uintptr_t)addr + size != 0)
        return NULL;
    memcpy(copy, attr, sizeof *copy);
    return pthread_attr_setstacksize(copy, asked + own_tls) == 0 ? copy : NULL;
}

int drip__pthread_create(pthread_t *tid, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    resolve();
    if (drip__guard || !atomic_load(&drip__g.tracking))
        return real_create(tid, attr, fn, arg);
    struct drip__entry e = drip__enter();
    struct drip__thread *t = drip__arena_alloc(sizeof *t);
    struct start *st = drip__arena_alloc(sizeof *st);
    if (!t || !st) {
        drip__arena_free(t, sizeof *t);
        drip__arena_free(st, sizeof *st);
        drip__leave(e);
        return real_create(tid, attr, fn, arg);
    }
    uintptr_t frames[DRIP_MAX_FRAMES];
    uint64_t hash;
    int n = drip__unwind(frames, (int)drip__opt.max_frames, &hash);
    t->create_site = drip__depot_intern_hashed(frames, n, hash);
    t->start_routine = (uintptr_t)fn;
    t->start_arg = (uintptr_t)arg;
    t->gen = atomic_load_explicit(&drip__generation, memory_order_relaxed);
    atomic_store(&t->state, DRIP_THREAD_RUNNING);
    int ds = PTHREAD_CREATE_JOINABLE;
    if (attr)
        pthread_attr_getdetachstate(attr, &ds);
    t->detached = (ds == PTHREAD_CREATE_DETACHED);
    *st = (struct start){fn, arg, t};
    pthread_mutex_lock(&mu);
    t->next = threads;
    threads = t;
    pthread_mutex_unlock(&mu);
    drip__leave(e);
    pthread_attr_t roomier;
    const pthread_attr_t *use = with_tls_room(attr, &roomier);
    int rc = real_create(tid, use ? use : attr, trampoline, st);
    if (rc == 0) {
        /* the creator may detach or join before the new thread has run its trampoline */
        pthread_mutex_lock(&mu);
        t->tid = *tid;
        pthread_mutex_unlock(&mu);
        if (DRIP_UNLIKELY(atomic_load_explicit(&drip__ticks_inline, memory_order_relaxed))) {
            e = drip__enter();   /* multi-threaded now: drip's ticker may start (background.c) */
            drip__background_threaded();
            drip__leave(e);
        }
    } else {
        e = drip__enter();
        pthread_mutex_lock(&mu);
        unlink_locked(t);
        pthread_mutex_unlock(&mu);
        drip__arena_free(st, sizeof *st);
        drip__leave(e);
    }
    return rc;
}

static struct drip__thread *find_locked(pthread_t tid)
{
    DRIP_ASSERT_HELD(&mu);
    for (struct drip__thread *t = threads; t; t = t->next)
        if (pthread_equal(t->tid, tid) && t->tid)
            return t;
    return NULL;
}

int drip__pthread_join(pthread_t tid, void **ret)
{
    resolve();
    int rc = real_join(tid, ret);
    if (rc == 0) {
        pthread_mutex_lock(&mu);
        struct drip__thread *t = find_locked(tid);
        if (t && atomic_load(&t->state) == DRIP_THREAD_FINISHED)
            unlink_locked(t);
        pthread_mutex_unlock(&mu);
    }
    return rc;
}

int drip__pthread_detach(pthread_t tid)
{
    resolve();
    pthread_mutex_lock(&mu);
    struct drip__thread *t = find_locked(tid);
    if (t) {
        t->detached = 1;
        if (atomic_load(&t->state) == DRIP_THREAD_FINISHED)
            unlink_locked(t);
    }
    pthread_mutex_unlock(&mu);
    return real_detach(tid);
}

/* ---- stop the world ------------------------------------------------------------------------- */
void drip__uc_regs(const void *uc, uintptr_t *lo, uintptr_t *hi)
{
    const ucontext_t *u = uc;
    *lo = (uintptr_t)&u->uc_mcontext.gregs[0];
    *hi = (uintptr_t)&u->uc_mcontext.gregs[NGREG];
}

uintptr_t drip__interrupted_sp(const void *uc)
{
#if defined(__x86_64__)
    return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RSP] - 128;
#else
    return (uintptr_t)uc;
#endif
}

static void stop_handler(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    struct drip__thread *t = drip__self;
    if (t && atomic_load(&world_stopped)) {
        /* the interrupted registers (in the ucontext) and the stack above the interrupted
         * frame are the thread's roots; the FPU save area between them is skipped, since drip's
         * own hooks leave block addresses in vector registers */
        uintptr_t lo, hi;
        drip__uc_regs(uc, &lo, &hi);
        atomic_store(&t->stopped_regs_lo, lo);
        atomic_store(&t->stopped_regs_hi, hi);
        atomic_store(&t->stopped_sp, drip__interrupted_sp(uc));
        atomic_store(&t->stopped, 1);
        struct timespec ts = {0, 200000};
        while (atomic_load(&world_stopped))
            nanosleep(&ts, NULL);
        atomic_store(&t->stopped, 0);
    }
    errno = saved;
}

/* The fallback: a signal to each registered thread, then a wait for each to publish its stop. */
static int stop_with_signal(void)
{
    int pid = getpid(), sent = 0, stopped = 0;
    drip__arena_lock_all();   /* no thread may pause while holding it: the scan allocates */
    atomic_store(&world_stopped, 1);
    for (struct drip__thread *t = threads; t; t = t->next) {
        if (t == drip__self || atomic_load(&t->state) != DRIP_THREAD_RUNNING || !t->os_tid)
            continue;
        if (syscall(SYS_tgkill, pid, t->os_tid, stop_sig) == 0)
            sent++;
    }
    /* wait for every signalled thread, up to the timeout */
    long waited_us = 0, limit_us = drip__opt.scan_threads_timeout_ms * 1000L;
    for (;;) {
        stopped = 0;
        for (struct drip__thread *t = threads; t; t = t->next)
            stopped += atomic_load(&t->stopped);
        if (stopped >= sent || waited_us >= limit_us)
            break;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
        waited_us += 100;
    }
    drip__arena_unlock_all();
    return stopped;
}

enum { STOPPED_NONE, STOPPED_PTRACE, STOPPED_SIGNAL, STOPPED_ALONE };
static int stopped_by;
static bool frozen, ptrace_refused, ticker_parked;
static struct drip__world world;

#if defined(__x86_64__)
#define RED_ZONE 128   /* a leaf function's locals may lie below the stack pointer */
#else
#define RED_ZONE 0
#endif

/* Stops every task with ptrace; publishes each registered thread's stop. Returns the number of
 * registered threads stopped, or -1 when ptrace cannot be used (said once on stderr). */
static int stop_with_ptrace(void)
{
    size_t want = 64;
    for (struct drip__thread *t = threads; t; t = t->next)
        want += 2;
    if (!world.stack) {
        world.stack_size = 64 << 10;
        world.stack = drip__arena_alloc(world.stack_size);
        if (!world.stack)
            return -1;
    }
    for (int attempt = 0; attempt < 6; attempt++, want *= 4) {
        if (world.cap < want) {
            drip__arena_free(world.tasks, world.cap * sizeof *world.tasks);
            world.cap = 0;
            world.tasks = drip__arena_alloc(want * sizeof *world.tasks);
            if (!world.tasks)
                return -1;
            world.cap = want;
        }
        const char *why = "ptrace";
        drip__arena_lock_all();   /* no thread may stop while holding it: the scan allocates */
        int rc = drip__stop_ptrace(&world, drip__opt.scan_threads_timeout_ms, &why);
        drip__arena_unlock_all();
        if (rc == -EOVERFLOW)
            continue;   /* threads were created faster than the array grew */
        if (rc < 0) {
            /* a refusal stays (an existing tracer, Yama, seccomp, a kernel without
             * PTRACE_SEIZE: EIO); a shortage (EAGAIN from RLIMIT_NPROC, ENOMEM) may pass:
             * ptrace is tried again at the next stop */
            if (rc == -EPERM || rc == -EACCES || rc == -ENOSYS || rc == -EIO || rc == -EINVAL)
                ptrace_refused = true;
            static bool said;
            if (!said)
                drip__say("drip: cannot stop threads with ptrace (%s: %s): pausing them with signal %d instead, "
                                "so a sleep in another thread may end early (EINTR)\n", why, strerror(-rc), stop_sig);
            said = true;
            return -1;
        }
        int stopped = 0;
        for (struct drip__thread *t = threads; t; t = t->next) {
            if (t == drip__self || atomic_load(&t->state) != DRIP_THREAD_RUNNING || !t->os_tid)
                continue;
            for (size_t i = 0; i < world.n; i++) {
                struct drip__task *k = &world.tasks[i];
                if (k->tid != t->os_tid || k->state != DRIP_TASK_STOPPED || !k->nregs)
                    continue;
                atomic_store(&t->stopped_regs_lo, (uintptr_t)&k->regs[0]);
                atomic_store(&t->stopped_regs_hi, (uintptr_t)&k->regs[k->nregs]);
                atomic_store(&t->stopped_sp, k->sp - RED_ZONE);
                atomic_store(&t->stopped, 1);
                stopped++;
            }
        }
        frozen = world.unstopped == 0;
        stopped_by = STOPPED_PTRACE;
        return stopped;
    }
    return -1;
}

/* Whether the calling thread is the only task of the process that can run: it is alone (a
 * single-threaded program, a forked child), or the one other task is drip's ticker, parked
 * (ticker_parked is then set). Most short programs end so: they need no tracer, no ptrace and
 * none of the scheduling a stop waits for. The list is read once; no other task can create one
 * while the answer holds. */
static bool world_alone(void)
{
    char rel[32];
    snprintf(rel, sizeof rel, "%d/task", (int)getpid());
    int fd = drip__proc_open(rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    int me = (int)syscall(SYS_gettid), other = 0, others = 0;
    char buf[2048];
    bool ok = true;
    for (long n; ok && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) != 0;) {
        if (n < 0) {
            ok = false;
            break;
        }
        for (long off = 0; off < n;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
            int tid = atoi(d->name);
            if (tid > 0 && tid != me && !(tid == (int)getpid() && drip__threads_main_exited() && drip__threads_leader_gone())) {
                other = tid;
                others++;
            }
            off += d->reclen;
        }
    }
    close(fd);
    if (!ok || others > 1)
        return false;
    if (others == 1 && !(ticker_parked = drip__ticker_park(other)))
        return false;
    return true;
}

int drip__threads_stop_world(void)
{
    int saved = errno;
    frozen = false;
    stopped_by = STOPPED_NONE;
    for (struct drip__thread *t = threads; t; t = t->next)
        atomic_store(&t->stopped, 0);
    ticker_parked = false;
    if (world_alone()) {
        frozen = true;   /* nothing else runs: memory is read directly */
        stopped_by = STOPPED_ALONE;
        errno = saved;
        return 0;
    }
    int stopped = ptrace_refused ? -1 : stop_with_ptrace();
    if (stopped < 0) {
        stopped = stop_with_signal();
        stopped_by = STOPPED_SIGNAL;
    }
    errno = saved;
    return stopped;
}

bool drip__threads_world_frozen(void) { return frozen; }

void drip__threads_start_world(void)
{
    if (stopped_by == STOPPED_ALONE) {
        if (ticker_parked)
            drip__ticker_unpark();
        ticker_parked = false;
    } else if (stopped_by == STOPPED_PTRACE) {
        drip__stop_resume(&world);
        for (struct drip__thread *t = threads; t; t = t->next)
            atomic_store(&t->stopped, 0);
    } else {
        atomic_store(&world_stopped, 0);
    }
    stopped_by = STOPPED_NONE;
    frozen = false;
}

void drip__threads_lock(void) { pthread_mutex_lock(&mu); }
void drip__threads_unlock(void) { pthread_mutex_unlock(&mu); }
struct drip__thread *drip__threads_list(void)
{
    DRIP_ASSERT_HELD(&mu);
    return threads;
}

/* Threads of the parent (and of its parents) that were running at fork: their stacks are in
 * the child's memory as they were then, and the blocks they pointed to were the parent's to
 * free, not leaks of the child. Only the scan reads this list. */
static struct drip__thread *orphans;

void drip__threads_child_reset(void)
{
    pthread_mutex_init(&mu, NULL);
    /* only the forking thread lives on in the child */
    struct drip__thread *keep = NULL;
    for (struct drip__thread *t = threads, *next; t; t = next) {
        next = t->next;
        if (t == drip__self) {
            t->next = NULL;
            t->os_tid = (int)syscall(SYS_gettid);
            keep = t;
        } else if (atomic_load(&t->state) == DRIP_THREAD_RUNNING) {
            t->next = orphans;
            orphans = t;
        } else {
            drip__arena_free(t, sizeof *t);
        }
    }
    threads = keep;
}

struct drip__thread *drip__threads_orphans(void) { return orphans; }

/* The main thread has no trampoline: register it here so that an exit() called from another
 * thread stops and scans it like any other. Its stack top is read from the maps at exit. */
void drip__threads_register_main(void)
{
    struct drip__thread *t = drip__arena_alloc(sizeof *t);
    if (!t)
        return;
    t->tid = pthread_self();
    t->os_tid = getpid();
    t->is_main = 1;
    atomic_store(&t->state, DRIP_THREAD_RUNNING);
    drip__stack_hi = drip__unwind_main_top();   /* 0 when the kernel gave no AT_EXECFN */
    pthread_mutex_lock(&mu);
    t->next = threads;
    threads = t;
    pthread_mutex_unlock(&mu);
    drip__self = t;
}

void drip__threads_init(void)
{
    resolve();
    dl_iterate_phdr(tls_cb, (void *)(uintptr_t)&drip__threads_init);
    pthread_key_create(&exit_key, on_thread_exit);
    stop_sig = drip__opt.stop_signal > 0 ? (int)drip__opt.stop_signal : SIGRTMAX - 3;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = stop_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(stop_sig, &sa, NULL);
}
