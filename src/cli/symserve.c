/* symserve.c — one symbolizer for every traced process of a `drip run`.
 *
 * Each traced process used to start its own `drip symbolize` at exit: an exec, the loading of
 * drip's libraries and of the name cache, for every `$(echo)` subshell of a script. drip run now
 * listens on a unix socket in its private status directory (DRIP_STATUS_DIR/sym, SOCK_SEQPACKET)
 * and, once the program runs, forks a server from itself. A process that exits connects and
 * sends in one message what it would have given `drip symbolize` (helper.c): the arguments, its
 * environment and working directory, and its descriptors (the raw report as stdin, the report's
 * destinations, the status pipe) as SCM_RIGHTS. The server puts each descriptor under the number
 * the arguments name and runs cmd_symbolize as the spawned helper would: the same code, the same
 * output, byte for byte.
 *
 * No request may wait for another: a report blocked on a full pipe must not hold up the process
 * that would drain it. So a request is answered in the server itself only when what it writes
 * cannot block for long (files, terminals) and no other request is waiting (else in parallel);
 * output bound for a pipe is rendered into a memory file and spliced without waiting, and a
 * worker (a fork of the server) finishes what did not fit; a request writing to a socket is
 * answered by a worker from the start. Workers are reaped by the server, the server by drip run
 * (their CPU time counts in drip run's).
 *
 * A request with a status pipe (the root process, --error-exitcode) is waited for by its
 * process. One without (a forked or exec'd child, docs/run.md "Reports of child processes") is
 * asynchronous: the process has handed its report over and exited; it is answered here in the
 * order the processes ended, its text held in a memory file and written with one write, and its
 * JSON and profile renamed into place by cmd_symbolize (--json-commit). When the root process has
 * ended, drip run closes the stop pipe: the server refuses new connections, answers every request
 * already queued, waits for its workers and exits, and drip run waits for it: no report handed
 * over is lost or still unwritten when drip run returns.
 *
 * When the server is gone (killed, drip run ended while a daemon lives on) or refuses (another
 * uid or gid: it would write as drip run's user), the connect or the send fails, or the status
 * pipe ends without an answer, and the process spawns `drip symbolize` itself. The server dies
 * with drip run (PR_SET_PDEATHSIG).
 * Locks: none (one thread in each process).
 */
#include "cli.h"
#include "symserve.h"
#include "symcache.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int cmd_symbolize(int argc, char **argv);

enum { MAX_MSG = 1 << 16, MAX_FDS = 16, MAX_ARGS = 40 };

static int listen_fd = -1;
static pid_t server_pid;

int drip_symserve_listen(const char *dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sym", dir) >= sizeof sa.sun_path)
        return -1;   /* too long a TMPDIR: every process spawns its own */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0) {
        close(fd);
        unlink(sa.sun_path);
        return -1;
    }
    listen_fd = fd;
    return 0;
}

struct request {
    char msg[MAX_MSG + 1];
    int got[MAX_FDS], target[MAX_FDS], n;   /* received descriptors and their numbers */
    char *cwd, *argv[MAX_ARGS + 1], *env;   /* env: NUL-separated up to end */
    char *end;
    int argc, status_fd, text_fd;
    bool async;   /* no status pipe: the process has exited, nobody waits for this answer */
};

static void close_got(struct request *q)
{
    for (int i = 0; i < q->n; i++)
        if (q->got[i] >= 0)
            close(q->got[i]);
    q->n = 0;
}

