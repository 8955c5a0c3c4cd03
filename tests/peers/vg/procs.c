/* procs.c MODE — processes (memcheck's fork, vfork, clone scenarios), written for drip. Before
 * the split every mode loses a 11-byte block and keeps a 22-byte one.
 *   fork    the child loses 33 bytes and exits 3; the parent waits, loses 44 bytes, prints the
 *           child's status
 *   vfork   the child execs /bin/echo (drip follows it: the exec'd program's report is its own);
 *           the parent waits, prints the status
 *   clone   a raw clone(CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD) child on a malloc'ed stack
 *           that stores a 55-byte block in a global and returns 0; the parent waits for it */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *kept, *from_clone;

static void lose(size_t n)
{
    char *volatile p = malloc(n);
    p[0] = 0;
}

static int cloned(void *arg)
{
    (void)arg;
    from_clone = malloc(55);
    return 0;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    int status = 0;
    lose(11);
    kept = malloc(22);
    fflush(stdout);
    if (!strcmp(m, "fork")) {
        pid_t pid = fork();
        if (pid == 0) {
            lose(33);
            exit(3);
        }
        waitpid(pid, &status, 0);
        lose(44);
    } else if (!strcmp(m, "vfork")) {
        pid_t pid = vfork();
        if (pid == 0) {
            char *args[] = {"/bin/echo", "from", "the", "child", NULL};
            execv(args[0], args);
            _exit(127);
        }
        waitpid(pid, &status, 0);
    } else if (!strcmp(m, "clone")) {
        size_t sz = 256 * 1024;
        char *stack = malloc(sz);
        pid_t pid = clone(cloned, stack + sz, CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD, NULL);
        if (pid < 0) {
            perror("clone");
            return 1;
        }
        waitpid(pid, &status, 0);
        free(stack);
        printf("clone stored a block: %d\n", from_clone != NULL);
    } else {
        fprintf(stderr, "usage: procs fork|vfork|clone\n");
        return 2;
    }
    printf("%s: child status %d exited %d\n", m, status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
