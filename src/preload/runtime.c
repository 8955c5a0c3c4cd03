/* runtime.c — the life of the tracker inside a process: start (options, unwinder, thread
 * registry), fork, fatal signals, and the report at exit.
 *
 * Start-up does no I/O and starts no thread: it parses DRIP_OPTIONS, finds drip's own address
 * range (its frames are hidden from stacks) and switches tracking on. The report is written
 * from an ELF destructor, which runs after the program's own destructors and atexit handlers,
 * from the _exit hook, or from a fatal-signal handler, whichever comes first.
 */
#include "internal.h"
#include "arena.h"
#include "background.h"
#include "counters.h"
#include "depot.h"
#include "exec.h"
#include "export.h"
#include "foreign.h"
#include "growth.h"
#include "helper.h"
#include "hooks.h"
#include "lock.h"
#include "mathlib.h"
#include "modules.h"
#include "ownload.h"
#include "report.h"
#include "runtime.h"
#include "scan.h"
#include "table.h"
#include "threads.h"
#include "unwind.h"
#include "unwind_lu.h"
#include "signals.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

DRIP_TLS int drip__guard;
DRIP_TLS int *drip__errno_at;
struct drip__state drip__g;
struct drip_options drip__opt;
int drip__is_fork_child;
uint32_t drip__fork_gen;
int drip__fork_parent;

/* Whether this process is the one the user started: only that one writes its reports to the
 * file names given; forked children and the programs they exec (with follow_exec) add .<pid>.
 * `drip run` sets DRIP_ROOT_PID in the program's environment; under plain LD_PRELOAD the first
 * process sets it for its descendants when it follows execs. */
int drip__is_root_process(void)
{
    if (drip__is_fork_child)
        return 0;
    const char *root = drip__exec_root_pid();   /* drip's copy: the program's environment hides it */
    return !root || atoi(root) == (int)getpid();
}

static int self_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t me = (uintptr_t)data, lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
    }
    if (me >= lo && me < hi) {
        drip__g.self_lo = lo;
        drip__g.self_hi = hi;
        return 1;
    }
    return 0;
}

/* Takes libdrip.so out of LD_PRELOAD in place (no allocation), so that programs this one execs
 * run untraced unless follow_exec is set. Plain LD_PRELOAD only, where the variables are the
 * user's (an emptied LD_PRELOAD stays: it tells exec.c the program did not clear its
 * environment); under drip run, drip__exec_hide restores the environment the user had. */
static void unpreload_self(void)
{
    char *v = getenv("LD_PRELOAD");
    if (!v)
        return;
    char *out = v;
    for (char *p = v; *p;) {
        while (*p == ' ' || *p == ':')
            p++;
        char *start = p;
        while (*p && *p != ' ' && *p != ':')
            p++;
        size_t len = (size_t)(p - start);
        if (!len)
            continue;
        int is_drip = len >= 10 && !memcmp(p - 10, "libdrip.so", 10);
        if (!is_drip) {
            if (out != v)
                *out++ = ':';
            memmove(out, start, len);
            out += len;
        }
    }
    *out = 0;
}

/* ---- fork -----------------------------------------------------------------------------------
 * prepare enters drip and takes the world (threads, depot, table: lock.h) and the arena, so the
 * child starts with records, sites and drip's memory consistent; parent and child leave. One
 * fork at a time is between prepare and parent/child (prepare holds every lock), so the entry
 * is kept in a static. errno on leaving is fork's own result, not the value prepare saw: the
 * program must see fork's errno.
 * The other locks are not taken at fork; the child re-initialises them (or never blocks on
 * them), and that is safe because the child has only the forking thread, and what each guards is
 * either rebuilt or consistent whatever a lost holder was doing:
 *   job_mu (background.c): not re-initialised: only drip's threads, which the child does not
 *     have, lock it; a stop of the world only try-locks it, and not with ticker_tid 0;
 *   G.mu (growth.c): the child's growth series start empty (drip__growth_child_reset);
 *   refresh_mu (modules.c), names_mu (unloaded.c): the module table is an immutable array
 *     published by one atomic store; an unloaded module's names are linked in once written;
 *   load_mu (unwind_lu.c): held only while libunwind is being dlopen'ed; a child forked
 *     meanwhile finds it not loaded yet and loads it on its own first need;
 *   serve_mu (helper.c): the connection it guards is the parent's symbolizer process, which the
 *     child drops on first use (serve_owner) and replaces with its own.
 * Taking them at fork instead would make fork wait for a growth tick or a whole exchange with
 * the symbolizer (up to a minute). */
