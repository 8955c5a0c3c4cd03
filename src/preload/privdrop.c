/* privdrop.c — the report files of a process that gives up its rights before it exits.
 *
 * A server started as root forks workers that drop to another user (nginx's www-data workers:
 * setgid, initgroups, setuid) or chroot into an empty directory (sshd's privilege separation).
 * At exit such a worker can no longer create FILE.<pid> in a directory only root may write, nor
 * find the path at all inside its chroot, and its report would be lost. valgrind opens a
 * process's log file while it still can; drip does the same: just before the first setuid,
 * setgid, chroot ... of a process (interpose.c), the files its report will go to (the text of a
 * forked child with log_path, json, profile, raw_out) are created and kept open. At exit
 * report.c writes through the usual temporary file and rename where it still can, and falls
 * back to the file opened here, written in place with the program's signals blocked (whole or
 * empty, not renamed: the rename is what the process may no longer do).
 * A seccomp sandbox (man-db's, set up with libseccomp after PR_SET_NO_NEW_PRIVS) forbids opening a
 * file for writing and making a memory file: the same files, and the memory file the raw report
 * is written to, are made before it (prctl is interposed for that).
 * Locks: none. The first set*id/chroot call of a process opens the files (once per pid); the
 * exit report takes them; both run in the program's threads with drip's guard raised.
 */
#include "internal.h"
#include "helper.h"
#include "privdrop.h"
#include "report.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_PRE = 4, FD_MIN = 1000 };

struct pre {
    char path[PATH_MAX + 64];
    int fd;
    int created;   /* the file did not exist before: removed if the report never comes */
};

static struct pre pre[MAX_PRE];
static int npre;
static int pre_memfd = -1;
static pid_t pre_pid;   /* the process the files were opened for (a fork child opens its own) */

static void open_one(const char *pattern, int text)
{
    if (!pattern[0] || npre >= MAX_PRE)
        return;
    struct pre *p = &pre[npre];
    /* a path that is not a regular file (/dev/stderr, a fifo) is opened in place at exit */
    if (drip__report_path(pattern, p->path, sizeof p->path))
        return;
    /* the root process keeps its text log open since start-up (helper.c) */
    if (text && !drip__is_fork_child && !strstr(pattern, "%p")) {
        int is_log;
        if (drip__report_fd(&is_log) >= 0 && is_log)
            return;
    }
    struct stat st;
    p->created = lstat(p->path, &st) != 0;
    int fd = open(p->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_MIN);
    if (high < 0)
        high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    if (high < 0)
        return;
    p->fd = high;
    npre++;
}

void drip__privdrop_before(void)
{
    if (!atomic_load(&drip__g.initialised) || !drip__opt.report || pre_pid == getpid())
        return;
    struct drip__entry e = drip__enter();
    /* a fork child inherited its parent's descriptors (close-on-exec, but not on fork): not its */
    npre = 0;
    pre_memfd = -1;
    pre_pid = getpid();
    int m = memfd_create("drip-raw", MFD_CLOEXEC);
    if (m >= 0) {
        pre_memfd = fcntl(m, F_DUPFD_CLOEXEC, FD_MIN);
        if (pre_memfd < 0)
            pre_memfd = fcntl(m, F_DUPFD_CLOEXEC, 3);
        close(m);
    }
    open_one(drip__opt.log_path, 1);
    open_one(drip__opt.json, 0);
    open_one(drip__opt.profile, 0);
    open_one(drip__opt.raw_out, 0);
    drip__leave(e);
}

int drip__privdrop_take(const char *path)
{
    if (pre_pid != getpid())
        return -1;
    for (int i = 0; i < npre; i++) {
        if (pre[i].fd < 0 || strcmp(pre[i].path, path))
            continue;
        int fd = pre[i].fd;
        pre[i].fd = -1;
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
            /* not a regular file after all: written as it is */
        }
        return fd;
    }
    return -1;
}

int drip__privdrop_memfd(void)
{
    if (pre_pid != getpid() || pre_memfd < 0)
        return -1;
    int fd = pre_memfd;
    pre_memfd = -1;
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        /* a memfd: both always work */
    }
    return fd;
}

void drip__privdrop_done(void)
{
    if (pre_pid != getpid())
        return;
    for (int i = 0; i < npre; i++) {
        if (pre[i].fd < 0)
            continue;
        /* the report went through the rename (or not at all): the file opened here is not it */
        struct stat a, b;
        if (pre[i].created && fstat(pre[i].fd, &a) == 0 && a.st_size == 0 && stat(pre[i].path, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            unlink(pre[i].path);
        close(pre[i].fd);
        pre[i].fd = -1;
    }
    npre = 0;
}
