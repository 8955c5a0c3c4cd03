/* watch.c — `drip watch PID` and `drip watch [options] -- cmd args`: memory of a process (and its
 * descendants) over time.
 *
 * Every interval: one line on stderr (RSS, PSS, swap, the sum of peak RSS, threads, fds and
 * processes of the tree), a CSV row if asked; a warning when RSS crosses --alert and another when
 * it falls back under it. At the end (the process ended, --count samples were taken, or Ctrl-C in
 * PID mode): the trend verdict (watch_trend.c) and the --plot chart (watch_plot.c).
 *
 * Lines go to stderr, like drip run's report, so a watched command's stdout stays its own.
 * Waiting is one poll() over a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, all blocked)
 * and, in PID mode, a pidfd, so the end of the process is seen at once, not at the next tick.
 * As with drip run, a started command keeps the terminal: Ctrl-C reaches it directly, SIGTERM and
 * SIGHUP sent to drip are passed on, and drip leaves with the command's own status.
 * `drip watch unix:/path/drip.sock` watches the process serving drip's endpoint on that socket
 * (its pid comes from the socket's peer credentials: no request, so no token, is needed).
 */
#include "cli.h"
#include "prof.h"
#include "watch.h"
#include "options.h"
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void watch_usage(FILE *out)
{
    fprintf(out,
            "usage: drip watch [options] PID\n"
            "       drip watch [options] unix:/path/drip.sock   (the process serving drip's endpoint there)\n"
            "       drip watch [options] -- command [args...]\n"
            "\n"
            "Samples the memory of a process and of its descendants (summed over the process tree)\n"
            "from /proc: RSS, PSS and swap (smaps_rollup), peak RSS and threads (status), open fds.\n"
            "Prints a line per interval on stderr and, at the end, the trend of RSS (Theil-Sen slope\n"
            "with a 95%% confidence interval) and a verdict: steady, growing at N/h, shrinking, or\n"
            "plateau after warm-up. Exit status: the command's own; 0 in PID mode; 2 on errors.\n"
            "\n"
            "options:\n"
            "  -i, --interval D   time between samples, e.g. 500ms, 1s, 1m (default 1s)\n"
            "  --alert SIZE       warn when RSS goes over SIZE (e.g. 1GiB) and when it falls back\n"
            "  --plot FILE        write an SVG chart of RSS and PSS over time at the end\n"
            "  --csv FILE         write every sample to FILE as CSV (as they come)\n"
            "  -n, --count N      stop after N samples (a started command is then terminated)\n"
            "  -h, --help         this text\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct watch {
    pid_t pid;
    int started; /* we forked it: it is our child */
    char comm[64];
    unsigned long long interval_ms, alert;
    long count;
    const char *plot, *csv;
    struct drip__wsample *s;
    size_t n, cap;
    int over; /* RSS is over the alert */
    struct drip_writer err, csvw;
    int csvfd;
};

/* bytes for the watch lines: "0B" rather than pprof's bare "0" */
static void bytes(char *buf, size_t cap, uint64_t v)
{
    if (v)
        drip__fmt_value(buf, cap, (int64_t)v, "bytes");
    else
        snprintf(buf, cap, "0B");
}

static void put_sample_line(struct watch *w, const struct drip__wsample *s)
{
    char t[32], rss[32], pss[32], swap[32], hwm[32], fds[32];
    drip__fmt_secs(t, sizeof t, s->t);
    bytes(rss, sizeof rss, s->rss);
    bytes(pss, sizeof pss, s->pss);
    bytes(swap, sizeof swap, s->swap);
    bytes(hwm, sizeof hwm, s->hwm);
    if (s->fds >= 0)
        snprintf(fds, sizeof fds, "%ld", s->fds);
    else
        snprintf(fds, sizeof fds, "?");
    drip__printf(&w->err, "%8s %10s %10s %10s %10s %8ld %6s %6d\n", t, rss, pss, swap, hwm, s->threads, fds,
                 s->procs);
    drip__flush(&w->err);
    if (w->csv) {
        drip__printf(&w->csvw, "%.3f,%llu,%llu,%llu,%llu,%ld,%ld,%d\n", s->t, (unsigned long long)s->rss,
                     (unsigned long long)s->pss, (unsigned long long)s->swap, (unsigned long long)s->hwm,
                     s->threads, s->fds, s->procs);
        drip__flush(&w->csvw);
    }
    if (w->alert) {
        char lim[32];
        drip__fmt_value(lim, sizeof lim, (int64_t)w->alert, "bytes");
        if (!w->over && s->rss >= w->alert) {
            w->over = 1;
            drip__printf(&w->err, "drip: alert: RSS %s is over %s (at %s)\n", rss, lim, t);
        } else if (w->over && s->rss < w->alert) {
            w->over = 0;
            drip__printf(&w->err, "drip: alert over: RSS %s is back under %s (at %s)\n", rss, lim, t);
        }
        drip__flush(&w->err);
    }
}

static int keep(struct watch *w, const struct drip__wsample *s)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 256;
        struct drip__wsample *q = realloc(w->s, nc * sizeof *q);
        if (!q)
            return -1;
        w->s = q;
        w->cap = nc;
    }
    w->s[w->n++] = *s;
    return 0;
}