static struct drip__entry fork_entry;

static void fork_prepare(void)
{
    fork_entry = drip__enter();
    /* what every child's report would read again: once here, before any lock (export.c) */
    if (drip__opt.report && !drip__opt.child_silent_after_fork && atomic_load(&drip__g.tracking))
        drip__export_fork_prime();
    drip__lock_world();
    drip__exec_fork_prepare();   /* exec.c: made at the first fork only */
    drip__arena_lock_all();   /* DRIP_RANK_ARENA: last */
}

static void fork_parent(void)
{
    drip__arena_unlock_all();
    drip__unlock_world();
    fork_entry.saved_errno = *fork_entry.errno_at;   /* fork's result stays */
    drip__leave(fork_entry);
}

static void fork_child(void)
{
    fork_entry.saved_errno = *fork_entry.errno_at;
    drip__background_child();
    drip__growth_child_reset();
    drip__counters_child_reset();
    drip__modules_child_reset();
    drip__arena_child_reset();
    drip__table_child_reset();
    drip__depot_child_reset();
    drip__threads_child_reset();
    drip__helper_child_reset();
    drip__lu_child_reset();
    drip__own_child_reset();
    drip__lock_child_reset();
    drip__is_fork_child = 1;
    drip__g.pid = getpid();
    /* what the child allocates from now on is its own; older blocks are the parent's */
    drip__fork_parent = (int)getppid();
    drip__fork_gen = atomic_fetch_add(&drip__generation, 1) + 1;
    drip__exec_fork_child();
    if (drip__opt.child_silent_after_fork) {
        /* nothing to record for a report that will not be written: the child runs at full speed */
        atomic_store(&drip__g.tracking, 0);
        atomic_store(&drip__g.reported, 1);
    }
    drip__leave(fork_entry);
}

/* ---- fatal signals (signals.c installs the handler where the program has SIG_DFL) --------- */
static volatile sig_atomic_t dying_signal;

/* If the report hangs (the crash came from inside libc's allocator, whose lock the report
 * would need), die by the original signal anyway. */
static void watchdog(int sig)
{
    int s = dying_signal ? dying_signal : SIGKILL;
    drip__signal_default(s);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, s);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(s);
    _Exit(128 + s);
}

void drip__on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    drip__signal_default(sig);
    if (!dying_signal) {
        dying_signal = sig;
        drip__fatal_uc = uc;
        drip__scan_start = drip__interrupted_sp(uc);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = watchdog;
        sigemptyset(&sa.sa_mask);
        drip__real_sigaction(SIGALRM, &sa, NULL);
        alarm(10);
        drip__report_at_exit(-1);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
}

