/* helper.c — where reports go, and the symbolizer process that writes them.
 *
 * Start-up (drip__report_dest_init, from drip__init): the directory the program started in is
 * kept (relative report paths are resolved against it), and the report's destination is
 * duplicated onto drip's own close-on-exec descriptor: stderr, or the log_path file opened now.
 * Programs that close stderr at exit (coreutils, xz, tar, mawk) or point fd 2 elsewhere (nginx)
 * then still deliver the report where the user looked, as valgrind does.
 *
 * At exit (drip__helper_run), the raw report (raw.h) is handed to `drip symbolize`, found next
 * to libdrip.so (build/lib -> build/bin/drip; lib/drip -> bin/drip; DRIP_CLI overrides), started
 * with stdin = the raw report and the report descriptors, and waited for. The program's
 * environment is passed on without LD_PRELOAD. The helper answers on a status pipe (its exit
 * status could be taken by the program's own SIGCHLD handler).
 * Locks: none (runs once, at exit, with the guard set and signals blocked).
 */
#include "internal.h"
#include "helper.h"
#include "arena.h"
#include "threads.h"
#include "symclient.h"
#include "runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sched.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


static char start_dir[PATH_MAX];
static char cli_override[PATH_MAX];
static int dest_fd = -1;       /* drip's copy of stderr or of the log_path file */
static int dest_is_log;
static int stderr_closed;      /* no log_path, and fd 2 was closed when the program started */
static dev_t dest_dev;
static ino_t dest_ino;

void drip__start_dir(char *out, size_t cap) { snprintf(out, cap, "%s", start_dir); }

/* path resolved against the start directory, %p replaced by the pid. */
void drip__resolve_path(const char *pattern, char *out, size_t cap)
{
    size_t o = 0;
    if (pattern[0] != '/' && start_dir[0])
        o = (size_t)snprintf(out, cap, "%s/", start_dir);
    for (const char *p = pattern; *p && o + 24 < cap; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(out + o, cap - o, "%d", (int)getpid());
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o < cap ? o : cap - 1] = 0;
}

void drip__report_dest_init(void)
{
    if (!getcwd(start_dir, sizeof start_dir))
        start_dir[0] = 0;
    const char *cli = getenv("DRIP_CLI");
    if (cli)
        snprintf(cli_override, sizeof cli_override, "%s", cli);
    drip__symclient_init();   /* drip run's shared symbolizer, if any */
    if (!drip__opt.report)
        return;
    if (drip__opt.log_path[0]) {
        char path[PATH_MAX + 64];
        drip__resolve_path(drip__opt.log_path, path, sizeof path);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dest_fd = drip__fd_high(fd);
            close(fd);
            dest_is_log = 1;
        }
    } else {
        dest_fd = drip__fd_high(2);
        /* `drip run -- prog 2>&-`: the user wants no text; whatever the program opens as fd 2
         * later (a log file) is not where drip writes */
        stderr_closed = dest_fd < 0 && errno == EBADF;
    }
    struct stat st;
    if (dest_fd >= 0 && fstat(dest_fd, &st) == 0) {
        dest_dev = st.st_dev;
        dest_ino = st.st_ino;
    } else if (dest_fd >= 0) {
        close(dest_fd);
        dest_fd = -1;
    }
}

/* The descriptor the text report goes to: drip's copy if the program left it alone (a program
 * that closes every descriptor, or reuses the number, gets the report on its fd 2 as before).
 * *is_log: it is the log_path file. -1 when there is none. */
int drip__report_fd(int *is_log)
{
    struct stat st;
    *is_log = 0;
    if (dest_fd >= 0 && !(drip__is_fork_child && dest_is_log) && fstat(dest_fd, &st) == 0 && st.st_dev == dest_dev && st.st_ino == dest_ino) {
        *is_log = dest_is_log;
        return dest_fd;
    }
    return -1;
}

int drip__report_stderr_closed(void) { return stderr_closed; }

