/* forks.c — the child leaks 200 bytes (leak_in_child) and exits 0; the parent waits, then leaks
 * 100 bytes (leak_in_parent). Each process's report counts only its own. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;

__attribute__((noinline)) void leak_in_child(void) { sink = malloc(200); sink = NULL; }
__attribute__((noinline)) void leak_in_parent(void) { sink = malloc(100); sink = NULL; }

/* Clears the stack below the caller so no stale copy of a lost pointer survives there. */
__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

int main(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        leak_in_child();
        scrub();
        exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    leak_in_parent();
    scrub();
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
