/* main.c — the drip command: dispatches to its subcommands. */
#include "cli.h"
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DRIP_VERSION
#define DRIP_VERSION "0"
#endif

int die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("drip: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

int drip__libdir_file(const char *name, char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    /* installed: PREFIX/bin/drip and PREFIX/lib/drip/NAME; build tree: build/bin + build/lib */
    snprintf(out, cap, "%s/../lib/drip/%s", exe, name);
    if (access(out, R_OK) == 0)
        return 0;
    snprintf(out, cap, "%s/../lib/%s", exe, name);
    if (access(out, R_OK) == 0)
        return 0;
    snprintf(out, cap, "%s/%s", exe, name);
    return access(out, R_OK) == 0 ? 0 : -1;
}

static volatile pid_t child_pid;
void (*drip__after_child)(int pid);

ssize_t drip__read_head(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

/* Whether process p is the program or one of its descendants: its parents, read from
 * /proc/P/stat, lead to the child. This runs in a signal handler: open, read, close and plain
 * code only (no stdio, no locale). */
static int from_program(pid_t p)
{
    for (int depth = 0; p > 1 && depth < 64; depth++) {
        if (p == child_pid)
            return 1;
        char path[40] = "/proc/", digits[16], buf[512];
        size_t o = 6, nd = 0;
        for (unsigned v = (unsigned)p; v; v /= 10)
            digits[nd++] = (char)('0' + v % 10);
        while (nd)
            path[o++] = digits[--nd];
        memcpy(path + o, "/stat", 6);
        if (drip__read_head(path, buf, sizeof buf) <= 0)
            return 0;
        const char *q = strrchr(buf, ')');   /* "PID (COMM) STATE PPID ...", COMM may hold anything */
        if (!q || q[1] != ' ' || !q[2] || q[3] != ' ' || q[4] < '0' || q[4] > '9')
            return 0;
        pid_t ppid = 0;
        for (q += 4; *q >= '0' && *q <= '9'; q++)
            ppid = ppid * 10 + (*q - '0');
        p = ppid;
    }
    return 0;
}

/* SIGTERM, SIGHUP, SIGINT and SIGQUIT that reached drip are passed on to the program, else it
 * would run on as if nothing had been asked (`kill PID` from a supervisor, a test harness),
 * unless the program got the signal itself:
 *  - the terminal's (si_code SI_KERNEL: Ctrl-C, Ctrl-\, a hangup) went to the whole foreground
 *    group, the program's too, as with system();
 *  - one the program or a process of its own sent to drip's process group (`kill 0`, `trap 'kill
 *    0' EXIT` in a script) reached every process of the group, the program's too: passed on, it
 *    would come twice. */
static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    if (child_pid > 0 && !(si && (si->si_code == SI_KERNEL || ((si->si_code == SI_USER || si->si_code == SI_QUEUE) &&
                                                                 from_program(si->si_pid)))))
        kill(child_pid, sig);
    errno = saved;
}

void (*drip__run_ended)(int pid, int code, int status);
void (*drip__run_started)(int pid);

int run_child(const char *prog, char **argv)
{
    /* like system(): the terminal's SIGINT/SIGQUIT reach the child directly; drip waits for it to
     * write its report. SIGTERM/SIGHUP/SIGINT/SIGQUIT a process sent to drip are passed on, but
     * for those the program sent to its own group (forward). */
    /* ignored when drip was started (a background job of a script): the program inherits that,
     * as it would without drip, and nothing is passed on */
    int int_ign = signal(SIGINT, SIG_IGN) == SIG_IGN;
    int quit_ign = signal(SIGQUIT, SIG_IGN) == SIG_IGN;
    /* SIGTERM/SIGHUP (and a process's SIGINT/SIGQUIT) stay blocked until the child's pid is known and the forwarding handler is
     * in place: one sent to drip in between is then forwarded, not lost (or fatal to drip alone,
     * leaving the program running) */
    sigset_t fwd, old;
    sigemptyset(&fwd);
    sigaddset(&fwd, SIGTERM);
    sigaddset(&fwd, SIGHUP);
    sigaddset(&fwd, SIGINT);
    sigaddset(&fwd, SIGQUIT);
    sigprocmask(SIG_BLOCK, &fwd, &old);
    /* vfork, not fork: drip run waits for the program anyway, and a fork copied drip's page
     * tables and made both sides fault on every page written before the exec, while on a busy
     * machine the child also waited for a CPU that the parent kept. The child shares drip's memory
     * until it execs, so everything it needs is made here first: its environment (drip run's, and
     * DRIP_ROOT_PID, whose digits the child writes once it knows its pid: this process writes
     * the reports under their names), /bin/sh's arguments for a script without "#!", and no
     * allocation, stdio or return in the child. */
    extern char **environ;
    static char root_pid[32] = "DRIP_ROOT_PID=";
    const size_t root_at = strlen(root_pid);
    size_t nenv = 0, nargs = 0;
    while (environ[nenv])
        nenv++;
    while (argv[nargs])
        nargs++;
    char **envp = calloc(nenv + 2, sizeof *envp), **sh = calloc(nargs + 2, sizeof *sh);
    if (!envp || !sh)
        return die(2, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < nenv; j++)
        if (strncmp(environ[j], root_pid, root_at) != 0)
            envp[k++] = environ[j];
    envp[k] = root_pid;
    sh[0] = "/bin/sh";
    sh[1] = (char *)prog;
    for (size_t j = 1; j <= nargs; j++)
        sh[j + 1] = argv[j];
    pid_t pid = vfork();
    if (pid < 0)
        return die(2, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (!int_ign)
            signal(SIGINT, SIG_DFL);
        if (!quit_ign)
            signal(SIGQUIT, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        char digits[16];
        int nd = 0;
        for (unsigned v = (unsigned)getpid(); v || !nd; v /= 10)
            digits[nd++] = (char)('0' + v % 10);
        for (int j = 0; j < nd; j++)
            root_pid[root_at + (size_t)j] = digits[nd - 1 - j];
        root_pid[root_at + (size_t)nd] = 0;
        execve(prog, argv, envp);
        int e = errno;
        if (e == ENOEXEC)   /* a script without "#!": /bin/sh runs it, as execvp and the shells do */
            execve("/bin/sh", sh, envp);
        char msg[PATH_MAX + 128];
        const char *why = strerrordesc_np(e);   /* no locale, no allocation: strerror's C text */
        int len = snprintf(msg, sizeof msg, "drip: cannot run %s: %s\n", prog, why ? why : "error");
        if (len > 0)
            (void)!write(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
        _exit(e == ENOENT ? 127 : 126);
    }
    free(envp);
    free(sh);
    child_pid = pid;
    if (drip__run_started)
        drip__run_started(pid);
    /* drip's own lines must not kill it when the reader of its stderr is gone (`| head`): the
     * status it leaves with is the program's (a re-raised SIGPIPE gets SIG_DFL back first) */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (!int_ign)
        sigaction(SIGINT, &sa, NULL);
    if (!quit_ign)
        sigaction(SIGQUIT, &sa, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* the child is waited for in two steps: ended (still a zombie, so /proc/PID names it for
     * drip__run_ended), then reaped */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            return die(2, "waitid: %s", strerror(errno));
    if (drip__run_ended)
        drip__run_ended(pid, si.si_code, si.si_status);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return die(2, "waitpid: %s", strerror(errno));
    if (drip__after_child)
        drip__after_child(pid);   /* postrun.c: SARIF, --gen-suppressions, before a re-raise */
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        fflush(NULL);
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        /* no core file from drip itself: the program's own is what matters, and with a
         * core_pattern such as "core" drip's would replace it (the status then lacks the
         * core-dumped bit, the one thing of the program's status drip cannot pass on) */
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        raise(sig);
        return 128 + sig;
    }
    return 2;
}

/* `drip options --check 'name=value:...'`: parses a DRIP_OPTIONS value with the library's own
 * parser and prints every option it sets, one name=value a line; exit 2 and one line if it
 * does not parse. The documentation's examples are checked with it. */
static int check_options(const char *text)
{
    struct drip_options def, o;
    drip__options_defaults(&def);
    drip__options_defaults(&o);
    char err[512] = "";
    if (drip__options_parse(&o, text, err, sizeof err) != 0)
        return die(2, "DRIP_OPTIONS: %s", err);
    size_t i = 0;
#define DRIP_OPT_SHOW_BOOL(n) if (o.n != def.n) printf("%s=%d\n", #n, o.n);
#define DRIP_OPT_SHOW_INT(n) if (o.n != def.n) printf("%s=%ld\n", #n, o.n);
#define DRIP_OPT_SHOW_SIZE(n) if (o.n != def.n) printf("%s=%llu\n", #n, o.n);
#define DRIP_OPT_SHOW_DURATION(n) if (o.n != def.n) printf("%s=%llums\n", #n, o.n);
#define DRIP_OPT_SHOW_STR(n) if (strcmp(o.n, def.n)) printf("%s=%s\n", #n, o.n);
#define DRIP_OPT_SHOW(name, type, d, help) i++; DRIP_OPT_SHOW_##type(name)
    DRIP_OPTION_TABLE(DRIP_OPT_SHOW)
#undef DRIP_OPT_SHOW
    (void)i;
    return 0;
}

static int cmd_options(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--check"))
        return argc == 3 ? check_options(argv[2]) : die(2, "usage: drip options --check 'name=value:...'");
    if (argc > 1 && strcmp(argv[1], "--markdown"))
        return drip__options_generate(argv[1]);   /* --man, --bash-completion (manpage.c) */
    int md = argc > 1;
    if (md)
        printf("| option | type | default | meaning |\n|---|---|---|---|\n");
    static const char *types[] = {"yes/no", "integer", "size", "duration", "text"};
    for (size_t i = 0; i < drip_option_count; i++) {
        const struct drip_option_info *o = &drip_option_infos[i];
        char accepts[96];
        drip__option_accepts(o->name, " (", accepts, sizeof accepts - 1);
        if (accepts[0])
            strcat(accepts, ")");
        if (md)
            printf("| `%s` | %s | `%s` | %s%s |\n", o->name, types[o->type], o->def, o->help, accepts);
        else
            printf("%-24s %-8s default %-8s %s%s\n", o->name, types[o->type], o->def[0] ? o->def : "none", o->help, accepts);
    }
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    printf("drip %s\n", DRIP_VERSION);
    return 0;
}

/* The commands, in the order `drip --help` lists them. fn NULL: a second usage line of the
 * command above. Each fn gets argv from the command's name on. */
static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *synopsis, *summary;
} commands[] = {
    {"run", cmd_run, "run [options] -- prog [args]", "run prog under the leak tracker; report at exit"},
    {"top", cmd_top, "top [options] FILE|URL", "the functions holding the most of a pprof profile"},
    {"diff", cmd_diff, "diff [options] BEFORE AFTER", "which functions' live bytes grew between two profiles"},
    {"flame", cmd_flame, "flame [--folded] FILE|URL", "interactive flame graph (SVG) or folded stacks"},
    {"watch", cmd_watch, "watch [options] PID | -- cmd", "RSS, PSS, swap, threads, fds over time; trend; plot"},
    {"symbolize", cmd_symbolize, "symbolize [options] RAWFILE", "name the frames of a raw report (run --raw-out) and write it"},
    {"sarif", cmd_sarif, "sarif [options] REPORT.json", "convert a JSON leak report to SARIF 2.1.0"},
    {"suppress", cmd_suppress, "suppress REPORT.json", "LeakSanitizer-format suppressions for its leak records"},
    {"options", cmd_options, "options [--markdown|--man|--bash-completion]", "list the preload library's options (DRIP_OPTIONS)"},
    {"options", NULL, "options --check VALUE", "parse a DRIP_OPTIONS value; print what it sets"},
    {"version", cmd_version, "version", "print drip's version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: drip <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command *c = &commands[i];
        if (strlen(c->synopsis) > 30)   /* the summary goes on a line of its own */
            fprintf(out, "  %s\n  %-30s %s\n", c->synopsis, "", c->summary);
        else
            fprintf(out, "  %-30s %s\n", c->synopsis, c->summary);
    }
    fprintf(out, "\n"
                 "drip run --help lists every option with its default; drip COMMAND --help, each command's.\n"
                 "drip [valgrind options] prog [args] runs prog as `drip run` would, taking valgrind's flags\n"
                 "(for CTest's memcheck: MEMORYCHECK_COMMAND=drip, MEMORYCHECK_TYPE=Valgrind).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        printf("\n");
        return 0;
    }
    if (!strcmp(cmd, "--version"))
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn && !strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return cmd_vgcompat(argc, argv);   /* valgrind's command line (vgcompat.c) */
    return die(2, "unknown command '%s' (see drip --help)", cmd);
}
