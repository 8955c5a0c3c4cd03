/* background.c — drip's own threads, started just before main (never in a hook or a
 * constructor), each with every signal blocked and the reentrancy guard held for its whole life,
 * so nothing they do is tracked; and the growth samples of a program that has no such thread.
 *
 * A thread of drip's makes the program multi-threaded: glibc then takes its arena locks, and a
 * program that allocates in a signal handler (safe in practice while single-threaded) can
 * deadlock only under drip. So the ticker starts only when something needs a clock of its own:
 * the HTTP endpoint (live checks run on it), the monitor or the alert, or the program starting a
 * thread of its own (it is multi-threaded then anyway). Until then the growth detector's samples
 * are taken on the allocation path (drip__tick_inline): a thread-local countdown, then a clock
 * read, then the O(sites) sample when one is due, at most one at a time. A plain `drip run --
 * prog` leaves a single-threaded program single-threaded.
 *
 * Two threads:
 *  - "drip" (this file; the program's priority) runs the growth detector's and the monitor's
 *    ticks and the live leak checks, which pause the program's threads and so must finish fast
 *    however busy the machine.
 *  - "drip-http" (server.c; nice 19 by default) serves requests: on a machine whose CPUs the
 *    program keeps busy, requests wait rather than take CPU time from it.
 * A leak check asked over HTTP is handed to "drip" and its connection parked; "drip" says it is
 * done through `done_fd` (an eventfd in the HTTP thread's poll set), so the HTTP thread serves
 * others (/metrics) meanwhile.
 * Lock: `job_mu` guards `job_fd`, `job_done` and `ticker_busy` (a leaf lock: nothing is taken under
 * it; a stop of the world holds it to keep a waiting ticker parked, drip__ticker_park).
 */
#include "internal.h"
#include "helper.h"
#include "background.h"
#include "growth.h"
#include "metrics.h"
#include "report.h"
#include "retain.h"
#include "scan.h"
#include "server.h"
#include "listen.h"
#include "stop.h"
#include "threads.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER;   /* a job was posted, or is done */
static int job_fd = -1;
static bool job_done, have_ticker;
static int done_fd = -1;
static long long start_ms;
/* The ticker's kernel tid (0: no ticker in this process), and whether it is working with job_mu
 * released (job_mu): while it is not, it waits on job_cv or for job_mu, and a thread that holds
 * job_mu knows it cannot run (see drip__ticker_park). */
static _Atomic int ticker_tid;
static bool ticker_busy;
static bool ticker_started;   /* this process created the ticker (false in a forked child) */

/* Samples on the allocation path (no ticker): 1 while they are on. The countdown is per thread;
 * inline_busy keeps a second sample (another thread, or a signal handler's malloc) from starting
 * while one runs; inline_next is the CLOCK_MONOTONIC ms when the next is due. */
atomic_int drip__ticks_inline;
DRIP_TLS int drip__tick_countdown;
static atomic_flag inline_busy = ATOMIC_FLAG_INIT;
static _Atomic long long inline_next;
static DRIP_TLS long long inline_last_check;
static DRIP_TLS int inline_len;   /* this thread's countdown length: 1 to 256 */

/* A stop of the world with no other task than drip's ticker need not stop it with ptrace: true
 * when tid is the ticker and it is waiting, and then it stays unable to run (it cannot return from
 * its wait without job_mu) until drip__ticker_unpark. Never blocks: false when it is at work. */
bool drip__ticker_park(int tid)
{
    int known = atomic_load(&ticker_tid);
    /* a ticker created but not yet at its first lock has no tid here yet: the one other task is it */
    if (!tid || !ticker_started || (known && tid != known) || tid == (int)syscall(SYS_gettid))
        return false;
    if (pthread_mutex_trylock(&job_mu) != 0)
        return false;
    if (!ticker_busy)
        return true;
    pthread_mutex_unlock(&job_mu);
    return false;
}

void drip__ticker_unpark(void) { pthread_mutex_unlock(&job_mu); }

/* The kernel tids of drip's own threads (drip__quiet_thread): they do not keep a program whose
 * main called pthread_exit alive (drip__threads_orphaned). Append-only. */
enum { MAX_OWN_TIDS = 8 };
static _Atomic int own_tids[MAX_OWN_TIDS];
static atomic_int n_own_tids;
static atomic_bool poked;   /* a thread of the program ended after main's pthread_exit */

