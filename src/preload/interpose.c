/* interpose.c — every libc symbol libdrip.so interposes, in one list; each is a few lines that
 * call the module that does the work.
 *
 * The interposed symbols (tests/run: test `interposed_symbols` checks this list against the
 * library's exported functions; keep one name per line between the two markers):
 * interposed-begin
 *   malloc free calloc realloc reallocarray       hooks.c: the allocator, and nothing else
 *   posix_memalign aligned_alloc memalign         hooks.c
 *   valloc pvalloc                                hooks.c
 *   __libc_malloc __libc_free __libc_calloc       hooks.c: glibc's second names (a program's
 *   __libc_realloc __libc_memalign                own malloc over glibc's: foreign.c)
 *   __libc_valloc __libc_pvalloc                  hooks.c
 *   exit _exit _Exit                              hooks.c: the exit report
 *   __libc_start_main                             runtime.c: main runs inside drip's wrapper
 *   pthread_create pthread_join pthread_detach    threads.c: the thread registry
 *   pthread_exit                                  thread_end.c: main's pthread_exit ends the process
 *   dlopen dlclose                                modules.c: the module table
 *   sigaction signal                              signals.c: drip's handler for fatal signals
 *   execve execv execvpe execvp fexecve           exec.c: what an exec'd program inherits
 *   execl execlp execle                           exec.c
 *   posix_spawn posix_spawnp                      exec.c: untraced children counted, or followed
 *   system popen                                  exec.c: the same for libc's internal spawn
 *   mmap mmap64 munmap mremap                     mmaps.c: who mapped anonymous memory (roots)
 *   setuid seteuid setreuid setresuid             privdrop.c: report files opened before
 *   setgid setegid setregid setresgid chroot      privdrop.c: the rights to create them go
 *   prctl                                         privdrop.c: the same before a seccomp filter
 *   setrlimit setrlimit64 prlimit prlimit64       arena.c: drip's reservation under a lower RLIMIT_AS
 *   unshare setns mount                           thread_end.c: /proc kept before it may change
 * interposed-end
 * The allocator and the exit functions are defined in hooks.c, not here: the allocator is the hot
 * path (one call less per malloc), and the exit hooks must be the exported functions themselves,
 * because DRIP_NOTE_EXIT takes the caller's frame from their own frame address.
 */
#include "internal.h"
#include "arena.h"
#include "exec.h"
#include "mmaps.h"
#include "modules.h"
#include "privdrop.h"
#include "profile.h"
#include "runtime.h"
#include "signals.h"
#include "threads.h"

#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdarg.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- start: main runs inside drip's wrapper (runtime.c) ----------------------------------- */
DRIP_EXPORT int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                                  void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    return drip__libc_start_main(main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* ---- threads: the registry of the program's threads (threads.c) ---------------------------- */
DRIP_EXPORT int pthread_create(pthread_t *tid, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    return drip__pthread_create(tid, attr, fn, arg);
}

DRIP_EXPORT int pthread_join(pthread_t tid, void **ret) { return drip__pthread_join(tid, ret); }

DRIP_EXPORT int pthread_detach(pthread_t tid) { return drip__pthread_detach(tid); }

DRIP_EXPORT void pthread_exit(void *ret) { drip__pthread_exit(ret); }

/* ---- modules: the table of loaded code changes (modules.c) ---------------------------------- */
DRIP_EXPORT void *dlopen(const char *file, int mode) { return drip__dlopen(file, mode); }

DRIP_EXPORT int dlclose(void *handle) { return drip__dlclose(handle); }

/* ---- signals: drip's handler stands in for SIG_DFL on fatal signals (signals.c) -------------- */
DRIP_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return drip__sigaction(sig, act, old);
}

DRIP_EXPORT sighandler_t signal(int sig, sighandler_t handler) { return drip__signal(sig, handler); }

/* ---- exec: exec.c decides what the exec'd program inherits ---------------------------------- */
DRIP_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return drip__execve(path, argv, envp);
}

DRIP_EXPORT int execv(const char *path, char *const argv[]) { return drip__execve(path, argv, environ); }

DRIP_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return drip__execvpe(file, argv, envp);
}

DRIP_EXPORT int execvp(const char *file, char *const argv[]) { return drip__execvpe(file, argv, environ); }

DRIP_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) { return drip__fexecve(fd, argv, envp); }

/* execl, execlp, execle: the arguments gathered into an array on the stack, as glibc does. */
#define GATHER_ARGS(arg0, ap, argv, extra)                                                          \
    size_t argc_ = 1;                                                                               \
    va_start(ap, arg0);                                                                             \
    while (va_arg(ap, const char *))                                                                \
        argc_++;                                                                                    \
    va_end(ap);                                                                                     \
    char *argv[argc_ + 1];                                                                          \
    argv[0] = (char *)arg0;                                                                         \
    va_start(ap, arg0);                                                                             \
    for (size_t i_ = 1; i_ <= argc_; i_++)                                                          \
        argv[i_] = va_arg(ap, char *);                                                              \
    extra;                                                                                          \
    va_end(ap)