/* ---- start and exit ------------------------------------------------------------------------- */
void drip__init(void)
{
    static atomic_int once;
    if (atomic_exchange(&once, 1))
        return;
    struct drip__entry e = drip__enter();
    drip__options_defaults(&drip__opt);
    char err[256] = "";
    const char *http = getenv("DRIP_HTTP");   /* DRIP_HTTP=host:port, as docs/cli.md says */
    if (drip__options_parse(&drip__opt, getenv("DRIP_OPTIONS"), err, sizeof err) != 0 ||
        (http && *http && !drip__opt.http[0] &&
         drip__options_set(&drip__opt, "http", 4, http, strlen(http), err, sizeof err) != 0)) {
        /* a bad option must not change the program: say so once and stay out of the way */
        static const char pre[] = "drip: DRIP_OPTIONS: ";
        ssize_t ignored = write(2, pre, sizeof pre - 1);
        ignored = write(2, err, strlen(err));
        ignored = write(2, " (drip is not tracking this process)\n", 37);
        (void)ignored;
        drip__exec_hide();   /* the program still sees its own environment */
        drip__leave(e);
        return;
    }
    if (drip__opt.max_frames < 1 || drip__opt.max_frames > DRIP_MAX_FRAMES)
        drip__opt.max_frames = DRIP_MAX_FRAMES;
    drip__g.pid = getpid();
    drip__report_dest_init();   /* helper.c: the report's destination and start directory, kept now */
    dl_iterate_phdr(self_cb, (void *)(uintptr_t)&drip__init);
    drip__unwind_init();
    if (drip__opt.sample)
        drip__mathlib_init();   /* the sampler's log: libm opened here, not in a hook */
    drip__sampling_init();
    drip__threads_init();
    drip__threads_register_main();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    drip__exec_init();
    /* after every reader of drip's variables (options, report_dest_init's symbolizer socket) */
    if (!drip__exec_hide() && !drip__opt.follow_exec)
        unpreload_self();
    atomic_store(&drip__g.initialised, 1);
    if (drip__opt.handle_signals)
        drip__signals_init();
    drip__g.foreign = drip__foreign_detect();
    if (!drip__g.foreign)   /* foreign.c: with the program's own malloc, drip tracks nothing */
        atomic_store(&drip__g.tracking, 1);
    drip__leave(e);
}

/* Writes the report once per process; returns nonzero when the exit status must become
 * error_exitcode. status < 0: dying from a signal (the exit status is the signal's). */
static int report_once(void)
{
    /* a vfork child shares the parent's memory, drip's state included: it must leave it alone
     * (fork children have their own pid in drip__g.pid, set by fork_child) */
    if (getpid() != drip__g.pid)
        return 0;
    if (!atomic_load(&drip__g.initialised) || atomic_exchange(&drip__g.reported, 1))
        return 0;
    if (!drip__opt.report) {
        atomic_store(&drip__g.tracking, 0);
        return 0;
    }
    struct drip__entry e = drip__enter();
    int leaked = drip__report();
    const char *lost = drip__report_lost();   /* a report file it may no longer create (setpriv) */
    if (lost)
        drip__status_lost(lost);
    else
        drip__status_reported();
    drip__leave(e);
    return leaked && drip__opt.error_exitcode != 0;
}

/* ---- the report's own stack ----------------------------------------------------------------
 * The report needs about 200 KB of stack (the raw export, the exchange with the symbolizer, the
 * writer), and exit() may come from where there is far less: a thread created with a 16-64 KiB
 * stack, a signal handler on a small sigaltstack. So it runs on a stack of drip's own, mapped at
 * exit (lazily: only the pages touched cost), with a guard page below, and switched to with
 * swapcontext. The caller's stack stays a root (the scan starts at drip__scan_start, noted before
 * the switch); the report's own stack is not one (roots.c: drip__roots_own_range). On the main
 * thread's own stack with room to spare (room_here), the report runs where it is. */
enum { REPORT_STACK = 2 << 20 };
static int report_result;

static int report_once(void);
static void report_entry(void) { report_result = report_once(); }

/* Whether the report can run where it is: on the main thread's stack (not on a signal stack),
 * with REPORT_STACK * 2 left under RLIMIT_STACK. Saves mapping, guarding and unmapping a stack of
 * its own in each `$(echo)` subshell (the pages the report touches are page faults either way). */
static int room_here(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0), top = (uintptr_t)__libc_stack_end;
    struct rlimit rl;
    stack_t ss;
    if (!top || sp >= top || getrlimit(RLIMIT_STACK, &rl) != 0 || sigaltstack(NULL, &ss) != 0 ||
        (ss.ss_flags & SS_ONSTACK))
        return 0;
    size_t used = (size_t)(top - sp);
    return rl.rlim_cur == RLIM_INFINITY ? used < ((size_t)64 << 20)
                                        : rl.rlim_cur > used && rl.rlim_cur - used >= 2 * (size_t)REPORT_STACK;
}

