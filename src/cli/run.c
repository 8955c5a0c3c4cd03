/* run.c — `drip run [options] -- program args...`: checks what can be checked before the
 * program starts (the command exists, is dynamically linked and not setuid, the suppressions
 * parse, the report paths are writable), then runs it with libdrip.so preloaded and the options
 * passed in DRIP_OPTIONS, and leaves with the program's own status (or its signal).
 */
#include "cli.h"
#include "elfneeds.h"
#include "options.h"
#include "suppress.h"
#include "symserve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: drip run [options] -- program [args...]\n"
            "\n"
            "Runs program with drip's tracker preloaded and writes a leak report when it exits.\n"
            "Exit status: the program's own (or its signal), unless --error-exitcode N is given\n"
            "and definite or indirect leaks were found.\n"
            "\n"
            "options (each also settable as name=value in the DRIP_OPTIONS environment variable):\n");
    for (size_t i = 0; i < drip_option_count; i++) {
        const struct drip_option_info *o = &drip_option_infos[i];
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", o->name);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        const char *arg = o->type == DRIP_OPT_BOOL ? "" : o->type == DRIP_OPT_STR ? " VALUE"
                          : o->type == DRIP_OPT_SIZE ? " BYTES" : o->type == DRIP_OPT_DURATION ? " TIME" : " N";
        char left[96];
        snprintf(left, sizeof left, "%s%s", flag, arg);
        char accepts[96];
        drip__option_accepts(o->name, "; ", accepts, sizeof accepts);
        fprintf(out, "  %-30s %s (default: %s%s)\n", left, o->help, o->def[0] ? o->def : "none", accepts);
    }
    fprintf(out, "  %-30s %s\n", "--no-NAME", "turns a yes/no option off, e.g. --no-report");
    fprintf(out, "  %-30s %s\n", "--log FILE", "same as --log-path FILE");
    drip__postrun_usage(out);
    fprintf(out, "  %-30s %s\n", "-h, --help", "this text");
}

/* Finds `cmd` on PATH the way execvp would; writes the path to out. Returns 0 or -errno. */
static int find_command(const char *cmd, char *out, size_t outlen)
{
    if (strchr(cmd, '/')) {
        snprintf(out, outlen, "%s", cmd);
        return access(out, F_OK) == 0 ? 0 : -errno;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(out, outlen, "%.*s/%s", (int)n, n ? p : ".", cmd);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        p += n + (e ? 1 : 0);
        if (!e)
            break;
    }
    return -ENOENT;
}

/* Appends name='value' to DRIP_OPTIONS text. */
static int add_opt(char *buf, size_t cap, const char *name, const char *val)
{
    size_t len = strlen(buf);
    int n = snprintf(buf + len, cap - len, "%s%s='%s'", len ? ":" : "", name, val);
    return (n < 0 || (size_t)n >= cap - len) ? -1 : 0;
}

static const struct drip_option_info *find_opt(const char *flag, size_t len)
{
    for (size_t i = 0; i < drip_option_count; i++) {
        const char *n = drip_option_infos[i].name;
        if (strlen(n) != len)
            continue;
        size_t k = 0;
        while (k < len && (n[k] == flag[k] || (n[k] == '_' && flag[k] == '-')))
            k++;
        if (k == len)
            return &drip_option_infos[i];
    }
    return NULL;
}