DRIP_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    GATHER_ARGS(arg, ap, argv, (void)0);
    return drip__execve(path, argv, environ);
}

DRIP_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    GATHER_ARGS(arg, ap, argv, (void)0);
    return drip__execvpe(file, argv, environ);
}

DRIP_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    char **envp;
    GATHER_ARGS(arg, ap, argv, envp = va_arg(ap, char **));
    return drip__execve(path, argv, envp);
}

/* posix_spawn: libc execs in the child by itself: drip counts the untraced child, or (with
 * follow_exec) passes the environment that keeps drip in the spawned program (exec.c). */
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]);

static int spawn(spawn_fn real, pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    size_t len = 0;
    char **env = drip__exec_spawn_env(envp, &len);
    int rc = real(pid, file, fa, attr, argv, env ? env : envp);
    drip__exec_env_free(env, len);
    if (rc == 0 && !env)
        drip__spawned(file, envp);
    return rc;
}

DRIP_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                            const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    static spawn_fn real;
    if (!real)
        real = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
    return spawn(real, pid, path, fa, attr, argv, envp);
}

DRIP_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                             const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    static spawn_fn real;
    if (!real)
        real = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
    return spawn(real, pid, file, fa, attr, argv, envp);
}

/* system and popen spawn /bin/sh through libc's internal posix_spawn, which no interposer sees,
 * with environ: with follow_exec, environ is drip's for the length of the call (another thread
 * reading environ meanwhile may see drip's variables); without, the shell is counted untraced. */
DRIP_EXPORT int system(const char *command)
{
    static int (*real)(const char *);
    if (!real)
        real = (int (*)(const char *))dlsym(RTLD_NEXT, "system");
    size_t len = 0;
    char **env = command ? drip__exec_spawn_env(environ, &len) : NULL, **had = environ;
    if (env)
        environ = env;
    int rc = real(command);
    if (env) {
        environ = had;
        drip__exec_env_free(env, len);
    } else if (command) {
        drip__spawned("/bin/sh", environ);
    }
    return rc;
}

DRIP_EXPORT FILE *popen(const char *command, const char *mode)
{
    static FILE *(*real)(const char *, const char *);
    if (!real)
        real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "popen");
    size_t len = 0;
    char **env = drip__exec_spawn_env(environ, &len), **had = environ;
    if (env)
        environ = env;
    FILE *f = real(command, mode);
    if (env) {
        environ = had;
        drip__exec_env_free(env, len);
    } else if (f) {
        drip__spawned("/bin/sh", environ);
    }
    return f;
}

/* ---- mappings: who mapped the anonymous memory that holds a root (mmaps.c) ------------------ */
DRIP_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return drip__mmap(addr, len, prot, flags, fd, off, (uintptr_t)__builtin_return_address(0));
}

DRIP_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return drip__mmap(addr, len, prot, flags, fd, off, (uintptr_t)__builtin_return_address(0));
}

DRIP_EXPORT int munmap(void *addr, size_t len) { return drip__munmap(addr, len); }

/* the new address is read only with MREMAP_FIXED, as glibc reads it */
DRIP_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *new_addr = NULL;
    if (flags & 2 /* MREMAP_FIXED */) {
        va_list ap;
        va_start(ap, flags);
        new_addr = va_arg(ap, void *);
        va_end(ap);
    }
    return drip__mremap(old, old_len, new_len, flags, new_addr);
}

/* ---- rights given up: the report files are opened while they still can be (privdrop.c) ----- */
#define DRIP_PRIVDROP(name, params, args, new_root)                                                 \
    DRIP_EXPORT int name params                                                                     \
    {                                                                                               \
        static int(*real) params;                                                                   \
        if (!real)                                                                                  \
            real = (int(*) params)dlsym(RTLD_NEXT, #name);                                          \
        drip__privdrop_before(new_root);                                                            \
        return real args;                                                                           \
    }
DRIP_PRIVDROP(setuid, (uid_t u), (u), false)
DRIP_PRIVDROP(seteuid, (uid_t u), (u), false)
DRIP_PRIVDROP(setreuid, (uid_t r, uid_t e), (r, e), false)
DRIP_PRIVDROP(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s), false)
DRIP_PRIVDROP(setgid, (gid_t g), (g), false)
DRIP_PRIVDROP(setegid, (gid_t g), (g), false)
DRIP_PRIVDROP(setregid, (gid_t r, gid_t e), (r, e), false)
DRIP_PRIVDROP(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s), false)
DRIP_PRIVDROP(chroot, (const char *path), (path), true)

