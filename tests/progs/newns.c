/* newns: what `unshare --pid --fork --mount-proc` does. The process unshares its mount and pid
 * namespaces (its own pid namespace stays; its children start a new one), makes its mounts
 * private, and forks a child, pid 1 of the new namespace, which mounts that namespace's /proc
 * over /proc and exits. The parent, in the mount namespace it shares with the child, now sees a
 * /proc where it is no entry: /proc/self names nothing. It then opens /dev/null (the number is
 * printed: drip must not take a low one), tries to start a thread (the kernel refuses threads
 * to a process whose children go to another pid namespace: EINVAL, printed), loses 77 bytes,
 * and exits 0. Needs root (CAP_SYS_ADMIN); prints "cannot unshare" and exits 77 where
 * the namespaces cannot be made (a container without the capability). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
    for (;;)
        pause();
    return arg;
}

static void *volatile keep;

int main(void)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) {
        printf("cannot unshare: %s\n", strerror(errno));
        return 77;
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("cannot make / private: %s\n", strerror(errno));
        return 77;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
            printf("cannot mount /proc: %s\n", strerror(errno));
            _exit(77);
        }
        _exit(getpid() == 1 ? 0 : 3);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    char self[64];
    ssize_t n = readlink("/proc/self", self, sizeof self - 1);
    printf("/proc/self: %s\n", n < 0 ? strerror(errno) : "found");
    printf("open: %d\n", open("/dev/null", O_RDONLY));
    pthread_t t;
    int rc = pthread_create(&t, NULL, sleeper, NULL);
    printf("pthread_create: %s\n", rc ? strerror(rc) : "started");
    keep = malloc(77);
    keep = NULL;
    printf("done\n");
    return 0;
}
