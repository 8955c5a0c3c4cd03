/* kids.c — `kids N [pause|hold]`: N children forked one after another; child i loses one block of
 * 100 + i bytes (lose_in_child), writes "child i" on a pipe to the parent and exits with status
 * i % 7 + 1. The parent reads the pipe to its end of file, then waits for the child, and prints
 * what it read and the child's exit status. With "pause", the parent reads a line from stdin
 * after child N/2 (the test kills drip run's symbolizer then); with "hold", before the first
 * child (the test stops the symbolizer), and it ends by SIGKILL once every child is reaped.
 * The parent loses nothing and prints "parent done". Used by test_kids.py (issue #12.10). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;

__attribute__((noinline)) void lose_in_child(int i)
{
    sink = malloc(100 + (size_t)i);
    memset(sink, 1, 100 + (size_t)i);
    sink = NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1, pause = argc > 2 && !strcmp(argv[2], "pause");
    int hold = argc > 2 && !strcmp(argv[2], "hold");
    setvbuf(stdout, NULL, _IOLBF, 0);   /* each line when it happens: the tests read the order */
    for (int i = 0; i < n; i++) {
        if ((pause && i == n / 2) || (hold && i == 0)) {
            char line[16];
            if (!fgets(line, sizeof line, stdin))
                return 3;
        }
        int p[2];
        if (pipe(p) != 0)
            return 2;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 2;
        if (pid == 0) {
            close(p[0]);
            lose_in_child(i);
            dprintf(p[1], "child %d", i);
            exit(i % 7 + 1);
        }
        close(p[1]);
        char buf[64];
        size_t got = 0;
        ssize_t r;
        while ((r = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)r;
        buf[got] = 0;
        close(p[0]);
        int st = 0;
        if (waitpid(pid, &st, 0) != pid)
            return 2;
        printf("%s: status %d\n", buf, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    printf("parent done\n");
    if (hold)
        kill(getpid(), SIGKILL);
    return 0;
}
