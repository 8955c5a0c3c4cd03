/* exec.c — what drip does when a traced process calls exec (interpose.c routes the exec family
 * and posix_spawn here).
 *
 *  - The process `drip run` started (the root) stays traced through every exec it makes in
 *    place: wrappers that exec (`env`, `nice`, `setsid`, a script ending in `exec "$@"`, pyenv's
 *    shim) are how programs are started. libdrip.so left LD_PRELOAD at start-up (so that
 *    children are not traced unless follow_exec), so it is put back, with DRIP_OPTIONS, into the
 *    environment the exec passes on.
 *  - The program does not see drip in its environment: `drip run` says in DRIP_ENV_RESTORE what
 *    each variable it set (LD_PRELOAD, DRIP_OPTIONS, DRIP_STATUS_DIR, DRIP_ROOT_PID) held before,
 *    and drip__exec_hide puts those values back (or takes the variable out) in the constructor;
 *    drip keeps its own copies. An exec that drip follows gets them again, with a
 *    DRIP_ENV_RESTORE of its own describing the environment the program passed, so the next
 *    program sees exactly that. Under plain LD_PRELOAD (no DRIP_ENV_RESTORE) the variables are
 *    the user's: only libdrip.so leaves LD_PRELOAD (and LD_PRELOAD itself when nothing is left).
 *    system() and popen() spawn through libc's internal posix_spawn, past the exec interposers:
 *    with follow_exec the environment they pass is drip's for the length of the call.
 *  - Where the exec'd program cannot be traced (statically linked, setuid, or an environment
 *    without LD_PRELOAD at all, as `env -i` makes), the root leaves one line saying so in the
 *    status directory `drip run` gave it (DRIP_STATUS_DIR, its file "exec"; "reported" in its
 *    file "state" once the report is written), which drip run prints when the
 *    process ends without a report; under plain LD_PRELOAD the line goes at once where the
 *    report would have gone (log_path, else stderr).
 *  - An exec whose path or environment the kernel cannot read (a bad pointer) is passed on
 *    untouched: it fails with EFAULT as without drip, where reading them would fault in drip.
 *  - Other processes (forked children) that exec are not traced unless follow_exec: each such
 *    exec is counted in a page shared with the parent (exec_count.c), whose report says how many
 *    children ran programs drip did not follow, and names --follow-exec.
 * Nothing here allocates with malloc: an exec may come from a vfork child, which shares the
 * parent's memory; the environment handed to exec is built in an mmap'd block.
 * Locks: none. The shared pages are updated with atomics.
 */
#include "internal.h"
#include "arena.h"
#include "exec.h"
#include "privdrop.h"
#include "runtime.h"
#include "helper.h"
#include "elfneeds.h"
#include "stop.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


static char lib_path[PATH_MAX];        /* libdrip.so as the loader found it */
static char options[16384];            /* DRIP_OPTIONS at start-up, for the exec'd program */
static char status_dir[PATH_MAX];      /* DRIP_STATUS_DIR at start-up (env -i clears environ) */
static char root_pid[24];              /* DRIP_ROOT_PID at start-up, or set by main_wrapper */
static int hidden;                     /* drip run's variables were taken out of environ */

/* The name=value pairs drip puts into an exec'd program's environment (besides LD_PRELOAD). */
static const char *const carried[] = {"DRIP_OPTIONS", "DRIP_ROOT_PID", "DRIP_STATUS_DIR"};

void drip__exec_init(void)
{
    Dl_info info;
    /* absolute: the program may change directory before it execs (LD_PRELOAD=build/lib/...) */
    if (dladdr((void *)drip__exec_init, &info) && info.dli_fname && !realpath(info.dli_fname, lib_path) &&
        strlen(info.dli_fname) < sizeof lib_path)
        strcpy(lib_path, info.dli_fname);
    const char *o = getenv("DRIP_OPTIONS");
    if (o && strlen(o) < sizeof options)
        strcpy(options, o);
    const char *d = getenv("DRIP_STATUS_DIR");
    if (d && strlen(d) < sizeof status_dir)
        strcpy(status_dir, d);
    const char *r = getenv("DRIP_ROOT_PID");
    if (r && strlen(r) < sizeof root_pid)
        strcpy(root_pid, r);
}

