/* oom.c — in a forked child, RLIMIT_AS is set to the current address space plus 256 MiB, then:
 *   big:     malloc(1 GiB), calloc(1<<20, 1024), realloc(small, 1 GiB), posix_memalign(1 GiB),
 *            aligned_alloc(64, 1 GiB), operator-free C: each must fail, errno ENOMEM (posix_memalign
 *            returns ENOMEM), and realloc's old block must survive intact;
 *   exhaust: malloc(64 KiB) until NULL (errno ENOMEM), touch every block, free them all, then
 *            malloc(100) must work again.
 * The child prints one line per check; the parent prints the child's status. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmSize:", 7))
            kb = strtoul(line + 7, NULL, 10);
    if (f)
        fclose(f);
    return kb * 1024;
}

static void report(const char *what, void *p, int err)
{
    printf("%s: %s, errno %s\n", what, p ? "non-NULL" : "NULL", err == ENOMEM ? "ENOMEM" : strerror(err));
}

static int big(void)
{
    const size_t G = (size_t)1 << 30;
    errno = 0;
    void *p = malloc(G);
    report("malloc(1 GiB)", p, errno);
    errno = 0;
    p = calloc((size_t)1 << 20, 1024);
    report("calloc(1 Mi, 1 KiB)", p, errno);
    char *small = malloc(32);
    strcpy(small, "still here");
    errno = 0;
    p = realloc(small, G);
    report("realloc(32 B -> 1 GiB)", p, errno);
    if (!p) {
        printf("old block after failed realloc: %s\n", small);
        free(small);
    } else {
        free(p);
    }
    void *q = NULL;
    int rc = posix_memalign(&q, 64, G);
    printf("posix_memalign(1 GiB): %s\n", rc == ENOMEM ? "ENOMEM" : strerror(rc));
    errno = 0;
    p = aligned_alloc(64, G);
    report("aligned_alloc(1 GiB)", p, errno);
    errno = 0;
    volatile size_t huge = SIZE_MAX - 4096;
    p = malloc(huge);
    report("malloc(SIZE_MAX - 4096)", p, errno);
    p = malloc(100);
    printf("malloc(100) afterwards: %s\n", p ? "ok" : "NULL");
    free(p);
    return 0;
}

static int exhaust(void)
{
    size_t cap = 1 << 16, n = 0;
    void **v = malloc(cap * sizeof *v);
    int err = 0;
    for (;;) {
        errno = 0;
        void *p = malloc(64 << 10);
        if (!p) {
            err = errno;
            break;
        }
        memset(p, 1, 64 << 10);
        if (n == cap)
            break;
        v[n++] = p;
    }
    printf("exhausted: %s, errno %s\n", n > 100 ? "after many blocks" : "too early",
           err == ENOMEM ? "ENOMEM" : strerror(err));
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    void *p = malloc(100);
    printf("malloc(100) afterwards: %s\n", p ? "ok" : "NULL");
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "big";
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = vm_size() + ((size_t)256 << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(90);
        int rc = !strcmp(how, "exhaust") ? exhaust() : big();
        fflush(stdout);
        exit(rc);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st))
        printf("child: exit %d\n", WEXITSTATUS(st));
    else
        printf("child: signal %d\n", WTERMSIG(st));
    return 0;
}
