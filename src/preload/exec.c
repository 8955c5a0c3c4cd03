/* exec.c — what drip does when a traced process calls exec (interpose.c routes the exec family
 * and posix_spawn here).
 *
 *  - The process `drip run` started (the root) stays traced through every exec it makes in
 *    place: wrappers that exec (`env`, `nice`, `setsid`, a script ending in `exec "$@"`, pyenv's
 *    shim) are how programs are started. libdrip.so left LD_PRELOAD at start-up (so that
 *    children are not traced unless follow_exec), so it is put back, with DRIP_OPTIONS, into the
 *    environment the exec passes on.
 *  - Where the exec'd program cannot be traced (statically linked, setuid, or an environment
 *    without LD_PRELOAD at all, as `env -i` makes), the root leaves one line saying so in the
 *    status directory `drip run` gave it (DRIP_STATUS_DIR, its file "exec"; "reported" in its
 *    file "state" once the report is written), which drip run prints when the
 *    process ends without a report; under plain LD_PRELOAD the line goes to stderr at once.
 *  - Other processes (forked children) that exec are not traced unless follow_exec: each such
 *    exec is counted in a page shared with the parent, whose report says how many children ran
 *    programs drip did not follow, and names --follow-exec.
 * Nothing here allocates with malloc: an exec may come from a vfork child, which shares the
 * parent's memory; the environment handed to exec is built in an mmap'd block.
 * Locks: none. The shared pages are updated with atomics.
 */
#include "internal.h"
#include "exec.h"
#include "runtime.h"

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


/* One per traced process, shared with its children through fork: they count here the execs
 * drip did not follow. */
struct exec_page {
    atomic_uint untraced;
    atomic_int first_taken;
    char first[PATH_MAX];
};

static struct exec_page *own_page;     /* this process's children count here */
static struct exec_page *parent_page;  /* a forked child counts its own execs in its parent's */
static char lib_path[PATH_MAX];        /* libdrip.so as the loader found it */
static char options[16384];            /* DRIP_OPTIONS at start-up, for the exec'd program */
static char status_dir[PATH_MAX];      /* DRIP_STATUS_DIR at start-up (env -i clears environ) */

static struct exec_page *new_page(void)
{
    void *p = mmap(NULL, sizeof(struct exec_page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

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
    own_page = new_page();
}

void drip__exec_fork_child(void)
{
    parent_page = own_page;
    own_page = new_page();
}

unsigned drip__untraced_execs(const char **first)
{
    if (!own_page)
        return 0;
    *first = own_page->first;
    return atomic_load(&own_page->untraced);
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

/* The root process wrote its report (or its one line saying why there is none). */
void drip__status_reported(void)
{
    if (drip__is_root_process())
        status_write("state", "reported\n");
}

/* ---- what the exec'd program is ------------------------------------------------------------ */
/* 1 when path is an ELF file with no program interpreter (statically linked); a "#!" script
 * is judged by its interpreter. */
static int is_static(const char *path, int depth)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char head[256];
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    int result = 0;
    if (n >= 2 && head[0] == '#' && head[1] == '!' && depth == 0) {
        head[n] = 0;
        char *s = (char *)head + 2;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n')
            e++;
        *e = 0;
        close(fd);
        return *s ? is_static(s, 1) : 0;
    }
    Elf64_Ehdr eh;
    if (n >= (ssize_t)sizeof eh) {
        memcpy(&eh, head, sizeof eh);
        if (!memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
            eh.e_phentsize == sizeof(Elf64_Phdr)) {
            result = 1;
            for (int i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof ph)) != (ssize_t)sizeof ph)
                    break;
                if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
                    result = 0;
            }
        }
    }
    close(fd);
    return result;
}

static int is_setid(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return ((st.st_mode & S_ISUID) && st.st_uid != getuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getgid());
}

/* Finds file on PATH as execvp does (file with a '/' is taken as it is); out = "" if absent. */
static void search_path(const char *file, char *out, size_t cap)
{
    out[0] = 0;
    if (strchr(file, '/')) {
        snprintf(out, cap, "%s", file);
        return;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char cand[PATH_MAX];
        if (snprintf(cand, sizeof cand, "%.*s%s%s", (int)n, p, n ? "/" : "", file) < (int)sizeof cand) {
            struct stat st;
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                snprintf(out, cap, "%s", cand);
                return;
            }
        }
        if (!e)
            return;
        p = e + 1;
    }
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
 * as this process had them, in one mmap'd block (*len bytes); NULL if out of memory. */
