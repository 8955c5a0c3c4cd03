/* outfd.c — drip's own descriptors and lines in the traced process, out of the program's way:
 * copies at high numbers (drip__fd_high, so that the program's open() returns what it would),
 * drip's one-line messages (drip__say: where the text report goes, never into the program's
 * stderr when the report has a log file), and the file size limit lifted for the exit report
 * (drip__fsize_lift). Split out of helper.c and report.c.
 * Locks: none (say_fd is atomic; the limit is lifted by the one thread writing the exit report).
 */
#include "internal.h"
#include "helper.h"
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

enum { DRIP_FD_MIN = 1000 };   /* above what programs use, below the usual 1024 limit */

/* drip's copy of fd, out of the program's way: at 1000, or, under a lower RLIMIT_NOFILE
 * (`ulimit -n 20`), just past the limit, which is raised for the dup and set back (a descriptor
 * above the soft limit stays open): the program's open() still returns the numbers it did and
 * fails with EMFILE at the same count. Else the highest free number under the limit. */
int drip__fd_high(int fd)
{
    int d = fcntl(fd, F_DUPFD_CLOEXEC, DRIP_FD_MIN);
    if (d >= 0 || errno != EINVAL)
        return d >= 0 ? d : fcntl(fd, F_DUPFD_CLOEXEC, 3);
    struct rlimit old, up;
    if (getrlimit(RLIMIT_NOFILE, &old) != 0 || old.rlim_cur < 4 || old.rlim_cur >= DRIP_FD_MIN)
        return fcntl(fd, F_DUPFD_CLOEXEC, 3);
    up = old;
    up.rlim_cur = old.rlim_cur + 1;
    if (up.rlim_max < up.rlim_cur)
        up.rlim_max = up.rlim_cur;   /* root may raise the hard limit, and lower it back */
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
        d = fcntl(fd, F_DUPFD_CLOEXEC, (int)old.rlim_cur);
        setrlimit(RLIMIT_NOFILE, &old);
        if (d >= 0)
            return d;
    }
    for (int n = (int)old.rlim_cur - 1; n > 2; n--)
        if (fcntl(n, F_GETFD) < 0 && (d = fcntl(fd, F_DUPFD_CLOEXEC, n)) >= 0)
            return d;
    return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* A descriptor drip just opened, moved above 0-2 when it landed there: a program that closed its
 * stdio at exit (ls, sort) leaves those numbers free, and the symbolizer's 0, 1 and 2 are set
 * from other descriptors, so a report file numbered 1 would be overwritten by the helper's
 * /dev/null. -1 stays -1. */
int drip__fd_above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int e = errno;
    close(fd);
    errno = e;
    return d;
}

/* drip's own lines (a fallback it took, a thread it could not start) go where its text report
 * goes, as report.c's do: the log_path file when there is one, so that the program's stderr
 * carries the program's bytes only; nowhere when stderr was closed at start (fd 2 may be the
 * program's file by now). During the exit report of a forked child with log_path (FILE.<pid> is
 * opened then), report.c names the descriptor (say_fd); elsewhere in such a child the line has
 * no file of its own and is dropped. */
static _Atomic int say_fd = -1;

void drip__say_to(int fd) { atomic_store(&say_fd, fd); }

void drip__say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    int is_log, fd = atomic_load(&say_fd);
    if (fd < 0)
        fd = drip__report_fd(&is_log);
    if (fd < 0 && !drip__opt.log_path[0] && !drip__report_stderr_closed())
        fd = 2;   /* no copy of its own (the program reused the number): fd 2 as it is now */
    if (fd >= 0) {
        int saved = errno;
        ssize_t ignored = write(fd, line, (size_t)n);
        (void)ignored;
        errno = saved;
    }
}

/* `ulimit -f` (RLIMIT_FSIZE) limits every file the process writes: the raw report's memory file
 * too, and the symbolizer inherits it. A report past the limit was cut short, and the SIGXFSZ
 * its write raised, held while the report ran, then killed the program, which exits 0 without
 * drip. For the length of the report the limit is lifted as far as the process may (to the hard
 * limit; past it with CAP_SYS_RESOURCE), and a SIGXFSZ the report raised (blocked signals are
 * queued even when ignored) is taken off before the program's mask comes back: a write past what
 * is left fails with EFBIG and the report says why. One pending before is the program's, and
 * stays. */
void drip__fsize_lift(struct drip__fsize_lift *g)
{
    sigset_t pending;
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ);
    g->raised = false;
    if (getrlimit(RLIMIT_FSIZE, &g->old) != 0 || g->old.rlim_cur == RLIM_INFINITY)
        return;
    struct rlimit up = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &up) == 0)
        g->raised = true;
    else if (g->old.rlim_cur != g->old.rlim_max && (up.rlim_cur = up.rlim_max = g->old.rlim_max, setrlimit(RLIMIT_FSIZE, &up) == 0))
        g->raised = true;
}

void drip__fsize_restore(const struct drip__fsize_lift *g)
{
    sigset_t pending, xfsz;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    struct timespec now = {0, 0};
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ))
        while (sigtimedwait(&xfsz, NULL, &now) < 0 && errno == EINTR)
            ;
    if (g->raised)
        setrlimit(RLIMIT_FSIZE, &g->old);
}