/* Where the drip binary is: DRIP_CLI, else next to this library. 0 or -1. */
static int find_cli(char *out, size_t cap)
{
    if (cli_override[0]) {
        snprintf(out, cap, "%s", cli_override);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    Dl_info info;
    if (!dladdr((void *)&drip__report_dest_init, &info) || !info.dli_fname)
        return -1;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", info.dli_fname);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = 0;
    static const char *const rel[] = {"/../bin/drip", "/../../bin/drip", "/drip"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        snprintf(out, cap, "%s%s", dir, rel[i]);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

/* The program's environment without LD_PRELOAD: the symbolizer must not be traced. From the
 * arena (the size in *bytes, for helper_env_free), as the helpers' stacks are: at exit, a program
 * that ran out of memory (`ulimit -v`) has exhausted libc's allocator, and its report still goes. */
static char **helper_env(size_t *bytes)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    *bytes = (n + 1) * sizeof(char *);
    char **env = drip__arena_alloc(*bytes);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "DRIP_OPTIONS=", 13))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

static void helper_env_free(char **env, size_t bytes) { drip__arena_free(env, bytes); }

struct child_args {
    const char *path;
    char **argv, **env;
    int in_fd, err_fd, null_fd;
    const int *keep;
    int nkeep;
};

enum { HELPER_STACK_MIN = 8 << 20 };

/* The child, sharing the parent's memory until it execs (CLONE_VM | CLONE_VFORK): only raw
 * system calls. Its own copy of the signal handlers is reset first, so that no handler of the
 * program can run in it once the mask is cleared. */
static int child_main(void *arg)
{
    struct child_args *a = arg;
    /* the kernel's struct sigaction: handler, flags, restorer, mask (raw calls: drip or another
     * preload may interpose libc's wrappers, and this child must not run their code) */
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } cur, dfl = {0};
    for (long s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP && syscall(SYS_rt_sigaction, s, NULL, &cur, 8) == 0 &&
            cur.handler != (void *)SIG_DFL && cur.handler != (void *)SIG_IGN)
            syscall(SYS_rt_sigaction, s, &dfl, NULL, 8);
    if (syscall(SYS_dup2, a->in_fd, 0) < 0 || (a->null_fd >= 0 && syscall(SYS_dup2, a->null_fd, 1) < 0) ||
        (a->err_fd >= 0 && syscall(SYS_dup2, a->err_fd, 2) < 0))
        syscall(SYS_exit, 127);
    for (long fd = 0; fd < 3; fd++)
        syscall(SYS_fcntl, fd, F_SETFD, 0);   /* dup2 onto the same number keeps close-on-exec */
    for (int i = 0; i < a->nkeep; i++)
        if (a->keep[i] > 2)
            syscall(SYS_fcntl, a->keep[i], F_SETFD, 0);   /* passed under its own number */
    /* nothing else of the program's (pipes, sockets) stays open in the symbolizer: close every
     * descriptor above 2 that is not passed (close_range, Linux 5.9; skipped where it fails) */
    long lo = 3;
    for (;;) {
        long next = 1L << 30;
        for (int i = 0; i < a->nkeep; i++)
            if (a->keep[i] >= lo && a->keep[i] < next)
                next = a->keep[i];
        if (next > lo)
            syscall(SYS_close_range, lo, next - 1, 0);
        if (next == 1L << 30)
            break;
        lo = next + 1;
    }
    /* the program's `ulimit -s 32` is not the symbolizer's: libdw needs more than that, and
     * the report's frames came out unnamed ("the symbolizer failed"). Its own limit (a process
     * of its own: CLONE_VM shares memory, not rlimits) is raised to 8 MiB where the hard one
     * allows. */
    struct rlimit st;
    if (syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &st) == 0 && st.rlim_cur != RLIM_INFINITY &&
        st.rlim_cur < HELPER_STACK_MIN) {
        st.rlim_cur = st.rlim_max == RLIM_INFINITY || st.rlim_max > HELPER_STACK_MIN ? HELPER_STACK_MIN : st.rlim_max;
        syscall(SYS_prlimit64, 0, RLIMIT_STACK, &st, NULL);
    }
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
    syscall(SYS_execve, a->path, a->argv, a->env);
    syscall(SYS_exit, 127);
    return 127;
}

/* The errno of an output the last exit report's symbolizer could not write (its status "0e28"):
 * it answered, the text is written; drip__helper_write_err tells report.c, which says why. */