static int absolutize(const char *in, char *out, size_t cap)
{
    if (in[0] == '/' || !in[0]) {
        snprintf(out, cap, "%s", in);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    snprintf(out, cap, "%s/%s", cwd, in);
    return 0;
}

/* Can the report be written there? Creates and removes the file if it did not exist. */
static int check_writable(const char *path)
{
    struct stat st;
    int existed = stat(path, &st) == 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    close(fd);
    if (!existed)
        unlink(path);
    return 0;
}

/* Can the library serve http=spec? host:port is resolved and bound for a moment, as listen.c will
 * (a unix: path is checked by the library): a typo or a port in use is then one line before the
 * program starts, not a program that ran without its endpoint. 0, or -1 after the line. */
static int check_listen(const char *name, const char *spec)
{
    if (!spec[0] || !strncmp(spec, "unix:", 5))
        return 0;
    char host[DRIP_OPT_STR_MAX], port[DRIP_OPT_STR_MAX];
    drip__listen_split(spec, host, sizeof host, port, sizeof port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai) {
        die(2, "%s=%s: cannot resolve: %s", name, spec, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ok = fd >= 0;
    if (ok)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ok = ok && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    if (!ok) {
        die(2, "%s=%s: cannot listen: %s", name, spec, strerror(e));
        return -1;
    }
    return 0;
}

/* ---- the status directory: what the library tells drip run -----------------------------------
 * drip run makes a private directory and passes it in DRIP_STATUS_DIR. The root process writes
 * "reported" in its file "state" once its report is written, and leaves "exec" (one line) before
 * an exec drip cannot follow. When the process ends without a report, drip run says why in one line: the user asked
 * for a report and must never be left with no word. */
static char status_dir[PATH_MAX];
static int status_expect_report;
static char run_log_path[PATH_MAX];   /* --log-path: where the one line goes instead of stderr */
static char run_json_path[PATH_MAX];  /* --json: gets a report that says there is none */
static int run_handle_signals = 1;

/* The line that stands for the report goes where the report would have gone: with --log-path
 * the user reads that file (stderr is the program's, and must carry its bytes only, as valgrind's
 * --log-file keeps its own lines off it). It replaces what the file held, as a report would; the
 * line goes to stderr when the file cannot be written. */
static void expand_pid(const char *in, int pid, char *path, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 16 < cap; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(path + o, cap - o, "%d", pid);
            p++;
        } else {
            path[o++] = *p;
        }
    }
    path[o] = 0;
}

/* Replaces the file at path with text; 0 when all of it was written. */
static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    return off == n ? 0 : -1;
}

/* 1 when the file at path begins with what process pid's report begins with (needle holds %d):
 * the report was written after all (the state file missed it: a signal came in between), and
 * must not be replaced by a line saying there is none. */
static int holds_report_of(const char *path, const char *needle, int pid)
{
    char want[128], buf[256];
    snprintf(want, sizeof want, needle, pid);
    return drip__read_head(path, buf, sizeof buf) > 0 && strstr(buf, want) != NULL;
}

static void say_no_report(int pid, int killed, const char *line)
{
    char path[PATH_MAX + 32];
    /* the library already said it on stderr (report.c, lost): the JSON and log get it, stderr not twice */
    int said = !strncmp(line, "said:", 5);
    line += said ? 5 : 0;
    if (run_log_path[0]) {
        expand_pid(run_log_path, pid, path, sizeof path);
        if (holds_report_of(path, "==%d== drip: leak report for process", pid))
            return;   /* the report is there: the line would be false */
    }
    if (run_json_path[0]) {
        expand_pid(run_json_path, pid, path, sizeof path);
        if (holds_report_of(path, "{\"pid\": %d,", pid))
            return;
    }
    /* handle_signals=0: no report on a signal was asked for, and no JSON stands for one */
    if (run_json_path[0] && !(killed && !run_handle_signals)) {
        /* a CI job that reads --json must not find nothing (or an earlier run's report): the
         * JSON says there is no report and why, in the shape a program with its own allocator
         * gets (complete false, summary null) */
        char json[PATH_MAX * 2 + 1200];
        size_t o = (size_t)snprintf(json, sizeof json, "{\"pid\": %d, \"complete\": false, \"no_report\": \"", pid);
        for (const unsigned char *c = (const unsigned char *)line; *c && o + 8 < sizeof json; c++) {
            if (*c == '\n' && !c[1])
                break;
            if (*c == '"' || *c == '\\')
                o += (size_t)snprintf(json + o, sizeof json - o, "\\%c", *c);
            else if (*c < 0x20)
                o += (size_t)snprintf(json + o, sizeof json - o, "\\u%04x", *c);
            else
                json[o++] = (char)*c;
        }
        snprintf(json + o, sizeof json - o, "\", \"summary\": null, \"leaks\": [], \"threads\": [], \"suspects\": []}\n");
        write_file(path, json);
    }
    if (run_log_path[0]) {
        expand_pid(run_log_path, pid, path, sizeof path);
        if (write_file(path, line) == 0)
            return;
    }
    if (!said)
        fputs(line, stderr);
}