const char *drip__exec_root_pid(void) { return root_pid[0] ? root_pid : NULL; }

void drip__exec_set_root_pid(int pid)
{
    snprintf(root_pid, sizeof root_pid, "%d", pid);
    if (!hidden)   /* plain LD_PRELOAD with follow_exec: the descendants read it from environ */
        setenv("DRIP_ROOT_PID", root_pid, 0);
}

/* ---- the program's environment without drip ------------------------------------------------ */
/* Entries restored to the values they had before drip run set them live here (no allocation);
 * setenv only when this is full. */
static char restored[32768];
static size_t restored_len;

static void env_remove(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e;) {
        if (!strncmp(*e, name, n) && (*e)[n] == '=') {
            for (char **m = e; *m; m++)
                m[0] = m[1];
        } else {
            e++;
        }
    }
}

static void env_restore(const char *name, size_t nlen, const char *value, size_t vlen)
{
    char key[64];
    if (nlen >= sizeof key)
        return;
    memcpy(key, name, nlen);
    key[nlen] = 0;
    if (!value) {
        env_remove(key);
        return;
    }
    char **slot = NULL;
    for (char **e = environ; e && *e && !slot; e++)
        if (!strncmp(*e, key, nlen) && (*e)[nlen] == '=')
            slot = e;
    if (slot && restored_len + nlen + vlen + 2 <= sizeof restored) {
        char *s = restored + restored_len;
        memcpy(s, key, nlen);
        s[nlen] = '=';
        memcpy(s + nlen + 1, value, vlen);
        s[nlen + 1 + vlen] = 0;
        restored_len += nlen + vlen + 2;
        *slot = s;
    } else {
        char v[PATH_MAX * 4];
        if (vlen < sizeof v) {
            memcpy(v, value, vlen);
            v[vlen] = 0;
            setenv(key, v, 1);
        }
    }
}

/* Applies DRIP_ENV_RESTORE: a list of `NAME!;` (the variable was not set) and
 * `NAME=LEN:VALUE;` (it held VALUE, LEN bytes), then takes DRIP_ENV_RESTORE out. Returns 1 when
 * it was there (drip run, or an exec drip followed), 0 under plain LD_PRELOAD. */
int drip__exec_hide(void)
{
    const char *r = getenv("DRIP_ENV_RESTORE");
    if (!r)
        return 0;
    static char list[PATH_MAX * 8];   /* environ changes under r as entries are restored */
    snprintf(list, sizeof list, "%s", r);
    hidden = 1;
    for (const char *p = list; *p;) {
        const char *name = p;
        while (*p && *p != '!' && *p != '=')
            p++;
        size_t nlen = (size_t)(p - name);
        if (*p == '!') {
            env_restore(name, nlen, NULL, 0);
            p++;
        } else if (*p == '=') {
            char *end;
            unsigned long vlen = strtoul(p + 1, &end, 10);
            if (*end != ':' || strlen(end + 1) < vlen)
                break;   /* malformed: leave the rest as it is */
            env_restore(name, nlen, end + 1, vlen);
            p = end + 1 + vlen;
        } else {
            break;
        }
        if (*p == ';')
            p++;
    }
    env_remove("DRIP_ENV_RESTORE");
    return 1;
}

/* ---- the status directory that drip run reads ------------------------------------------- */
/* Writes text to DIR/name (replacing what it held). drip run creates the files writable by
 * anyone in a directory only it can list, so a program that drops its privileges (a daemon
 * started as root that becomes nobody) can still write them; nothing stays open in the program.
 * 0, or -1 when there is no status directory. */
