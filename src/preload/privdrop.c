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
 * empty, not renamed: the rename is what the process may no longer do). Until then each kept
 * file says that there is no report, and why (a process that then execs an untraced program can
 * no longer remove it).
 * A seccomp sandbox (man-db's, set up with libseccomp after PR_SET_NO_NEW_PRIVS) forbids opening a
 * file for writing and making a memory file: the same files, and the memory file the raw report
 * is written to, are made before it (prctl is interposed for that).
 * Locks: none. The first set*id/chroot call of a process opens the files (once per pid); the
 * exit report takes them; both run in the program's threads with drip's guard raised.
 */
#include "internal.h"
#include "helper.h"
#include "privdrop.h"
#include "threads.h"
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
    off_t placeholder;   /* bytes of the "no report" text written in it meanwhile */
};

/* What a kept file says until the report replaces it: the process may yet exec a program drip
 * does not follow, after which it can neither write its report nor remove the file (its rights
 * are gone: sudo -u nobody's child, man's sandboxed children). The JSON has the shape drip run
 * gives a process that left no report (complete false, summary null). */
static const char WHY[] = "gave up its rights (setuid, chroot or a seccomp filter) and wrote no report: it ran a "
                          "program drip does not follow, or was killed";

static off_t write_placeholder(int fd, int kind)
{
    char buf[512];
    int n = kind == 0 ? snprintf(buf, sizeof buf, "drip: process %d %s\n", (int)getpid(), WHY)
          : kind == 1 ? snprintf(buf, sizeof buf,
                                 "{\"pid\": %d, \"complete\": false, \"no_report\": \"drip: process %d %s\", "
                                 "\"summary\": null, \"leaks\": [], \"threads\": [], \"suspects\": []}\n",
                                 (int)getpid(), (int)getpid(), WHY)
                      : 0;
    if (n <= 0 || ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        return 0;
    return n;
}

static struct pre pre[MAX_PRE];
static int npre;
static int pre_memfd = -1;
static pid_t pre_pid;   /* the process the files were opened for (a fork child opens its own) */

/* kind: 0 the text log, 1 the JSON, 2 a file with no placeholder (profile, raw report) */
static void open_one(const char *pattern, int kind)
{
    if (!pattern[0] || npre >= MAX_PRE)
        return;
    struct pre *p = &pre[npre];
    /* a path that is not a regular file (/dev/stderr, a fifo) is opened in place at exit */
    if (drip__report_path(pattern, p->path, sizeof p->path))
        return;
    /* the root process keeps its text log open since start-up (helper.c) */
    if (kind == 0 && !drip__is_fork_child && !strstr(pattern, "%p")) {
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
    p->placeholder = write_placeholder(high, kind);
    npre++;
}

void drip__privdrop_before(bool new_root)
{
    /* reported already set: no report will come (a child under child_silent_after_fork) */
    if (!atomic_load(&drip__g.initialised) || !drip__opt.report || atomic_load(&drip__g.reported))
        return;
    if (new_root) {   /* whether or not an earlier setgid made the files: a chroot comes later */
        struct drip__entry e = drip__enter();
        drip__proc_keep(true);
        drip__leave(e);
    }
    if (pre_pid == getpid())
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
    open_one(drip__opt.log_path, 0);
    open_one(drip__opt.json, 1);
    open_one(drip__opt.profile, 2);
    open_one(drip__opt.raw_out, 2);
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
        /* the report went through the rename, or the process execs: the file opened here goes
         * if it still holds only the placeholder and the process may still remove it (else the
         * placeholder stays, and says why there is no report) */
        struct stat a, b;
        if (pre[i].created && fstat(pre[i].fd, &a) == 0 && a.st_size == pre[i].placeholder && stat(pre[i].path, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            unlink(pre[i].path);
        close(pre[i].fd);
        pre[i].fd = -1;
    }
    npre = 0;
}
