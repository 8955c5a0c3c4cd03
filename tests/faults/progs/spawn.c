/* spawn.c — starts a child the way argv[1] says, waits for it and prints its status; the parent
 * leaks 100 bytes (leak_in_parent) after the child is done:
 *   fork-exec | posix_spawn | vfork-exec | vfork-fail (exec of a missing file, then _exit(127))
 *   | system
 * The child is this program again with "child": it leaks 50 bytes (leak_in_child), prints
 * "child ran" and exits 3. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
void *volatile sink;

__attribute__((noinline)) void leak_in_parent(void) { sink = malloc(100); sink = NULL; }
__attribute__((noinline)) void leak_in_child(void) { sink = malloc(50); sink = NULL; }

__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

static void status(const char *how, int st)
{
    if (WIFEXITED(st))
        printf("%s: exit %d\n", how, WEXITSTATUS(st));
    else
        printf("%s: signal %d\n", how, WTERMSIG(st));
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "fork-exec";
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    char *child_argv[] = {self, "child", NULL};
    int st = -1;
    pid_t pid;
    if (!strcmp(how, "child")) {
        leak_in_child();
        scrub();
        printf("child ran\n");
        return 3;
    }
    fflush(stdout);
    if (!strcmp(how, "fork-exec")) {
        pid = fork();
        if (pid == 0) {
            execv(self, child_argv);
            _exit(127);
        }
        waitpid(pid, &st, 0);
    } else if (!strcmp(how, "posix_spawn")) {
        if (posix_spawn(&pid, self, NULL, NULL, child_argv, environ) != 0)
            return 99;
        waitpid(pid, &st, 0);
    } else if (!strcmp(how, "vfork-exec")) {
        pid = vfork();
        if (pid == 0) {
            execv(self, child_argv);
            _exit(127);
        }
        waitpid(pid, &st, 0);
    } else if (!strcmp(how, "vfork-fail")) {
        pid = vfork();
        if (pid == 0) {
            char *bad[] = {"/nonexistent/drip-no-such-program", NULL};
            execv(bad[0], bad);
            _exit(127);
        }
        waitpid(pid, &st, 0);
    } else if (!strcmp(how, "system")) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "'%s' child", self);
        st = system(cmd);
    } else {
        return 98;
    }
    status(how, st);
    leak_in_parent();
    scrub();
    return 0;
}