static int status_write(const char *name, const char *text)
{
    const char *dir = status_dir;
    char path[PATH_MAX];
    if (!*dir || snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -1;
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ssize_t ignored = write(fd, text, strlen(text));
    (void)ignored;
    close(fd);
    return 0;
}

/* The root process could not write its report: drip run says this line instead. */
void drip__status_lost(const char *line)
{
    if (drip__is_root_process())
        status_write("exec", line);
}

/* The root process wrote its report (or its one line saying why there is none). */
void drip__status_reported(void)
{
    if (drip__is_root_process())
        status_write("state", "reported\n");
}

/* ---- environments ------------------------------------------------------------------------- */
static const char *env_get(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (!strncmp(envp[i], name, n) && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

static int env_has_drip(char *const envp[])
{
    const char *v = env_get(envp, "LD_PRELOAD");
    return v && strstr(v, "libdrip.so") != NULL;
}

/* envp with libdrip.so first in LD_PRELOAD and DRIP_OPTIONS, DRIP_ROOT_PID and DRIP_STATUS_DIR
 * as this process had them. When drip hides itself (hidden), DRIP_ENV_RESTORE says what envp
 * held, so that the exec'd program sees envp exactly. env_size: the bytes env_fill needs. */
enum { NC = sizeof carried / sizeof carried[0] };

static void carried_values(const char *vals[NC])
{
    vals[0] = options[0] ? options : getenv(carried[0]);
    vals[1] = drip__exec_root_pid();
    vals[2] = status_dir[0] ? status_dir : NULL;
}

static size_t env_size(char *const envp[])
{
    const char *pre = env_get(envp, "LD_PRELOAD"), *vals[NC];
    carried_values(vals);
    size_t n = 0, bytes = strlen(lib_path) + 2 * (pre ? strlen(pre) : 0) + 128;
    while (envp && envp[n])
        n++;
    for (size_t k = 0; k < NC; k++) {
        const char *had = env_get(envp, carried[k]);   /* for DRIP_ENV_RESTORE */
        bytes += 2 * strlen(carried[k]) + (vals[k] ? strlen(vals[k]) : 0) + (had ? strlen(had) : 0) + 40;
    }
    return (n + NC + 4) * sizeof(char *) + bytes;
}

static char **env_fill(char *const envp[], void *buf)
{
    const char *pre = env_get(envp, "LD_PRELOAD"), *vals[NC];
    carried_values(vals);
    size_t n = 0;
    while (envp && envp[n])
        n++;
    char **out = buf;
    char *s = (char *)(out + n + NC + 4);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(envp[i], "LD_PRELOAD=", 11) || !strncmp(envp[i], "DRIP_ENV_RESTORE=", 17))
            continue;
        int skip = 0;
        for (size_t k = 0; k < NC; k++)
            if (vals[k] && !strncmp(envp[i], carried[k], strlen(carried[k])) && envp[i][strlen(carried[k])] == '=')
                skip = 1;
        if (!skip)
            out[m++] = envp[i];
    }
    out[m++] = s;
    s += sprintf(s, "LD_PRELOAD=%s%s%s", lib_path, pre && *pre ? ":" : "", pre ? pre : "") + 1;
    for (size_t k = 0; k < NC; k++)
        if (vals[k]) {
            out[m++] = s;
            s += sprintf(s, "%s=%s", carried[k], vals[k]) + 1;
        }
    if (hidden) {
        out[m++] = s;
        s += sprintf(s, "DRIP_ENV_RESTORE=");
        s += pre ? sprintf(s, "LD_PRELOAD=%zu:%s;", strlen(pre), pre) : sprintf(s, "LD_PRELOAD!;");
        for (size_t k = 0; k < NC; k++) {
            const char *had = env_get(envp, carried[k]);
            if (vals[k])   /* else not set by drip: envp's own entry was kept */
                s += had ? sprintf(s, "%s=%zu:%s;", carried[k], strlen(had), had) : sprintf(s, "%s!;", carried[k]);
        }
    }
    out[m] = NULL;
    return out;
}

/* The same in an mmap'd block of *len bytes; NULL if out of memory. Where mmap is refused (a
 * program that lowered its own `ulimit -v` below what drip's arena reserved at start: bash's
 * `ulimit -v N; exec prog`), from the arena, whose range is reserved already: without it the
 * exec'd program ran untraced. Not in a vfork child (another thread of its parent may hold the
 * arena's lock). Free with env_free. */
static char **env_with_drip(char *const envp[], size_t *len, int vfork_child)
{
    *len = env_size(envp);
    void *buf = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED && !vfork_child && (buf = drip__arena_alloc(*len)) == NULL)
        buf = MAP_FAILED;
    return buf == MAP_FAILED ? NULL : env_fill(envp, buf);
}