/* 1 when the root process wrote "reported" in DIR/state. */
static int status_reported(void)
{
    char path[PATH_MAX + 32], buf[16] = "";
    snprintf(path, sizeof path, "%s/state", status_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(buf, sizeof buf, f) && !strcmp(buf, "reported\n");
    fclose(f);
    return ok;
}

static void status_cleanup(void)
{
    static const char *const names[] = {"state", "exec", "sym"};
    char path[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", status_dir, names[i]);
        unlink(path);
    }
    rmdir(status_dir);
}

static void run_ended(int pid, int code, int status)
{
    drip_symserve_stop();   /* the program's report is written: later exits spawn their own */
    if (status_expect_report && !status_reported()) {
        char comm[64] = "?", path[64];
        snprintf(path, sizeof path, "/proc/%d/comm", pid);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = 0;
            fclose(f);
        }
        char line[PATH_MAX + 600] = "";
        char epath[PATH_MAX + 32];
        snprintf(epath, sizeof epath, "%s/exec", status_dir);
        f = fopen(epath, "r");
        if (f) {
            if (!fgets(line, sizeof line, f))
                line[0] = 0;
            fclose(f);
        }
        fflush(stdout);
        if (!line[0] && (code == CLD_KILLED || code == CLD_DUMPED))
            snprintf(line, sizeof line, "drip: process %d (%s) was killed by SIG%s: no report\n", pid, comm,
                     sigabbrev_np(status) ? sigabbrev_np(status) : "?");
        else if (!line[0])
            snprintf(line, sizeof line, "drip: process %d (%s) exited with status %d without writing a report (drip was not "
                                        "loaded in the program it ran last, or it left by a raw exit system call)\n", pid, comm, status);
        say_no_report(pid, code == CLD_KILLED || code == CLD_DUMPED, line);
    }
    status_cleanup();
}

/* Removes the status directories that earlier drip runs left when they were killed (SIGKILL
 * gives no chance to clean up): drip-run-PID-XXXXXX whose PID no longer runs. */
static void status_sweep(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid = 0, n = 0;
        if (sscanf(e->d_name, "drip-run-%d-%*6[A-Za-z0-9]%n", &pid, &n) < 1 || n != (int)strlen(e->d_name) ||
            pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        static const char *const names[] = {"state", "exec", "reported", "sym"};
        char path[PATH_MAX + 300];
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(path, sizeof path, "%s/%s/%s", tmp, e->d_name, names[i]);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
        rmdir(path);
    }
    closedir(d);
}

static char sweep_dir[PATH_MAX];
static int symserve_listening;

/* Once the program runs (off its path): the shared symbolizer, and the sweep of what killed runs
 * left. libdw is loaded here (dwload.c), while the program starts, and the server inherits it:
 * the first report it names does not wait for the load. */
static void run_started(int pid)
{
    (void)pid;
    if (symserve_listening) {
        drip__dw_load();
        drip_symserve_start();
    }
    status_sweep(sweep_dir);
}

/* Makes the status directory and tells the library where it is. The directory can be entered
 * but not listed by others (0711) and its two files can be written by anyone (0622): the
 * program may drop its privileges before it writes them, and the names are random. */
static void status_start(int want_report)
{
    const char *tmp = getenv("TMPDIR");
    /* without TMPDIR: /dev/shm where it can be used. A tmpfs: on a disk file system (an ext4
     * /tmp) making the directory, its files and the symbolizer's socket cost more than 1 ms of
     * every run, and the sweep reads a directory that many programs fill */
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(sweep_dir, sizeof sweep_dir, "%s", tmp);
    snprintf(status_dir, sizeof status_dir, "%s/drip-run-%d-XXXXXX", tmp, (int)getpid());
    if (!mkdtemp(status_dir)) {
        status_dir[0] = 0;
        return;
    }
    chmod(status_dir, 0711);
    static const char *const names[] = {"state", "exec"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", status_dir, names[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            fchmod(fd, 0622);
            close(fd);
        }
    }
    status_expect_report = want_report;
    setenv("DRIP_STATUS_DIR", status_dir, 1);
    drip__run_ended = run_ended;
    symserve_listening = want_report && drip_symserve_listen(status_dir) == 0;
    drip__run_started = run_started;
}

