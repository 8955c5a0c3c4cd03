/* interpose.c — the libc functions drip interposes besides the allocator (hooks.c) and thread
 * creation (threads.c): signal dispositions and exec. Each is a few lines that call a module:
 * signals.c for sigaction/signal, exec.c for the exec family.
 */
#include "internal.h"
#include "signals.h"

#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>

extern char **environ;

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

/* posix_spawn: libc execs in the child by itself; drip only counts the untraced child. */
DRIP_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                            const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                       char *const[], char *const[]);
    if (!real)
        real = (int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]))dlsym(RTLD_NEXT, "posix_spawn");
    int rc = real(pid, path, fa, attr, argv, envp);
    if (rc == 0)
        drip__spawned(path, envp);
    return rc;
}

DRIP_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                             const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                       char *const[], char *const[]);
    if (!real)
        real = (int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]))dlsym(RTLD_NEXT, "posix_spawnp");
    int rc = real(pid, file, fa, attr, argv, envp);
    if (rc == 0)
        drip__spawned(file, envp);
    return rc;
}