static void env_free(char **env, size_t len)
{
    if (env && drip__arena_contains((uintptr_t)env))
        drip__arena_free(env, len);
    else if (env)
        munmap(env, len);
}

/* The environment a program drip follows through posix_spawn, system or popen gets (see
 * env_with_drip); NULL when that program is not followed or out of memory. Free with
 * drip__exec_env_free. */
char **drip__exec_spawn_env(char *const envp[], size_t *len)
{
    if (!atomic_load(&drip__g.initialised) || drip__guard || !drip__opt.follow_exec || env_has_drip(envp))
        return NULL;
    if (!hidden && !env_get(envp, "LD_PRELOAD") && !env_get(envp, "DRIP_OPTIONS"))
        return NULL;   /* plain LD_PRELOAD: the program cleared its environment */
    return env_with_drip(envp, len, 0);
}

void drip__exec_env_free(char **env, size_t len) { env_free(env, len); }

/* ---- the exec path -------------------------------------------------------------------------- */
struct exec_plan {
    char **env;          /* the environment to pass (the caller's when NULL) */
    size_t env_len;      /* its mmap'd size */
    size_t stack_env;    /* > 0: build it in this many bytes of the caller's stack (EXEC_ENV) */
    struct drip__exec_page *counted;   /* where this exec was counted as untraced (exec_count.c) */
    int status_written;
};

/* The environment with drip goes in an mmap'd block, except in a vfork child: a mapping made
 * there would stay in its parent (they share the address space) once the exec succeeds, so it is
 * built on the child's stack (its parent's, below the vfork, unused until the exec), when small
 * enough for any thread's stack; a larger one costs the parent that one mapping. */
enum { STACK_ENV_MAX = 64 * 1024 };

static void want_env(struct exec_plan *p, char *const envp[], int vfork_child)
{
    size_t need = vfork_child ? env_size(envp) : STACK_ENV_MAX + 1;
    if (need <= STACK_ENV_MAX)
        p->stack_env = need;
    else
        p->env = env_with_drip(envp, &p->env_len, vfork_child);
}

/* Builds a planned stack environment in the calling function's frame. */
#define EXEC_ENV(p, envp)                                                        \
    char exec_env_buf[(p).stack_env ? (p).stack_env : 1] __attribute__((aligned(16))); \
    if ((p).stack_env)                                                           \
        (p).env = env_fill((envp), exec_env_buf)

/* what a program built with a sanitizer runs without drip, and why */
#define SANITIZED ", whose runtime must come first in the process: it runs without drip (its own leak checker reports)"

