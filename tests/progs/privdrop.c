/* privdrop: a server's worker that gives up root before it exits, as nginx's www-data workers
 * (setgid + setuid) and sshd's privilege separation (chroot, then setuid) do. The parent forks
 * one worker per argument: "setuid" drops to nobody (65534), "chroot:DIR" chroots into DIR first,
 * "seccomp" installs a filter that fails with ENOSYS every open for writing and memfd_create, as
 * man-db's sandbox does (PR_SET_NO_NEW_PRIVS first, as libseccomp does), and stays root;
 * "exec" drops to nobody and runs /bin/true, as sudo -u nobody's child does.
 * Each worker leaks 77 bytes after the drop, prints a line and exits 0; the parent prints each
 * worker's status. Run as root. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *leaked;

static int sandbox(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 5, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_WRONLY | O_RDWR | O_CREAT, 2, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 38 /* ENOSYS */),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        perror("seccomp");
        return 9;
    }
    return 0;
}

static int worker(const char *how)
{
    if (!strcmp(how, "seccomp") && sandbox() != 0)
        return 9;
    if (!strncmp(how, "chroot:", 7) && (chroot(how + 7) != 0 || chdir("/") != 0)) {
        perror("chroot");
        return 9;
    }
    if (strcmp(how, "seccomp") && (setgid(65534) != 0 || setuid(65534) != 0)) {
        perror("setuid");
        return 9;
    }
    if (!strcmp(how, "exec")) {
        execl("/bin/true", "true", (char *)NULL);
        perror("exec");
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
