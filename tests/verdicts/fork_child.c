/* fork_child.c — a parent leaks 10 bytes before fork; its child leaks 20 of its own and ends with
 * _exit(5). valgrind's report for the child counts both (30 bytes in 2 blocks definitely lost);
 * drip's child lists only its own 20 and says the 10 it inherited are the parent's (its JSON:
 * "inherited"), which the parent's report lists. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;

int main(void)
{
    sink = malloc(10);
    sink = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        sink = malloc(20);
        sink = NULL;
        _exit(5);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WEXITSTATUS(st) == 5 ? 0 : 1;
}