/* Decides what an exec of `target` (resolved path, "" if unknown) with envp needs. */
static void plan_exec(const char *target, char *const envp[], struct exec_plan *p)
{
    memset(p, 0, sizeof *p);
    /* drip's own children (drip__guard set: a helper drip starts) are none of the program's;
     * an environment the kernel cannot read: the exec fails with EFAULT, as without drip */
    if (!atomic_load(&drip__g.initialised) || drip__guard || !drip__exec_envp_ok(envp) || env_has_drip(envp))
        return;
    /* report files made before a setuid or a seccomp filter (privdrop.c) are not the next
     * program's: the empty ones go (nothing in a vfork child, whose pid is not theirs) */
    drip__privdrop_done();
    /* a vfork child shares its parent's memory and pid bookkeeping: it is a child */
    int vfork_child = getpid() != drip__g.pid;
    int root = !vfork_child && !drip__is_fork_child && drip__is_root_process();
    /* a program built with -fsanitize (gcc: libasan.so in DT_NEEDED) stops at once when its
     * runtime is not first in the process: it gets no drip (elfneeds.c), and runs as without */
    char san[96];
    int sanitized = target[0] && drip_elf_sanitizer(target, san, sizeof san);
    if (drip__opt.follow_exec && !root && sanitized) {
        p->counted = drip__exec_count(vfork_child, target);
        return;
    }
    if (drip__opt.follow_exec && !root) {
        /* every exec'd program is traced: put drip back if the program's environment lost it */
        if (hidden)   /* the program cannot have lost what it never saw: always put it back */
            want_env(p, envp, vfork_child);
        else if (!vfork_child && (env_get(envp, "LD_PRELOAD") || env_get(envp, "DRIP_OPTIONS")))
            p->env = env_with_drip(envp, &p->env_len, 0);
        return;
    }
    if (!root) {
        p->counted = drip__exec_count(vfork_child, target);
        return;
    }
    const char *why = NULL;
    /* hidden: the program never saw drip's variables, so clearing its environment keeps drip */
    if (!hidden && !env_get(envp, "LD_PRELOAD") && !env_get(envp, "DRIP_OPTIONS"))
        why = "with a cleared environment (no LD_PRELOAD, as env -i makes): drip cannot follow it";
    else if (target[0] && drip__exec_is_setid(target))
        why = ", which is setuid/setgid: the loader ignores LD_PRELOAD for it";
    else if (target[0] && drip__exec_is_static(target, 0))
        why = ", which is statically linked: LD_PRELOAD cannot reach it";
    else if (sanitized)
        why = ", which is built with ";   /* + san, + SANITIZED */
    if (why) {
        char line[PATH_MAX + 512];
        snprintf(line, sizeof line, "drip: process %d (%s) exec'd %s%s%s%s%s, so there is no leak report\n", (int)getpid(),
                 program_invocation_short_name, target[0] ? target : "a program", why[0] == ',' ? "" : " ", why,
                 sanitized ? san : "", sanitized ? SANITIZED : "");
        if (status_write("exec", line) == 0) {
            p->status_written = 1;
        } else if (drip__opt.report) {
            /* where the report would have gone (log_path), so the program's stderr stays its own */
            int is_log, fd = drip__report_fd(&is_log);
            ssize_t ignored = write(fd >= 0 ? fd : 2, line, strlen(line));
            (void)ignored;
        }
        return;
    }
    want_env(p, envp, 0);
}

/* The exec failed and the process goes on: undo what plan_exec did. errno is kept. */
static void undo_exec(struct exec_plan *p)
{
    int e = errno;
    if (p->env && !p->stack_env)
        env_free(p->env, p->env_len);
    drip__exec_uncount(p->counted);
    if (p->status_written)
        status_write("exec", "");
    errno = e;
}

int drip__execve(const char *path, char *const argv[], char *const envp[])
{
    static int (*real)(const char *, char *const[], char *const[]);
    if (!real)
        real = (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execve");
    struct exec_plan p;
    if (drip__exec_string_ok(path))
        plan_exec(path, envp, &p);
    else
        memset(&p, 0, sizeof p);   /* a path the kernel cannot read: EFAULT, drip stays out */
    EXEC_ENV(p, envp);
    int rc = real(path, argv, p.env ? p.env : envp);
    undo_exec(&p);
    return rc;
}

int drip__execvpe(const char *file, char *const argv[], char *const envp[])
{
    static int (*real)(const char *, char *const[], char *const[]);
    if (!real)
        real = (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execvpe");
    char target[PATH_MAX];
    struct exec_plan p;
    memset(&p, 0, sizeof p);
    if (drip__exec_string_ok(file)) {
        drip__exec_search_path(file, target, sizeof target);
        plan_exec(target, envp, &p);
    }
    EXEC_ENV(p, envp);
    int rc = real(file, argv, p.env ? p.env : envp);
    undo_exec(&p);
    return rc;
}

int drip__fexecve(int fd, char *const argv[], char *const envp[])
{
    static int (*real)(int, char *const[], char *const[]);
    if (!real)
        real = (int (*)(int, char *const[], char *const[]))dlsym(RTLD_NEXT, "fexecve");
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    struct exec_plan p;
    plan_exec(target, envp, &p);
    EXEC_ENV(p, envp);
    int rc = real(fd, argv, p.env ? p.env : envp);
    undo_exec(&p);
    return rc;
}

/* posix_spawn runs the program in a child through libc's own execve: count it here (the child
 * inherits the caller's environment, from which libdrip.so left LD_PRELOAD at start-up). */
void drip__spawned(const char *file, char *const envp[])
{
    if (!atomic_load(&drip__g.initialised) || drip__guard || drip__opt.follow_exec ||
        env_has_drip(envp ? envp : environ))
        return;
    drip__exec_count(1, file);   /* as a vfork child's exec: in this process's own count */
}