/* Reads one request from c. 0, or -1 (what came is closed). */
static int receive(int c, struct request *q)
{
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)]; } ctl;
    struct iovec iov = {q->msg, MAX_MSG};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n;
    q->n = 0;
    while ((n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; h; h = CMSG_NXTHDR(&mh, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
            for (size_t k = 0; k < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int) && q->n < MAX_FDS; k++)
                memcpy(&q->got[q->n++], CMSG_DATA(h) + k * sizeof(int), sizeof(int));
    if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        goto bad;
    q->msg[n] = 0;
    q->end = q->msg + n;
    /* "drip-sym 1", cwd, the numbers of the descriptors ("0,2,1000,7"), argc, argv..., env... */
    char *s[4], *p = q->msg;
    for (int i = 0; i < 4; i++) {
        if (p >= q->end)
            goto bad;
        s[i] = p;
        p += strlen(p) + 1;
    }
    q->argc = atoi(s[3]);
    if (strcmp(s[0], "drip-sym 1") || q->argc < 1 || q->argc > MAX_ARGS)
        goto bad;
    q->cwd = s[1];
    q->status_fd = q->text_fd = -1;
    for (int i = 0; i < q->argc; i++) {
        if (p >= q->end)
            goto bad;
        q->argv[i] = p;
        p += strlen(p) + 1;
        if (i > 0 && !strcmp(q->argv[i - 1], "--status-fd"))
            q->status_fd = atoi(q->argv[i]);
        if (i > 0 && !strcmp(q->argv[i - 1], "--text-fd"))
            q->text_fd = atoi(q->argv[i]);
    }
    q->async = q->status_fd < 0;
    q->argv[q->argc] = NULL;
    q->env = p;
    int nt = 0;
    for (char *t = s[2]; *t && nt < MAX_FDS; t += strcspn(t, ","), t += *t == ',')
        q->target[nt++] = atoi(t);
    if (nt != q->n)
        goto bad;
    return 0;
bad:
    close_got(q);
    return -1;
}

/* Whether the request can be answered in the server itself, with no worker: nothing it writes
 * may wait on a reader, who could be a traced process waiting for its own report. A socket goes
 * to a worker; a pipe (a CI runner's stderr) is written through a memory file, and only as far
 * as it takes without waiting (deliver). held[] gets the pipes' indices, and the text report's
 * whatever it goes to: the text is then written with one write, whole, never in pieces between
 * which another process's report (answered by a worker meanwhile) could come. */
static int inline_ok(const struct request *q, int *held, int *nheld)
{
    *nheld = 0;
    int ok = 1;
    for (int i = 0; i < q->n; i++) {
        struct stat st;
        if (q->target[i] == 0 || q->target[i] == q->status_fd)
            continue;   /* the raw report (read), the status pipe (one byte, its reader waits) */
        if (fstat(q->got[i], &st) != 0 || S_ISSOCK(st.st_mode))
            ok = 0;
        else if (S_ISFIFO(st.st_mode) || q->target[i] == q->text_fd)
            held[(*nheld)++] = i;
    }
    if (*nheld)   /* the status follows the held output: it is held too */
        for (int i = 0; i < q->n; i++)
            if (q->target[i] == q->status_fd)
                held[(*nheld)++] = i;
    return ok;
}

/* Puts each descriptor under its number (every fd of ours in the way moved first: *keep[] are
 * updated), the environment and the working directory; runs drip symbolize. Returns its status.
 * The descriptors held[] get a memory file under their number instead; real[] keeps them. */
static int answer(struct request *q, int *keep[], int nkeep, const int *held, int nheld, int *real, int *mem)
{
    int top = 2;
    for (int i = 0; i < q->n; i++)
        top = q->target[i] > top ? q->target[i] : top;
    for (int k = 0; k < nkeep; k++)
        if (*keep[k] >= 0 && *keep[k] <= top) {
            int h = fcntl(*keep[k], F_DUPFD_CLOEXEC, top + 1);
            close(*keep[k]);
            *keep[k] = h;
        }
    for (int i = 0; i < q->n; i++) {   /* every received one above every number, then onto it */
        int h = fcntl(q->got[i], F_DUPFD_CLOEXEC, top + 1);
        close(q->got[i]);
        q->got[i] = h;
        if (h < 0)
            return 2;
    }
    for (int k = 0; k < nheld; k++) {
        int m = memfd_create("drip-held", MFD_CLOEXEC);
        int h = m >= 0 ? fcntl(m, F_DUPFD_CLOEXEC, top + 1) : -1;
        if (m >= 0)
            close(m);
        if (h < 0)
            return 2;
        real[k] = q->got[held[k]];
        q->got[held[k]] = mem[k] = h;
    }
    int have1 = 0;
    for (int i = 0; i < q->n; i++) {
        if (dup2(q->got[i], q->target[i]) < 0)
            return 2;
        int is_mem = 0;
        for (int k = 0; k < nheld; k++)
            is_mem |= q->got[i] == mem[k];
        if (!is_mem)
            close(q->got[i]);
        q->got[i] = -1;
        have1 |= q->target[i] == 1;
    }
    if (!have1) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0 && null != 1) {
            dup2(null, 1);
            close(null);
        }
    }
    if (q->cwd[0] && chdir(q->cwd) != 0) {
        /* a working directory gone: the report names nothing relative to it */
    }
    clearenv();
    for (char *p = q->env; p < q->end; p += strlen(p) + 1)
        if (strchr(p, '='))
            putenv(p);
    int rc = cmd_symbolize(q->argc, q->argv);
    fflush(NULL);
    return rc;
}