static bool is_own(int tid)
{
    int n = atomic_load(&n_own_tids);
    for (int i = 0; i < n && i < MAX_OWN_TIDS; i++)
        if (atomic_load(&own_tids[i]) == tid)
            return true;
    return false;
}

/* Wakes the ticker to look whether the program has ended (threads.c, after main's pthread_exit). */
void drip__background_poke(void)
{
    atomic_store(&poked, true);
    if (!have_ticker)
        return;
    pthread_mutex_lock(&job_mu);
    pthread_cond_broadcast(&job_cv);
    pthread_mutex_unlock(&job_mu);
}

/* The program's last thread has ended after main's pthread_exit: glibc's last thread would call
 * exit(0) now, and the ticker, the last task, does, as the program's (guard down, signals open:
 * the atexit handlers are the program's; the report follows as on any exit). */
static void exit_for_program(void)
{
    drip__guard = 0;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    exit(0);
}

static const char *job_want;   /* with job_fd: what the check writes (job_mu) */

int drip__leak_job_post(int fd) { return drip__leak_job_post_want(fd, NULL); }

int drip__leak_job_post_want(int fd, const char *want)
{
    pthread_mutex_lock(&job_mu);
    if (!have_ticker || done_fd < 0) {
        pthread_mutex_unlock(&job_mu);
        return 0;
    }
    job_want = want;
    job_fd = fd;
    job_done = false;
    pthread_cond_broadcast(&job_cv);
    pthread_mutex_unlock(&job_mu);
    return 1;
}

int drip__leak_job_fd(void) { return done_fd; }

int drip__leak_job_done(void)
{
    uint64_t n;
    if (read(done_fd, &n, sizeof n) < 0)
        return 0;
    pthread_mutex_lock(&job_mu);
    bool done = job_done;
    pthread_mutex_unlock(&job_mu);
    return done;
}

/* Names itself (before serving anything, so that whoever sees it work sees its name), blocks
 * every signal and holds the reentrancy guard for good. */
void drip__quiet_thread(const char *name)
{
    pthread_setname_np(pthread_self(), name);
    int i = atomic_fetch_add(&n_own_tids, 1);
    if (i < MAX_OWN_TIDS)
        atomic_store(&own_tids[i], (int)syscall(SYS_gettid));
    (void)drip__enter();   /* for the thread's whole life: never left */
    drip__roots_own_thread();
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *ticker(void *arg)
{
    (void)arg;
    /* job_mu first: until the ticker holds it, it has run nothing but libc's thread start, and a
     * stop that holds it (drip__ticker_park) keeps it there */
    pthread_mutex_lock(&job_mu);
    drip__quiet_thread("drip");
    long long tick = drip__opt.monitor ? (long long)drip__opt.monitor : (drip__opt.alert ? 1000 : 0);
    long long next_tick = tick ? drip__mono_ms() + tick : 0;
    int above = 0;
    atomic_store(&ticker_tid, (int)syscall(SYS_gettid));   /* from here it runs only when busy */
    for (;;) {
        if (job_fd >= 0) {
            int fd = job_fd;
            const char *want = job_want;
            job_fd = -1;
            ticker_busy = true;
            pthread_mutex_unlock(&job_mu);
            if (want)   /* who holds the memory (retain.h): the same check, with retained sizes */
                drip__leak_report_ex(-1, fd, 0, true, want);
            else
                drip__leak_report(-1, fd, 0);
            pthread_mutex_lock(&job_mu);
            ticker_busy = false;
            job_done = true;
            pthread_cond_broadcast(&job_cv);
            uint64_t one = 1;
            if (write(done_fd, &one, sizeof one) < 0) {
                /* an eventfd write fails only on overflow, which one job at a time cannot reach */
            }
            continue;
        }
        ticker_busy = true;
        pthread_mutex_unlock(&job_mu);
        long long now = drip__mono_ms(), wake = now + 1000;
        if (atomic_exchange(&poked, false) || drip__threads_main_exited()) {
            int over = drip__threads_orphaned(is_own);
            if (over > 0)
                exit_for_program();
            if (over == 0)
                wake = now + 1;   /* the last thread is on its way out: look again soon */
        }
        long long due = drip__growth_tick(now - start_ms);
        if (due >= 0 && due + start_ms < wake)
            wake = due + start_ms;
        if (next_tick) {
            if (now >= next_tick) {
                drip__monitor_tick(&above, (double)(drip__mono_ms() - start_ms) / 1000.0);
                next_tick += tick;
                if (next_tick < now)
                    next_tick = now + tick;
            }
            wake = next_tick < wake ? next_tick : wake;
        }
        struct timespec until;   /* job_cv waits on CLOCK_MONOTONIC, as drip__mono_ms reads it */
        until.tv_sec = wake / 1000;
        until.tv_nsec = (wake % 1000) * 1000000;
        pthread_mutex_lock(&job_mu);
        ticker_busy = false;
        if (job_fd < 0)
            pthread_cond_timedwait(&job_cv, &job_mu, &until);
    }
    return NULL;
}

static bool start_thread(void *(*fn)(void *))
{
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* born with every signal blocked: no handler of the program ever runs on drip's threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bool ok = pthread_create(&t, &a, fn, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
    return ok;
}

/* Starts the ticker: the condition variable waits on CLOCK_MONOTONIC, as drip__mono_ms reads. */
static void ticker_launch(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job_cv, &ca);
    pthread_condattr_destroy(&ca);
    have_ticker = ticker_started = start_thread(ticker);
    if (!have_ticker)
        drip__say("drip: cannot start drip's thread: the monitor and growth detector are off\n");
}