/* The program must not see drip (issue #12): DRIP_ENV_RESTORE tells libdrip.so what each
 * variable drip run sets held before (`NAME=LEN:VALUE;`, or `NAME!;` when it was not set), and
 * the library puts those back in its constructor (src/preload/exec.c, drip__exec_hide).
 * DRIP_ROOT_PID is set in the child (main.c) just before the exec. */
static void restore_list(void)
{
    static const char *const names[] = {"LD_PRELOAD", "DRIP_OPTIONS", "DRIP_STATUS_DIR", "DRIP_ROOT_PID"};
    size_t cap = 64;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cap += strlen(names[i]) + 32 + (getenv(names[i]) ? strlen(getenv(names[i])) : 0);
    char *list = malloc(cap);
    if (!list)
        return;
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        n += (size_t)(v ? snprintf(list + n, cap - n, "%s=%zu:%s;", names[i], strlen(v), v)
                        : snprintf(list + n, cap - n, "%s!;", names[i]));
    }
    setenv("DRIP_ENV_RESTORE", list, 1);
    free(list);
}

int cmd_run(int argc, char **argv)
{
    static char opts[16384];
    /* `drip run -- prog 2>&-`: the text report has no destination, and whatever the program
     * opens as fd 2 later (after an exec, bash's script) is not it: log_path=/dev/null */
    int stderr_closed = fcntl(2, F_GETFD) < 0;
    struct drip_options parsed;
    drip__options_defaults(&parsed);
    const char *env = getenv("DRIP_OPTIONS");
    char err[512] = "";
    if (env && drip__options_parse(&parsed, env, err, sizeof err) != 0)
        return die(2, "DRIP_OPTIONS: %s", err);
    snprintf(opts, sizeof opts, "%s", env ? env : "");

    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            run_usage(stdout);
            return 0;
        }
        if (a[0] != '-')
            break;   /* the program starts here (no "--") */
        if (a[1] != '-')
            return die(2, "unknown option '%s' (see drip run --help)", a);
        int post = drip__postrun_flag(argc, argv, i);   /* --sarif, --source-root, --gen-suppressions */
        if (post < 0)
            return 2;
        if (post > 0) {
            i += post - 1;
            continue;
        }
        const char *name = a + 2, *val = NULL;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        int negate = 0;
        if (nlen == 3 && !strncmp(name, "log", 3))
            name = "log-path", nlen = 8;
        const struct drip_option_info *o = find_opt(name, nlen);
        if (!o && nlen > 3 && !strncmp(name, "no-", 3) && (o = find_opt(name + 3, nlen - 3)) && o->type == DRIP_OPT_BOOL)
            negate = 1;
        else if (negate == 0 && o == NULL)
            return die(2, "unknown option '%.*s' (see drip run --help)", (int)(nlen + 2), a);
        if (o->type == DRIP_OPT_BOOL) {
            val = eq ? eq + 1 : negate ? "0" : "1";
        } else if (eq) {
            val = eq + 1;
        } else {
            /* "--json -- prog" must not write the report to a file named "--" */
            if (i + 1 >= argc || !strcmp(argv[i + 1], "--") ||
                (!strncmp(argv[i + 1], "--", 2) && o->type != DRIP_OPT_INT))
                return die(2, "option --%.*s needs a value%s%s%s", (int)nlen, name, i + 1 < argc ? " (got '" : "",
                           i + 1 < argc ? argv[i + 1] : "", i + 1 < argc ? "')" : "");
            val = argv[++i];
        }
        char absval[PATH_MAX + 64];
        if (o->type == DRIP_OPT_STR && (!strcmp(o->name, "json") || !strcmp(o->name, "log_path") ||
                                        !strcmp(o->name, "suppressions") || !strcmp(o->name, "profile") ||
                                        !strcmp(o->name, "http_token"))) {
            /* "-" is stdout in `drip sarif` and most tools: here stdout is the program's, and
             * a file named "-" in the current directory is not what was meant */
            if (!strcmp(val, "-") && strcmp(o->name, "suppressions"))
                return die(2, "option --%.*s: '-' (stdout) cannot be used: stdout is the program's; give a file name "
                              "(%s)", (int)nlen, name, !strcmp(o->name, "log_path") ? "the text report goes to stderr by default"
                                                                                    : "e.g. /dev/stderr");
            if (absolutize(val, absval, sizeof absval) != 0)
                return die(2, "cannot resolve path %s", val);
            val = absval;
        }
        if (strchr(val, '\'') )
            return die(2, "option --%.*s: values may not contain a single quote", (int)nlen, name);
        if (drip__options_set(&parsed, o->name, strlen(o->name), val, strlen(val), err, sizeof err) != 0)
            return die(2, "%s", err);
        if (add_opt(opts, sizeof opts, o->name, val) != 0)
            return die(2, "too many options");
    }
    if (i >= argc)
        return die(2, "no program to run (usage: drip run [options] -- program [args...])");

    /* checks that would otherwise surface only when the program exits */
    if (parsed.suppressions[0]) {
        struct drip_suppressions s;
        if (drip__suppressions_load(&s, parsed.suppressions, err, sizeof err) != 0)
            return die(2, "%s", err);
        drip__suppressions_free(&s);
    }
    if (parsed.json[0] && !strstr(parsed.json, "%p")) {
        int rc = check_writable(parsed.json);
        if (rc)
            return die(2, "cannot write JSON report %s: %s", parsed.json, strerror(-rc));
    }
    if (parsed.log_path[0] && !strstr(parsed.log_path, "%p")) {
        int rc = check_writable(parsed.log_path);
        if (rc)
            return die(2, "cannot write report %s: %s", parsed.log_path, strerror(-rc));
    }

    if (parsed.profile[0] && !strstr(parsed.profile, "%p")) {
        int rc = check_writable(parsed.profile);
        if (rc)
            return die(2, "cannot write profile %s: %s", parsed.profile, strerror(-rc));
    }
    if (check_listen("http", parsed.http) || check_listen("http_metrics", parsed.http_metrics))
        return 2;

    char prog[PATH_MAX];
    int rc = find_command(argv[i], prog, sizeof prog);
    if (rc)
        return die(127, "command not found: %s", argv[i]);
    struct stat st;
    if (stat(prog, &st) != 0)
        return die(127, "command not found: %s", argv[i]);
    if (S_ISDIR(st.st_mode))
        return die(126, "%s is a directory", prog);
    if (access(prog, X_OK) != 0)
        return die(126, "%s is not executable", prog);
    if (((st.st_mode & S_ISUID) && st.st_uid != getuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getgid()))
        return die(2, "%s is setuid/setgid: the loader ignores LD_PRELOAD for it, so drip cannot trace it "
                      "(run a copy without the setuid bit)", prog);
    if (drip_elf_static(prog))
        return die(2, "%s is statically linked: LD_PRELOAD cannot reach it; link it dynamically to use drip run", prog);
    char san[96];   /* gcc's -fsanitize=address: libasan.so must come first, and stops the program if not */
    if (drip_elf_sanitizer(prog, san, sizeof san))
        return die(2, "%s is built with %s, whose runtime must come first in the process: it stops under LD_PRELOAD "
                      "of libdrip.so; run it as it is (its own leak checker reports), or build it without -fsanitize "
                      "to use drip run", prog, san);

    char lib[PATH_MAX];
    if (drip__libdir_file("libdrip.so", lib, sizeof lib) != 0)
        return die(2, "cannot find libdrip.so next to the drip command");
    restore_list();   /* before drip's own variables go in */
    const char *old = getenv("LD_PRELOAD");
    char preload[PATH_MAX * 2];
    snprintf(preload, sizeof preload, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    if (stderr_closed && !parsed.log_path[0] && parsed.report &&
        (drip__options_set(&parsed, "log_path", 8, "/dev/null", 9, err, sizeof err) != 0 ||
         add_opt(opts, sizeof opts, "log_path", "/dev/null") != 0))
        return die(2, "too many options");
    if (drip__postrun_prepare(opts, sizeof opts, &parsed) != 0)
        return 2;
    setenv("DRIP_OPTIONS", opts, 1);
    snprintf(run_log_path, sizeof run_log_path, "%s", parsed.log_path);
    snprintf(run_json_path, sizeof run_json_path, "%s", parsed.json);
    run_handle_signals = parsed.handle_signals;
    status_start(parsed.report);
    return run_child(prog, argv + i);
}