static int write_err;

static void status_err(const char *res)
{
    if (res[1] == 'e')
        write_err = atoi(res + 2);
}

int drip__helper_write_err(void) { return write_err; }

/* Starts `drip ARGS... --status-fd N` with stdin = in_fd, stderr = err_fd and the descriptors in
 * keep[] (each passed under its own number), and waits for it: drip run's shared symbolizer when
 * there is one, else a helper process of its own (also when the shared one took the request and
 * gave no answer). The helper says how it ended on the status pipe ("0" or "1"), not by its exit
 * status: a program's SIGCHLD handler may reap it first. A SIGCHLD the helper causes is discarded
 * when the calling thread blocks it (the exit report blocks every signal) and none was pending
 * before. Returns 0 or 1 from the helper, or -1 (with *why set) when it could not be started or
 * did not finish its work. */
static int helper_once(int shared, const char *cli, int in_fd, int err_fd, const int *keep, int nkeep,
                       char *const *args, const char **why)
{
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) != 0) {
        *why = "no pipe for the symbolizer";
        return -1;
    }
    sp[0] = drip__fd_above_stdio(sp[0]);
    sp[1] = drip__fd_above_stdio(sp[1]);
    if (sp[0] < 0 || sp[1] < 0) {
        close(sp[0]);
        close(sp[1]);
        *why = "no pipe for the symbolizer";
        return -1;
    }
    char sfd[16];
    snprintf(sfd, sizeof sfd, "%d", sp[1]);
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)cli;
    for (int i = 0; args[i] && argc < 28; i++)
        argv[argc++] = args[i];
    argv[argc++] = "--status-fd";
    argv[argc++] = sfd;
    argv[argc] = NULL;
    int keep2[8], nk = 0;
    for (int i = 0; i < nkeep && nk < 7; i++)
        keep2[nk++] = keep[i];
    keep2[nk++] = sp[1];
    size_t env_bytes;
    char **env = helper_env(&env_bytes);
    if (shared) {
        int sent = drip__symclient_send(argv + 1, argc - 1, env ? env : environ, in_fd, err_fd, keep2, nk);
        close(sp[1]);
        char res[24];
        ssize_t n = -1;
        if (sent == 0)
            while ((n = read(sp[0], res, sizeof res - 1)) < 0 && errno == EINTR)
                ;
        close(sp[0]);
        helper_env_free(env, env_bytes);
        if (n < 1 || (res[0] != '0' && res[0] != '1')) {
            *why = "the symbolizer failed";
            return -1;
        }
        res[n] = 0;
        status_err(res);
        return res[0] - '0';
    }
    enum { STACK = 64 * 1024 };
    char *stack = drip__arena_alloc(STACK);
    int null_fd = drip__fd_above_stdio(open("/dev/null", O_WRONLY | O_CLOEXEC));
    struct child_args ca = {cli, argv, env ? env : environ, in_fd, err_fd, null_fd, keep2, nk};
    sigset_t all, old, pending;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    sigpending(&pending);
    int chld_was_pending = sigismember(&pending, SIGCHLD);
    pid_t pid = stack ? clone(child_main, stack + STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &ca) : -1;
    close(sp[1]);
    char result = 0, res[24];
    if (pid > 0) {
        ssize_t n;
        while ((n = read(sp[0], res, sizeof res - 1)) < 0 && errno == EINTR)
            ;
        if (n >= 1) {
            res[n] = 0;
            result = res[0];
            status_err(res);
            n = 1;
        }
        int status;
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
            ;
        sigpending(&pending);
        if (!chld_was_pending && sigismember(&pending, SIGCHLD) && sigismember(&old, SIGCHLD)) {
            sigset_t chld;
            sigemptyset(&chld);
            sigaddset(&chld, SIGCHLD);
            struct timespec zero = {0, 0};
            sigtimedwait(&chld, NULL, &zero);   /* the program did not start that child */
        }
        if (n != 1 || (result != '0' && result != '1'))
            *why = "the symbolizer failed";
    } else {
        *why = "the symbolizer could not be started";
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(sp[0]);
    if (null_fd >= 0)
        close(null_fd);
    drip__arena_free(stack, STACK);
    helper_env_free(env, env_bytes);
    return result == '0' || result == '1' ? result - '0' : -1;
}

