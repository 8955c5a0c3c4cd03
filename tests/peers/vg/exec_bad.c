/* exec_bad.c — execve and its family with arguments the kernel refuses (memcheck's execve,
 * execve2 and bad-syscall-argument scenarios), written for drip. Each call must fail as it does
 * without drip (same errno, the program goes on), even where drip adds its own variables to the
 * environment it passes on: a bad argv or envp pointer, a NULL path, a missing file, a
 * directory, a file without the exec bit, a too-long argument list. Then the program execs
 * itself with argv = NULL (Linux runs it with argc 0, or 1 and an empty argv[0]) and an empty envp, where it prints argc
 * and exits 0. Lost before the calls: a 12-byte block. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void try(const char *what, int rc)
{
    int e = errno;
    printf("%-22s rc=%d errno=%s\n", what, rc, strerrorname_np(e) ? strerrorname_np(e) : "?");
    errno = 0;
}

int main(int argc, char **argv, char **envp)
{
    if (argc == 0 || !argv[0][0]) {   /* Linux 5.18 on passes an empty argv[0] for argv = NULL */
        printf("exec'd with no arguments\n");
        return 0;
    }
    char *volatile lost = malloc(12);
    lost[0] = 0;
    lost = NULL;
    char *args[] = {"/bin/true", NULL};
    errno = 0;
    try("bad argv", execve("/bin/true", (char **)1, envp));
    try("bad argv[0]", execve("/bin/true", (char *[]){(char *)1, NULL}, envp));
    try("bad envp", execve("/bin/true", args, (char **)1));
    try("bad envp[0]", execve("/bin/true", args, (char *[]){(char *)1, NULL}));
    try("NULL path", execve(NULL, args, envp));
    try("bad path", execve((char *)1, args, envp));
    try("missing file", execve("/nonexistent/prog", args, envp));
    try("directory", execve("/", args, envp));
    try("no exec bit", execve("/etc/passwd", args, envp));
    try("execvp missing", execvp("no-such-program-here", args));
    try("execv bad argv", execv("/bin/true", (char **)1));
    try("fexecve bad fd", fexecve(-1, args, envp));
    size_t big = 300000;
    char *huge = malloc(big);
    memset(huge, 'x', big - 1);
    huge[big - 1] = 0;
    char *many[] = {"/bin/true", huge, huge, huge, huge, huge, huge, huge, huge, NULL};
    try("arg list too long", execve("/bin/true", many, envp));
    free(huge);
    fflush(stdout);
    char *none[] = {NULL};
    execve("/proc/self/exe", NULL, none);
    try("self with argv NULL", -1);
    return 1;
}