static char **env_with_drip(char *const envp[], size_t *len)
{
    static const char *const carried[] = {"DRIP_OPTIONS", "DRIP_ROOT_PID", "DRIP_STATUS_DIR"};
    const char *pre = env_get(envp, "LD_PRELOAD");
    size_t n = 0, bytes = strlen(lib_path) + (pre ? strlen(pre) : 0) + 16;
    while (envp && envp[n])
        n++;
    const char *vals[3];
    for (int k = 0; k < 3; k++) {
        vals[k] = k == 0 && options[0] ? options : getenv(carried[k]);
        if (vals[k])
            bytes += strlen(carried[k]) + strlen(vals[k]) + 2;
    }
    *len = (n + 5) * sizeof(char *) + bytes;
    char **out = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (out == MAP_FAILED)
        return NULL;
    char *s = (char *)(out + n + 5);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(envp[i], "LD_PRELOAD=", 11))
            continue;
        int skip = 0;
        for (int k = 0; k < 3; k++)
            if (vals[k] && !strncmp(envp[i], carried[k], strlen(carried[k])) && envp[i][strlen(carried[k])] == '=')
                skip = 1;
        if (!skip)
            out[m++] = envp[i];
    }
    out[m++] = s;
    s += sprintf(s, "LD_PRELOAD=%s%s%s", lib_path, pre && *pre ? ":" : "", pre ? pre : "") + 1;
    for (int k = 0; k < 3; k++)
        if (vals[k]) {
            out[m++] = s;
            s += sprintf(s, "%s=%s", carried[k], vals[k]) + 1;
        }
    out[m] = NULL;
    return out;
}

/* ---- the exec path -------------------------------------------------------------------------- */
struct exec_plan {
    char **env;          /* the environment to pass (the caller's when NULL) */
    size_t env_len;      /* its mmap'd size */
    struct exec_page *counted;   /* where this exec was counted as untraced */
    int status_written;
};

/* Decides what an exec of `target` (resolved path, "" if unknown) with envp needs. */
static void plan_exec(const char *target, char *const envp[], struct exec_plan *p)
{
    memset(p, 0, sizeof *p);
    /* drip's own children (drip__guard set: a helper drip starts) are none of the program's */
    if (!atomic_load(&drip__g.initialised) || drip__guard || env_has_drip(envp))
        return;
    /* a vfork child shares its parent's memory and pid bookkeeping: it is a child */
    int vfork_child = getpid() != drip__g.pid;
    int root = !vfork_child && !drip__is_fork_child && drip__is_root_process();
    if (drip__opt.follow_exec && !root) {
        /* every exec'd program is traced: put drip back if the program's environment lost it */
        if (!vfork_child && (env_get(envp, "LD_PRELOAD") || env_get(envp, "DRIP_OPTIONS")))
            p->env = env_with_drip(envp, &p->env_len);
        return;
    }
    if (!root) {
        p->counted = vfork_child ? own_page : parent_page;
        if (p->counted) {
            atomic_fetch_add(&p->counted->untraced, 1);
            if (!atomic_exchange(&p->counted->first_taken, 1))
                snprintf(p->counted->first, sizeof p->counted->first, "%s", target);
        }
        return;
    }
    const char *why = NULL;
    if (!env_get(envp, "LD_PRELOAD") && !env_get(envp, "DRIP_OPTIONS"))
        why = "with a cleared environment (no LD_PRELOAD, as env -i makes): drip cannot follow it";
    else if (target[0] && is_setid(target))
        why = ", which is setuid/setgid: the loader ignores LD_PRELOAD for it";
    else if (target[0] && is_static(target, 0))
        why = ", which is statically linked: LD_PRELOAD cannot reach it";
    if (why) {
        char line[PATH_MAX + 512];
        snprintf(line, sizeof line, "drip: process %d (%s) exec'd %s%s%s, so there is no leak report\n", (int)getpid(),
                 program_invocation_short_name, target[0] ? target : "a program", why[0] == ',' ? "" : " ", why);
        if (status_write("exec", line) == 0) {
            p->status_written = 1;
        } else if (drip__opt.report) {
            ssize_t ignored = write(2, line, strlen(line));
            (void)ignored;
        }
        return;
    }
    p->env = env_with_drip(envp, &p->env_len);
}

/* The exec failed and the process goes on: undo what plan_exec did. errno is kept. */
static void undo_exec(struct exec_plan *p)
{
    int e = errno;
    if (p->env)
        munmap(p->env, p->env_len);
    if (p->counted)
        atomic_fetch_sub(&p->counted->untraced, 1);
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
    plan_exec(path, envp, &p);
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
    search_path(file, target, sizeof target);
    struct exec_plan p;
    plan_exec(target, envp, &p);
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
    int rc = real(fd, argv, p.env ? p.env : envp);
    undo_exec(&p);
    return rc;
}

/* posix_spawn runs the program in a child through libc's own execve: count it here (the child
 * inherits the caller's environment, from which libdrip.so left LD_PRELOAD at start-up). */
void drip__spawned(const char *file, char *const envp[])
{
    if (!atomic_load(&drip__g.initialised) || drip__guard || drip__opt.follow_exec ||
        env_has_drip(envp ? envp : environ) || !own_page)
        return;
    atomic_fetch_add(&own_page->untraced, 1);
    if (!atomic_exchange(&own_page->first_taken, 1))
        snprintf(own_page->first, sizeof own_page->first, "%s", file);
}