/* Starts the command with the signals unblocked; returns its pid or an exit status < 0 (-127:
 * not found, -126: not executable, -2: fork failed), the message printed. */
static pid_t start(char **argv, const sigset_t *old)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC))
        return die(2, "watch: pipe: %s", strerror(errno)), -2;
    pid_t pid = fork();
    if (pid < 0)
        return die(2, "watch: fork: %s", strerror(errno)), -2;
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, old, NULL);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t wr = write(pfd[1], &e, sizeof e);
        (void)wr;
        _exit(127);
    }
    close(pfd[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(pfd[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(pfd[0]);
    if (r == (ssize_t)sizeof e) {
        waitpid(pid, NULL, 0);
        if (e == ENOENT)
            return die(127, "watch: command not found: %s", argv[0]), -127;
        return die(126, "watch: cannot run %s: %s", argv[0], strerror(e)), -126;
    }
    return pid;
}

/* The summary at the end: figures, trend, plot. */
static int finish(struct watch *w)
{
    struct drip__trend tr;
    drip__trend(w->s, w->n, &tr);
    if (w->n) {
        uint64_t peak = 0;
        for (size_t i = 0; i < w->n; i++)
            if (w->s[i].rss > peak)
                peak = w->s[i].rss;
        char a[32], b[32], c[32], d[32];
        drip__fmt_value(a, sizeof a, (int64_t)w->s[0].rss, "bytes");
        drip__fmt_value(b, sizeof b, (int64_t)w->s[w->n - 1].rss, "bytes");
        drip__fmt_value(c, sizeof c, (int64_t)peak, "bytes");
        drip__fmt_secs(d, sizeof d, w->s[w->n - 1].t);
        drip__printf(&w->err, "drip: %zu sample%s over %s: RSS %s -> %s, peak %s\n", w->n, w->n == 1 ? "" : "s", d,
                     a, b, c);
    }
    drip__printf(&w->err, "drip: trend: %s\n", tr.text);
    if (tr.detail[0])
        drip__printf(&w->err, "drip: (%s)\n", tr.detail);
    int status = 0;
    if (w->plot) {
        char title[160];
        snprintf(title, sizeof title, "drip watch: %s (pid %d)", w->comm, (int)w->pid);
        int rc = drip__plot(w->plot, w->s, w->n, w->alert, &tr, title);
        if (rc) {
            drip__printf(&w->err, "drip: watch: cannot write %s: %s\n", w->plot, strerror(-rc));
            status = 2;
        } else {
            drip__printf(&w->err, "drip: plot written to %s\n", w->plot);
        }
    }
    drip__flush(&w->err);
    return status;
}

/* The pid of the process listening on unix:PATH[:/urlpath] (drip's endpoint, http=unix:PATH),
 * from the connection's peer credentials; -1 after one line on stderr. */
static pid_t socket_pid(const char *spec)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = spec + 5, *sep = strstr(path, ":/");
    size_t n = sep ? (size_t)(sep - path) : strlen(path);
    if (!n || n >= sizeof sa.sun_path)
        return -die(2, "watch: %s: expected unix:/path/to/socket", spec);
    memcpy(sa.sun_path, path, n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct ucred cr = {0};
    socklen_t len = sizeof cr;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || cr.pid <= 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -die(2, "watch: %s: cannot connect: %s", spec, strerror(e));
    }
    close(fd);
    return cr.pid;
}

/* Parses the options; returns the index of PID or of the command, or -status. */
/* The PID or unix:SOCKET, last on the line: parsing stops there. */
static int target(const struct drip__args *a, int argc, char **argv, int i)
{
    struct watch *w = a->ctx;
    if (!strncmp(argv[i], "unix:", 5)) {
        if (i + 1 < argc)
            return -die(2, "watch: options go before the socket ('%s')", argv[i + 1]);
        if ((w->pid = socket_pid(argv[i])) <= 0)
            return -2;
        return 1;
    }
    char *end;
    long pid = strtol(argv[i], &end, 10);
    if (*end || end == argv[i] || pid <= 0 || pid > 0x7fffffff)
        return -die(2, "watch: '%s' is not a pid (to run a command: drip watch [options] -- %s ...)", argv[i],
                    argv[i]);
    if (i + 1 < argc)
        return -die(2, "watch: options go before the PID ('%s')", argv[i + 1]);
    w->pid = (pid_t)pid;
    return 1;
}

/* The index of the PID, the socket or the command's first word; <= 0: -(the exit status). */
static int parse(struct watch *w, int argc, char **argv)
{
    const struct drip__arg opt[] = {
        {"--interval", "-i", DRIP__ARG_DURATION, &w->interval_ms, 10, "a duration of 10ms or more (500ms, 1s, 1m)"},
        {"--alert", NULL, DRIP__ARG_SIZE, &w->alert, 1, "a size such as 512MiB or 1GiB"},
        {"--plot", NULL, DRIP__ARG_STR, &w->plot, 0, NULL},
        {"--csv", NULL, DRIP__ARG_STR, &w->csv, 0, NULL},
        {"--count", "-n", DRIP__ARG_COUNT, &w->count, 1, "a number of samples"},
        {NULL}};
    const struct drip__args args = {"watch", opt, watch_usage, target, w, "no command after --", 1};
    int next, st = drip__args_parse(&args, argc, argv, &next);
    if (st != DRIP__ARGS_GO_ON)
        return -st;
    if (next == argc) {
        watch_usage(stderr);
        return -2;
    }
    return next;
}

int cmd_watch(int argc, char **argv)
{
    struct watch w = {0};
    w.interval_ms = 1000;
    w.csvfd = -1;
    int at = parse(&w, argc, argv);
    if (at <= 0)
        return -at;
    drip__writer_fd(&w.err, 2);
    if (w.csv) {
        if ((w.csvfd = open(w.csv, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
            return die(2, "watch: cannot write %s: %s", w.csv, strerror(errno));
        drip__writer_fd(&w.csvw, w.csvfd);
        drip__puts(&w.csvw, "time_s,rss_bytes,pss_bytes,swap_bytes,hwm_bytes,threads,fds,processes\n");
    }
    sigset_t set, old;
    sigemptyset(&set);
    int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, &old);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int status = 0, pidfd = -1;
    const char *why = NULL;
    char whybuf[160];
    if (sfd < 0) {
        status = die(2, "watch: signalfd: %s", strerror(errno));
        goto out;
    }
    if (!w.pid) {
        pid_t pid = start(argv + at, &old);
        if (pid < 0) {
            status = -pid;
            goto out;
        }
        w.pid = pid;
        w.started = 1;
    } else {
        pidfd = (int)syscall(SYS_pidfd_open, w.pid, 0); /* -1 on old kernels: polled per tick */
    }

    double t0 = now_s(), next = t0;
    char path[128];
    int exited = 0, wstatus = 0;
    for (;;) {
        struct drip__wsample s = {.t = now_s() - t0};
        int rc = drip__proc_sample(w.pid, &s, w.n ? NULL : w.comm, sizeof w.comm, path, sizeof path);
        if (rc == -ESRCH && !w.n && !w.started) {
            status = die(2, "watch: no process with pid %d", (int)w.pid);
            goto out;
        }
        if (rc && rc != -ESRCH && !w.n) {
            status = die(2, "watch: cannot read %s: %s%s", path, strerror(-rc),
                         rc == -EACCES ? " (another user's process: run drip as that user or as root)" : "");
            if (w.started)
                kill(w.pid, SIGTERM);
            goto out;
        }
        if (rc) {
            exited = 1;
        } else {
            if (!w.n) {
                char iv[32];
                drip__fmt_secs(iv, sizeof iv, (double)w.interval_ms / 1000);
                drip__printf(&w.err, "drip: watching pid %d (%s) and its children every %s%s\n", (int)w.pid, w.comm,
                             iv, w.started ? "" : "; Ctrl-C to stop");
                drip__printf(&w.err, "%8s %10s %10s %10s %10s %8s %6s %6s\n", "time", "rss", "pss", "swap",
                             "peak rss", "threads", "fds", "procs");
            }
            if (keep(&w, &s)) {
                status = die(2, "watch: out of memory");
                goto out;
            }
            put_sample_line(&w, &s);
            if (w.count && w.n >= (size_t)w.count) {
                snprintf(whybuf, sizeof whybuf, "drip: stopped after %zu samples", w.n);
                why = whybuf;
                break;
            }
        }
        /* wait for the next tick, the end of the process, or a signal */
        next += (double)w.interval_ms / 1000;
        for (;;) {
            if (w.started && !exited) {
                pid_t r = waitpid(w.pid, &wstatus, WNOHANG);
                if (r == w.pid)
                    exited = 2;
            }
            if (exited)
                break;
            double left = next - now_s();
            if (left <= 0)
                break;
            struct pollfd pf[2] = {{sfd, POLLIN, 0}, {pidfd, POLLIN, 0}};
            int np = poll(pf, pidfd >= 0 ? 2 : 1, (int)(left * 1000) + 1);
            if (np > 0 && pidfd >= 0 && (pf[1].revents & POLLIN))
                exited = 1;
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGCHLD)
                    continue;
                if (w.started) {
                    if (sig == SIGTERM || sig == SIGHUP)
                        kill(w.pid, sig); /* INT and QUIT from the terminal reach it directly */
                } else {
                    snprintf(whybuf, sizeof whybuf, "drip: stopped by %s", strsignal(sig));
                    why = whybuf;
                }
            }
            if (why)
                break;
        }
        if (why)
            break;
        if (exited)
            break;
        if (now_s() > next + (double)w.interval_ms / 1000)
            next = now_s(); /* stalled (suspended?): do not catch up with a burst */
    }

    char took[32];
    drip__fmt_secs(took, sizeof took, now_s() - t0);
    if (why) {
        drip__printf(&w.err, "%s\n", why);
    } else if (w.started) {
        if (exited != 2)
            while (waitpid(w.pid, &wstatus, 0) < 0 && errno == EINTR)
                ;
        if (WIFSIGNALED(wstatus)) {
            status = 128 + WTERMSIG(wstatus);
            drip__printf(&w.err, "drip: pid %d (%s) was killed by signal %d (%s) after %s\n", (int)w.pid, w.comm,
                         WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)), took);
        } else {
            status = WEXITSTATUS(wstatus);
            drip__printf(&w.err, "drip: pid %d (%s) exited with status %d after %s\n", (int)w.pid, w.comm, status,
                         took);
        }
    } else {
        drip__printf(&w.err, "drip: pid %d (%s) ended after %s\n", (int)w.pid, w.comm, took);
    }
    if (finish(&w))
        status = 2;
    if (why && w.started) {
        /* --count with a command: it was started for the watch, so it ends with it */
        kill(w.pid, SIGTERM);
        for (int i = 0; i < 40 && waitpid(w.pid, &wstatus, WNOHANG) == 0; i++)
            usleep(50000);
        if (waitpid(w.pid, &wstatus, WNOHANG) == 0) {
            kill(w.pid, SIGKILL);
            waitpid(w.pid, &wstatus, 0);
        }
    }
out:
    if (w.csvfd >= 0) {
        int e = drip__flush(&w.csvw);
        if ((close(w.csvfd) || e) && !status)
            status = die(2, "watch: writing %s: %s", w.csv, strerror(e ? e : errno));
    }
    if (sfd >= 0)
        close(sfd);
    if (pidfd >= 0)
        close(pidfd);
    /* the signals stay blocked: one that came after the last read must not kill drip on its way out */
    free(w.s);
    return status;
}