/* Copies the held output to its pipes, the status pipe last. wait = 0: only what fits now;
 * returns 1 when all was written, 0 when a pipe is full (call again with wait = 1, in a worker),
 * -1 when a reader is gone (the status is then not sent: the process writes its own report). */
static int deliver(int nheld, const int *real, const int *mem, off_t *done, int wait)
{
    for (int k = 0; k < nheld; k++) {
        off_t len = lseek(mem[k], 0, SEEK_END);
        struct stat st;
        if (done[k] < len && fstat(real[k], &st) == 0 && !S_ISFIFO(st.st_mode)) {
            /* a terminal or a file (an asynchronous report's text): one write of the whole */
            char *all = malloc((size_t)(len - done[k]));
            ssize_t r = all ? pread(mem[k], all, (size_t)(len - done[k]), done[k]) : -1;
            for (ssize_t off = 0; r > 0 && off < r;) {
                ssize_t w = write(real[k], all + off, (size_t)(r - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break;
                off += w;
                done[k] += w;
            }
            free(all);
            if (done[k] < len)
                return -1;
        }
        while (done[k] < len) {
            ssize_t w;
            if (!wait) {
                loff_t off = done[k];
                w = splice(mem[k], &off, real[k], NULL, (size_t)(len - done[k]), SPLICE_F_NONBLOCK);
                if (w < 0 && errno == EAGAIN)
                    return 0;
            } else {
                char buf[65536];
                size_t want = len - done[k] < (off_t)sizeof buf ? (size_t)(len - done[k]) : sizeof buf;
                ssize_t r = pread(mem[k], buf, want, done[k]);
                w = r > 0 ? write(real[k], buf, (size_t)r) : -1;
            }
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            done[k] += w;
        }
    }
    return 1;
}

/* After an answer given in the server: its descriptors closed, stdio on /dev/null again. */
static void restore(const struct request *q, int null, int home)
{
    for (int i = 0; i < q->n; i++)
        if (q->target[i] > 2 && q->target[i] != null && q->target[i] != home)
            close(q->target[i]);
    for (int fd = 0; fd < 3; fd++)
        dup2(null, fd);
    clearenv();   /* it pointed into the request */
    if (fchdir(home) != 0) {
        /* the next request sets its own */
    }
}

/* Answers one request taken on c (closed here): in the server itself when nothing it writes can
 * wait and, for a process that waits for it, no other request is waiting; else in a worker. */
struct server {
    int lfd, stop, null, home;   /* moved above a request's numbers by answer() */
    uid_t uid;
    gid_t gid;
};

static void handle(int c, struct server *sv)
{
    static struct request q;
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || cr.uid != sv->uid || cr.gid != sv->gid ||
        receive(c, &q) != 0) {
        close(c);   /* the process spawns its own */
        return;
    }
    close(c);
    int held[MAX_FDS], nheld, real[MAX_FDS], mem[MAX_FDS];
    off_t done[MAX_FDS] = {0};
    /* another request already waiting (processes ending together: make -j): a request whose process
     * waits goes to a worker, so that reports are named in parallel as spawned symbolizers were; an
     * asynchronous one is answered here, in the order the processes ended */
    struct pollfd more = {sv->lfd, POLLIN, 0};
    int here = inline_ok(&q, held, &nheld);
    for (int k = 0; k < nheld; k++)
        real[k] = mem[k] = -1;
    if ((q.async || poll(&more, 1, 0) <= 0) && here) {
        int *keep[] = {&sv->lfd, &sv->stop, &sv->null, &sv->home};
        answer(&q, keep, 4, held, nheld, real, mem);
        restore(&q, sv->null, sv->home);
        close_got(&q);   /* any left by a failure */
        /* a full pipe: a worker waits on it, the server goes on */
        if (nheld && deliver(nheld, real, mem, done, 0) == 0 && fork() == 0) {
            close(sv->lfd);
            deliver(nheld, real, mem, done, 1);
            _exit(0);
        }
        for (int k = 0; k < nheld; k++) {
            if (real[k] >= 0)
                close(real[k]);
            if (mem[k] >= 0)
                close(mem[k]);
        }
        if (sv->lfd < 0 || sv->null < 0)
            _exit(0);
        return;
    }
    pid_t w = fork();
    if (w == 0) {
        close(sv->lfd);
        if (sv->stop >= 0)
            close(sv->stop);
        signal(SIGPIPE, SIG_DFL);   /* as the helper the process would have spawned */
        signal(SIGCHLD, SIG_DFL);
        int *keep[] = {&sv->null, &sv->home};
        int rc = answer(&q, keep, 2, held, nheld, real, mem);
        deliver(nheld, real, mem, done, 1);   /* the text in one write, the status last */
        _exit(rc);
    }
    close_got(&q);   /* a failed fork: the process sees its status pipe end, spawns its own */
}

/* The program has ended (stop_fd: end of file): no new request is taken from now on (a process
 * that connects now is refused and spawns its own symbolizer), every request already queued is
 * answered, and every worker is waited for, so that no report handed over asynchronously is still
 * unwritten when drip run leaves. shutdown() on a listening socket refuses new connections under
 * the same lock that queues them: nothing can slip in between the last accept and the exit. */
static void drain(struct server *sv)
{
    shutdown(sv->lfd, SHUT_RD);
    fcntl(sv->lfd, F_SETFL, fcntl(sv->lfd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        int c = accept4(sv->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0 && errno == EINTR)
            continue;
        if (c < 0)
            break;
        handle(c, sv);
    }
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    _exit(0);
}

static void serve(int lfd, int stop_fd, pid_t run_pid)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != run_pid)
        _exit(0);   /* drip run is already gone */
    prctl(PR_SET_NAME, "drip-symbolize");
    signal(SIGINT, SIG_IGN);    /* the terminal's ^C is the program's to handle: a report it */
    signal(SIGQUIT, SIG_IGN);   /* writes then must still be named */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);   /* a process gone before its answer: EPIPE, not the server's end */
    signal(SIGCHLD, SIG_DFL);   /* workers are reaped here: their CPU time counts in drip run's */
    sigset_t none;   /* drip run forks it with SIGTERM and SIGHUP blocked (run_child) */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDWR);
    if (null < 0)
        _exit(0);
    for (int fd = 0; fd < 3; fd++)   /* none of drip run's pipes held open: their readers see EOF */
        dup2(null, fd);
    int hi = fcntl(null, F_DUPFD_CLOEXEC, 3);
    close(null);
    null = hi;
    struct server sv = {lfd, stop_fd, null, open(".", O_RDONLY | O_CLOEXEC | O_DIRECTORY), getuid(), getgid()};
    drip_symcache_keep();   /* one load of each name cache for the whole run */
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        struct pollfd pf[2] = {{sv.lfd, POLLIN, 0}, {sv.stop, POLLIN, 0}};
        int n = poll(pf, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0 && pf[1].revents) {
            close(sv.stop);
            sv.stop = -1;
            drain(&sv);
        }
        int c = accept4(sv.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM || errno == EAGAIN)
                continue;
            _exit(0);
        }
        handle(c, &sv);
    }
}

static int stop_w = -1;   /* drip run's end of the pipe whose end of file tells the server to drain */

void drip_symserve_start(void)
{
    if (listen_fd < 0)
        return;
    pid_t me = getpid();
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) != 0) {
        close(listen_fd);   /* no way to tell it to finish: no server (each process spawns its own) */
        listen_fd = -1;
        return;
    }
    fflush(NULL);   /* nothing of drip run's stdio is written again by a worker's exit */
    pid_t pid = fork();
    if (pid == 0) {
        close(sp[1]);
        serve(listen_fd, sp[0], me);
    }
    close(sp[0]);
    stop_w = pid > 0 ? sp[1] : -1;
    if (pid <= 0)
        close(sp[1]);
    close(listen_fd);   /* the server's now: requests queue on it until it accepts */
    listen_fd = -1;
    server_pid = pid > 0 ? pid : 0;
}

void drip_symserve_stop(void)
{
    if (listen_fd >= 0)
        close(listen_fd);
    listen_fd = -1;
    if (server_pid > 0) {
        /* the server answers what is queued, waits for its workers and leaves: every report handed
         * over without waiting is written before drip run returns */
        close(stop_w);
        while (waitpid(server_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    stop_w = -1;
    server_pid = 0;
}
