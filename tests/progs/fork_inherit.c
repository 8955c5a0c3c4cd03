/* fork_inherit.c — a forked child's report keeps its own blocks apart from those it inherited.
 * Before the fork the parent loses 100 bytes (lost_before_fork) and keeps 50 reachable from a
 * global (kept_before_fork): 150 bytes in 2 blocks that the child inherits and the parent
 * reports. Then the child, with argv[1]:
 *   own   loses 33 bytes of its own (lost_in_child) and exits 0;
 *   none  allocates nothing and exits 0.
 * The parent prints "child status N" (the child's exit status: --error-exitcode counts only the
 * child's own leaks) and exits 0. Nothing is printed before the fork (no stdio buffer to inherit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;
void *volatile kept;

__attribute__((noinline)) void lost_before_fork(void) { sink = malloc(100); sink = NULL; }
__attribute__((noinline)) void kept_before_fork(void) { kept = malloc(50); }
__attribute__((noinline)) void lost_in_child(void) { sink = malloc(33); sink = NULL; }

/* Clears the stack below the caller so no stale copy of a lost pointer survives there. */
__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "own") && strcmp(argv[1], "none")))
        return 2;
    lost_before_fork();
    kept_before_fork();
    scrub();
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        if (!strcmp(argv[1], "own"))
            lost_in_child();
        scrub();
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return 2;
    printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}
