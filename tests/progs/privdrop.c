/* privdrop: a server's worker that gives up root before it exits, as nginx's www-data workers
 * (setgid + setuid) and sshd's privilege separation (chroot, then setuid) do. The parent forks
 * one worker per argument: "setuid" drops to nobody (65534), "chroot:DIR" chroots into DIR first.
 * Each worker leaks 77 bytes after the drop, prints a line and exits 0; the parent prints each
 * worker's status. Run as root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *leaked;

static int worker(const char *how)
{
    if (!strncmp(how, "chroot:", 7) && (chroot(how + 7) != 0 || chdir("/") != 0)) {
        perror("chroot");
        return 9;
    }
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        perror("setuid");
        return 9;
    }
    leaked = malloc(77);
    memset(leaked, 1, 77);
    leaked = NULL;
    printf("worker %s uid %d\n", how, (int)getuid());
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        pid_t p = fork();
        if (p == 0)
            exit(worker(argv[i]));
        int st = 0;
        waitpid(p, &st, 0);
        printf("parent: worker %d status %d\n", i, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    return 0;
}