static int report_on_own_stack(void)
{
    if (getpid() != drip__g.pid || !atomic_load(&drip__g.initialised) || atomic_load(&drip__g.reported))
        return report_once();   /* nothing to write (a vfork child must not even map) */
    if (room_here())
        return report_once();   /* the main thread's stack has room: scanned from drip__scan_start up */
    struct drip__entry e = drip__enter();   /* mmaps.c: the mapping is drip's, not the program's */
    size_t guard = (size_t)sysconf(_SC_PAGESIZE), len = REPORT_STACK + guard;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED || mprotect(m, guard, PROT_NONE) != 0) {
        if (m != MAP_FAILED)
            munmap(m, len);
        drip__leave(e);
        return report_once();   /* the caller's stack, as before */
    }
    drip__roots_own_range((uintptr_t)m + guard, (uintptr_t)m + len);
    ucontext_t back, on;
    getcontext(&on);
    on.uc_stack.ss_sp = m + guard;
    on.uc_stack.ss_size = REPORT_STACK;
    on.uc_link = &back;
    makecontext(&on, report_entry, 0);
    report_result = 0;
    if (swapcontext(&back, &on) != 0)
        report_result = report_once();
    munmap(m, len);
    drip__roots_own_range((uintptr_t)m + guard, 0);
    drip__leave(e);
    return report_result;
}

uintptr_t drip__scan_start;
void *drip__fatal_uc;
uintptr_t drip__exit_regs[6];
int drip__exit_regs_valid;

void drip__note_exit(uintptr_t cfa)
{
    /* a vfork child shares this memory: it must not move the parent's scan */
    if (drip__scan_start || !atomic_load(&drip__g.initialised) || atomic_load(&drip__g.reported) ||
        getpid() != drip__g.pid)
        return;
    drip__scan_start = cfa;
    drip__exit_regs_valid = 1;
}

__attribute__((noinline)) void drip__report_at_exit(int status)
{
    /* the program's callee-saved registers may hold its only pointer to a block: store them
     * here, at the boundary between the program's frames and drip's, where the scan begins */
    volatile uintptr_t regs[6] = {0};
    DRIP_SPILL_CALLEE_SAVED(regs);
    if (!drip__scan_start)
        drip__scan_start = (uintptr_t)regs;
    drip__background_exit();
    if (report_on_own_stack() && status >= 0) {
        fflush(NULL);
        drip__real_exit((int)drip__opt.error_exitcode);
    }
}

__attribute__((constructor(101))) static void drip_ctor(void) { drip__init(); }

/* drip's own threads (background.c) start here, just before main: after every constructor has
 * run (a thread started from a constructor would run before the program is initialised) and
 * never inside a hook. The program's _start reaches it through the PLT and interpose.c's
 * __libc_start_main. */
typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
    drip__main_ret = (uintptr_t)__builtin_return_address(0);
    drip__raw_keep_cmdline(argc, argv);   /* before the program rewrites it for ps (export.c) */
    if (drip__opt.follow_exec && !drip__exec_root_pid() && atomic_load(&drip__g.initialised)) {
        struct drip__entry e = drip__enter();
        drip__exec_set_root_pid((int)getpid());
        drip__leave(e);
    }
    if (atomic_load(&drip__g.initialised) && !drip__g.foreign)
        drip__background_start();
    int rc = real_main(argc, argv, envp);
    /* main's frames are dead now; libc calls exit from the frame above this one */
    DRIP_SAVE_EXIT_REGS();
    drip__note_exit((uintptr_t)__builtin_frame_address(0));
    return rc;
}

int drip__libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                          void (*rtld_fini)(void), void *stack_end)
{
    int (*real)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *) =
        (int (*)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *))dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return real(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

__attribute__((destructor)) static void drip_dtor(void) { drip__report_at_exit(0); }