int drip__helper_run(int in_fd, int err_fd, const int *keep, int nkeep, char *const *args, const char **why)
{
    char cli[PATH_MAX];
    int have_cli = find_cli(cli, sizeof cli) == 0;
    write_err = 0;
    if (drip__symclient_ready() && !cli_override[0]) {
        int rc = helper_once(1, have_cli ? cli : "drip", in_fd, err_fd, keep, nkeep, args, why);
        if (rc >= 0)
            return rc;
    }
    if (!have_cli) {
        *why = drip__proc_kept() ? "the process changed its root directory (chroot), where the drip binary cannot run"
                                 : "the drip binary was not found next to libdrip.so (set DRIP_CLI)";
        return -1;
    }
    *why = NULL;
    /* the shared symbolizer may have read part of the raw report before it failed: the memory
     * file's offset is shared with it, so this symbolizer would start where that one stopped */
    lseek(in_fd, 0, SEEK_SET);
    return helper_once(0, cli, in_fd, err_fd, keep, nkeep, args, why);
}

/* A forked or exec'd child under drip run: the request goes to the shared symbolizer and the
 * process goes on to exit without waiting for the answer (symserve.c writes it, in the order the
 * processes ended, and drip run waits for every such report before it returns). The caller keeps
 * the synchronous way for the root process (drip run reads its report once it exits) and for
 * --error-exitcode (the exit status depends on the answer). 0 when the request was taken; -1 when
 * the caller must write the report itself (no server, it is gone or its queue is full). */
int drip__helper_handoff(int in_fd, int err_fd, const int *keep, int nkeep, char *const *args)
{
    if (!drip__symclient_ready() || cli_override[0])
        return -1;   /* DRIP_CLI: the caller named the symbolizer to run */
    int argc = 0;
    while (args[argc])
        argc++;
    size_t env_bytes;
    char **env = helper_env(&env_bytes);
    int rc = drip__symclient_send(args, argc, env ? env : environ, in_fd, err_fd, keep, nkeep);
    helper_env_free(env, env_bytes);
    return rc;
}

/* ---- the long-lived symbolizer for live requests ----------------------------------------------
 * The endpoint's answers (/debug/pprof/heap, /debug/pprof/symbol, /debug/drip/leaks, suspects),
 * the monitor's names and drip_check_end's frames go to one `drip symbolize --serve` per process,
 * started on first need with a socketpair as its stdin and stdout: requests are
 * "drip-request LEN\n" + a raw report, answers "drip-answer RC LEN\n" + the output (RC: 0 or 1
 * as the exit status of drip symbolize; 2: it could not read the request). It ends when the
 * program does (end of file on its socket). If it dies or stops answering, the request is
 * answered here with unnamed frames, and the next request starts a new one.
 * Lock: serve_mu (leaf: held across one exchange; nothing else is taken under it).
 */
#include <poll.h>
#include <sys/socket.h>

static pthread_mutex_t serve_mu = PTHREAD_MUTEX_INITIALIZER;
static int serve_fd = -1;
static pid_t serve_pid, serve_owner;

/* A forked child: a thread of the parent may have held serve_mu at fork, and that thread does not
 * exist here. The connection it guards is the parent's (serve_owner), dropped on first use. */
void drip__helper_child_reset(void) { pthread_mutex_init(&serve_mu, NULL); }

enum { SERVE_TIMEOUT_MS = 60000 };