/* A lower RLIMIT_AS (a shell's `ulimit -v`, a program's own limit): drip's reserved range counts
 * against it. When the new limit is below the address space the process already has, which drip's
 * range alone can make it, the program could map nothing more: the range is cut to fit (arena.c).
 * A limit above it (a program that sets "what I have plus N", as LeakSanitizer's tests and oom
 * harnesses do) leaves the program the room it asked for, and the range as it is: cutting it
 * would give the program more room than it set. */
static int as_limit_set(int rc, int resource, const struct rlimit *r)
{
    if (rc != 0 || resource != RLIMIT_AS || !r || r->rlim_cur == RLIM_INFINITY || drip__guard)
        return rc;
    struct drip__entry e = drip__enter();
    uint64_t vsz, rss;
    drip__statm(&vsz, &rss);
    if ((uint64_t)r->rlim_cur < vsz)
        drip__arena_fit((uint64_t)r->rlim_cur);
    drip__leave(e);
    return rc;
}

#define DRIP_SETRLIMIT(name, rl)                                                                    \
    DRIP_EXPORT int name(__rlimit_resource_t resource, const struct rl *r)                        \
    {                                                                                               \
        static int (*real)(__rlimit_resource_t, const struct rl *);                                 \
        if (!real)                                                                                  \
            real = (int (*)(__rlimit_resource_t, const struct rl *))dlsym(RTLD_NEXT, #name);       \
        return as_limit_set(real(resource, r), (int)resource, (const struct rlimit *)r);           \
    }
#define DRIP_PRLIMIT(name, rl)                                                                      \
    DRIP_EXPORT int name(pid_t pid, __rlimit_resource_t resource, const struct rl *r, struct rl *old) \
    {                                                                                               \
        static int (*real)(pid_t, __rlimit_resource_t, const struct rl *, struct rl *);             \
        if (!real)                                                                                  \
            real = (int (*)(pid_t, __rlimit_resource_t, const struct rl *, struct rl *))dlsym(RTLD_NEXT, #name); \
        int rc = real(pid, resource, r, old);                                                       \
        return pid == 0 || pid == getpid() ? as_limit_set(rc, (int)resource, (const struct rlimit *)r) : rc; \
    }
_Static_assert(sizeof(struct rlimit) == sizeof(struct rlimit64), "rlimit64");   /* (x86-64: one struct) */
DRIP_SETRLIMIT(setrlimit, rlimit)
DRIP_SETRLIMIT(setrlimit64, rlimit64)
DRIP_PRLIMIT(prlimit, rlimit)
DRIP_PRLIMIT(prlimit64, rlimit64)

/* libseccomp sets PR_SET_NO_NEW_PRIVS before it loads a filter (man-db's sandbox forbids
 * creating files after it) */
DRIP_EXPORT int prctl(int option, ...)
{
    static int (*real)(int, ...);
    if (!real)
        real = (int (*)(int, ...))dlsym(RTLD_NEXT, "prctl");
    va_list ap;
    va_start(ap, option);
    unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
    unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
    va_end(ap);
    if (option == PR_SET_NO_NEW_PRIVS || option == PR_SET_SECCOMP)
        drip__privdrop_before(false);
    return real(option, a2, a3, a4, a5);
}

/* ---- a new mount namespace, or a mount: /proc may be replaced (thread_end.c) -------------------
 * `unshare --pid --fork --mount-proc` unshares the mount and pid namespaces, and its child mounts
 * the new pid namespace's /proc, in the namespace the parent shares: the parent is no entry of
 * it, and its scan could read neither its maps nor its tasks (an empty report "out of memory
 * while scanning", a line on the program's stderr). nsenter's setns does the same. So /proc is
 * kept open first, if it is this process's. */
DRIP_EXPORT int unshare(int flags)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "unshare");
    if (flags & CLONE_NEWNS)
        drip__proc_keep(false);
    return real(flags);
}

DRIP_EXPORT int setns(int fd, int nstype)
{
    static int (*real)(int, int);
    if (!real)
        real = (int (*)(int, int))dlsym(RTLD_NEXT, "setns");
    if (nstype == 0 || (nstype & CLONE_NEWNS))
        drip__proc_keep(false);
    return real(fd, nstype);
}

DRIP_EXPORT int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)
{
    static int (*real)(const char *, const char *, const char *, unsigned long, const void *);
    if (!real)
        real = (int (*)(const char *, const char *, const char *, unsigned long, const void *))dlsym(RTLD_NEXT, "mount");
    if (!(flags & (MS_REMOUNT | MS_PRIVATE | MS_SLAVE | MS_SHARED | MS_UNBINDABLE)))
        drip__proc_keep(false);   /* a mount over /proc, or over a directory above it */
    return real(source, target, fstype, flags, data);
}
