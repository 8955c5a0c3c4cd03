/* blocked.c — a worker that blocks every signal (as xz -T2's workers do) and keeps the only
 * pointer to a block on its stack, then sleeps; main exits while it sleeps. A stop that needs a
 * signal cannot pause the worker and waits scan_threads_timeout_ms for it. Prints "done".
 * `blocked seccomp` first installs a seccomp filter that makes ptrace fail with EPERM, as a
 * sandboxed program's would. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int started;

static void *worker(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    char *volatile mine = malloc(64);   /* reachable from this stack only */
    strcpy(mine, "worker");
    started = 1;
    for (;;)
        pause();
    return NULL;
}

/* the only pointer to 100 bytes, overwritten: a definite leak */
static void *volatile sink;
__attribute__((noinline)) static void lose(void)
{
    sink = malloc(100);
    sink = NULL;
}

static int forbid_ptrace(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "seccomp") && forbid_ptrace() != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!started)
        usleep(1000);
    lose();
    printf("done\n");
    return 0;
}
