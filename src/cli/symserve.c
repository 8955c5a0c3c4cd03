/* symserve.c — one symbolizer for every traced process of a `drip run`.
 *
 * Each traced process used to start its own `drip symbolize` at exit: an exec, the loading of
 * drip's libraries and of the name cache, for every `$(echo)` subshell of a script. drip run now
 * listens on a unix socket in its private status directory (DRIP_STATUS_DIR/sym, SOCK_SEQPACKET)
 * and forks a server from itself before the program runs. A process that exits connects, and
 * sends in one message what it would have given `drip symbolize` (helper.c): the arguments, its
 * environment and working directory, and its descriptors (the raw report as stdin, the report's
 * destinations, the status pipe) as SCM_RIGHTS. The server forks a worker per request (a request
 * never waits for another: a report blocked on a full pipe must not hold up the process that
 * would drain it), which puts each descriptor under the number the arguments name and runs
 * cmd_symbolize as the spawned helper would: the same code, the same output, byte for byte.
 *
 * The process waits on its status pipe as before. When the server is gone (killed, drip run
 * ended while a daemon lives on) or refuses (another uid), the connect or the send fails, or the
 * status pipe ends without an answer, and the process spawns `drip symbolize` itself.
 * Requests from another uid or gid are refused (the worker would write as drip run's user). The
 * server dies with drip run (PR_SET_PDEATHSIG) and is killed when the program has ended.
 * Locks: none (one thread in each process).
 */
#include "cli.h"
#include "symserve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

/* The worker: one request on c, then exit. */
static void worker(int c)
{
    static char msg[MAX_MSG + 1];
    int got[MAX_FDS], ngot = 0;
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)]; } ctl;
    struct iovec iov = {msg, MAX_MSG};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n;
    while ((n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; h; h = CMSG_NXTHDR(&mh, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
            for (size_t k = 0; k < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int) && ngot < MAX_FDS; k++)
                memcpy(&got[ngot++], CMSG_DATA(h) + k * sizeof(int), sizeof(int));
    if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        _exit(2);
    msg[n] = 0;
    /* "drip-sym 1", cwd, the targets of the descriptors ("0,2,1000,7"), argc, argv..., env... */
    char *s[MAX_ARGS + 8];
    int ns = 0;
    char *p = msg, *end = msg + n;
    while (p < end && ns < 4) {
        s[ns++] = p;
        p += strlen(p) + 1;
    }
    if (ns < 4 || strcmp(s[0], "drip-sym 1"))
        _exit(2);
    int argc = atoi(s[3]);
    if (argc < 1 || argc > MAX_ARGS)
        _exit(2);
    char *argv[MAX_ARGS + 1];
    for (int i = 0; i < argc; i++) {
        if (p >= end)
            _exit(2);
        argv[i] = p;
        p += strlen(p) + 1;
    }
    argv[argc] = NULL;
    int target[MAX_FDS], nt = 0, top = 2;
    for (char *t = s[2]; *t && nt < MAX_FDS; t += strcspn(t, ","), t += *t == ',') {
        target[nt] = atoi(t);
        if (target[nt] > top)
            top = target[nt];
        nt++;
    }
    if (nt != ngot)
        _exit(2);
    close(c);
    /* every received descriptor above every target first, then onto its number */
    for (int i = 0; i < ngot; i++) {
        int h = fcntl(got[i], F_DUPFD, top + 1);
        close(got[i]);
        if (h < 0)
            _exit(2);
        got[i] = h;
    }
    int have1 = 0;
    for (int i = 0; i < ngot; i++) {
        if (dup2(got[i], target[i]) < 0)
            _exit(2);
        close(got[i]);
        have1 |= target[i] == 1;
    }
    if (!have1) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0 && null != 1) {
            dup2(null, 1);
            close(null);
        }
    }
    if (s[1][0] && chdir(s[1]) != 0) {
        /* a working directory gone: the report names nothing relative to it */
    }
    clearenv();
    for (; p < end; p += strlen(p) + 1)
        if (strchr(p, '='))
            putenv(p);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    int rc = cmd_symbolize(argc, argv);
    fflush(NULL);
    _exit(rc);
}

static void serve(int lfd, pid_t run_pid)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != run_pid)
        _exit(0);   /* drip run is already gone */
    prctl(PR_SET_NAME, "drip-symbolize");
    signal(SIGINT, SIG_IGN);    /* the terminal's ^C is the program's to handle: a report it */
    signal(SIGQUIT, SIG_IGN);   /* writes then must still be named */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGCHLD, SIG_IGN);   /* workers are reaped by the kernel */
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {   /* none of drip run's pipes held open: their readers see end of file */
        for (int fd = 0; fd < 3; fd++)
            dup2(null, fd);
        if (null > 2)
            close(null);
    }
    uid_t uid = getuid();
    gid_t gid = getgid();
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM)
                continue;
            _exit(0);
        }
        struct ucred cr;
        socklen_t len = sizeof cr;
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || cr.uid != uid || cr.gid != gid) {
            close(c);   /* the process spawns its own */
            continue;
        }
        pid_t w = fork();
        if (w == 0) {
            close(lfd);
            worker(c);
        }
        close(c);   /* a failed fork: the process sees its status pipe end and spawns its own */
    }
}

void drip_symserve_start(void)
{
    if (listen_fd < 0)
        return;
    pid_t me = getpid();
    fflush(NULL);   /* nothing of drip run's stdio is written again by a worker's exit */
    pid_t pid = fork();
    if (pid == 0)
        serve(listen_fd, me);
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
        kill(server_pid, SIGKILL);
        while (waitpid(server_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    server_pid = 0;
}