void drip__background_start(void)
{
    start_ms = drip__mono_ms();
    bool serve = drip__opt.http[0] || drip__opt.http_metrics[0];
    if (!serve && !drip__opt.monitor && !drip__opt.alert) {
        if (drip__opt.growth && !drip__opt.sample) {   /* sampled on the allocation path */
            atomic_store(&inline_next, start_ms + (long long)drip__opt.growth);
            atomic_store(&drip__ticks_inline, 1);
        }
        return;
    }
    struct drip__entry e = drip__enter();
    int listening = serve ? drip__http_open() : 0;   /* 2: the full endpoint; 1: /metrics only */
    if (listening == 2)
        done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ticker_launch();
    if (listening && !start_thread(drip__http_main)) {
        drip__say("drip: cannot start drip's HTTP thread: the endpoint is off\n");
        drip__listen_unlink();
    }
    drip__leave(e);
}

/* The program started a thread of its own: it is multi-threaded now, and the growth samples move
 * from the allocation path to the ticker, which takes them on time whoever allocates. Called by
 * threads.c after the program's pthread_create succeeded, with the guard held. */
void drip__background_threaded(void)
{
    if (!atomic_exchange(&drip__ticks_inline, 0))
        return;
    /* a sample on the allocation path may still run on another thread: the ticker's own first
     * sample waits for it through growth.c's lock */
    ticker_launch();
}

/* The allocation path's sample (drip__ticks_inline set, the countdown run out; guard held). The
 * countdown adapts to the allocation rate: a program that allocates millions of times a second
 * reads the clock every 256th time, one that allocates a few times a second every time, so
 * samples fall due within about a millisecond of the ticker's schedule either way. */
void drip__tick_inline(void)
{
    long long now = drip__mono_ms();
    long long gap = now - inline_last_check;
    inline_last_check = now;
    int len = inline_len;
    if (gap < 1)
        len = len ? (len < 256 ? len * 2 : 256) : 2;
    else if (gap > 4)
        len = len > 1 ? len / 2 : 1;
    inline_len = len;
    drip__tick_countdown = len;
    if (now < atomic_load_explicit(&inline_next, memory_order_relaxed) || !atomic_load(&drip__ticks_inline) ||
        atomic_flag_test_and_set(&inline_busy))
        return;
    long long due = drip__growth_tick(now - start_ms);
    atomic_store(&inline_next, due >= 0 ? due + start_ms : LLONG_MAX);
    atomic_flag_clear(&inline_busy);
}

/* After fork only the forking thread exists: the child has no server (its sockets are the
 * parent's, and so are the unix socket files: listen.c leaves them to the parent). */
void drip__background_child(void)
{
    atomic_store(&ticker_tid, 0);   /* only the forking thread lives on */
    ticker_started = false;
    have_ticker = false;
    /* the child takes no growth samples (growth.c drops the parent's series): no ticker, and none
     * on its allocation path */
    atomic_store(&drip__ticks_inline, 0);
    atomic_flag_clear(&inline_busy);
    drip__http_child();
    if (done_fd >= 0)
        close(done_fd);
    done_fd = -1;
}

/* At exit (and on a fatal signal): the unix sockets' files go. */
void drip__background_exit(void) { drip__listen_unlink(); }