static void serve_stop(void)
{
    if (serve_fd >= 0)
        close(serve_fd);
    serve_fd = -1;
    if (serve_pid > 0 && serve_owner == getpid()) {
        kill(serve_pid, SIGKILL);
        while (waitpid(serve_pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
    }
    serve_pid = 0;
}

static int serve_start(const char **why)
{
    char cli[PATH_MAX];
    if (find_cli(cli, sizeof cli) != 0) {
        *why = "the drip binary was not found next to libdrip.so (set DRIP_CLI)";
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        *why = "no socket for the symbolizer";
        return -1;
    }
    sv[0] = drip__fd_above_stdio(sv[0]);
    sv[1] = drip__fd_above_stdio(sv[1]);
    if (sv[0] < 0 || sv[1] < 0) {
        close(sv[0]);
        close(sv[1]);
        *why = "no socket for the symbolizer";
        return -1;
    }
    char *argv[] = {cli, "symbolize", "--serve", NULL};
    size_t env_bytes;
    char **env = helper_env(&env_bytes);
    enum { STACK = 64 * 1024 };
    char *stack = drip__arena_alloc(STACK);
    int keep[1] = {sv[1]};
    int is_log, err_fd = drip__report_fd(&is_log);
    struct child_args ca = {cli, argv, env ? env : environ, sv[1], err_fd >= 0 && !is_log ? err_fd : 2, sv[1], keep, 0};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t pid = stack ? clone(child_main, stack + STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &ca) : -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    drip__arena_free(stack, STACK);
    helper_env_free(env, env_bytes);
    close(sv[1]);
    if (pid <= 0) {
        close(sv[0]);
        *why = "the symbolizer could not be started";
        return -1;
    }
    serve_fd = sv[0];
    serve_pid = pid;
    serve_owner = getpid();
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes within the time limit. */
static int read_full(int fd, char *p, size_t n)
{
    while (n) {
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, SERVE_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Sends the raw report in memfd to the long-lived symbolizer and writes its answer on out_fd.
 * Returns 0 or 1 as drip symbolize would, or -1 (with *why) when it could not answer. */
int drip__helper_ask(int memfd, int out_fd, const char **why)
{
    struct stat st;
    if (fstat(memfd, &st) != 0 || st.st_size <= 0) {
        *why = "no raw report";
        return -1;
    }
    char *doc = malloc((size_t)st.st_size);
    if (!doc || pread(memfd, doc, (size_t)st.st_size, 0) != st.st_size) {
        free(doc);
        *why = "out of memory";
        return -1;
    }
    pthread_mutex_lock(&serve_mu);
    if (serve_fd >= 0 && serve_owner != getpid()) {
        close(serve_fd);   /* a forked child: the parent's symbolizer is not ours to talk to */
        serve_fd = -1;
        serve_pid = 0;
    }
    int rc = -1;
    if (serve_fd >= 0 || serve_start(why) == 0) {
        char head[64];
        int hl = snprintf(head, sizeof head, "drip-request %lld\n", (long long)st.st_size);
        char line[64];
        size_t ll = 0;
        if (write_all(serve_fd, head, (size_t)hl) == 0 && write_all(serve_fd, doc, (size_t)st.st_size) == 0) {
            while (ll < sizeof line - 1 && read_full(serve_fd, line + ll, 1) == 0 && line[ll] != '\n')
                ll++;
            line[ll] = 0;
            int code = -1;
            long long len = -1;
            if (sscanf(line, "drip-answer %d %lld", &code, &len) == 2 && len >= 0 && (code == 0 || code == 1)) {
                char buf[65536];
                rc = code;
                while (len > 0 && rc >= 0) {
                    size_t n = len < (long long)sizeof buf ? (size_t)len : sizeof buf;
                    if (read_full(serve_fd, buf, n) != 0) {
                        rc = -1;
                        break;
                    }
                    for (size_t off = 0; off < n;) {
                        ssize_t w = write(out_fd, buf + off, n - off);
                        if (w < 0 && errno == EINTR)
                            continue;
                        if (w <= 0)
                            break;   /* the client went away: the exchange still completes */
                        off += (size_t)w;
                    }
                    len -= (long long)n;
                }
            } else if (sscanf(line, "drip-answer %d %lld", &code, &len) == 2 && len >= 0) {
                /* it could not read this request (code 2): it is alive, the answer is ours */
                char buf[4096];
                while (len > 0 && read_full(serve_fd, buf, len < 4096 ? (size_t)len : 4096) == 0)
                    len -= len < 4096 ? len : 4096;
                *why = "the symbolizer refused the request";
                pthread_mutex_unlock(&serve_mu);
                free(doc);
                return -1;
            }
        }
        if (rc < 0) {
            *why = "the symbolizer died or stopped answering";
            serve_stop();
        }
    }
    pthread_mutex_unlock(&serve_mu);
    free(doc);
    return rc;
}
