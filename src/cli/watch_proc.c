/* watch_proc.c — one sample of a process tree from /proc.
 *
 * Per process: Rss, Pss and Swap from smaps_rollup (the kernel's sum over all mappings; Pss
 * shares each page among the processes mapping it, so Pss sums fairly over a tree while Rss
 * counts shared pages once per process), Threads, VmHWM and State from status, and the entries
 * of fd/. Descendants come from /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN); where that
 * file is missing, from a scan of every /proc/PID/stat for its parent pid.
 */
#include "watch.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_PROCS = 4096 };

/* Reads a small /proc file into buf (NUL-terminated); returns its length or -errno. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (r == 0 || (len += (size_t)r) == cap - 1)
            break;
    }
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

/* The number after "key:" in a /proc text file, in the file's unit (kB for sizes); -1 if absent. */
static long long field(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (!strncmp(l, key, kl) && l[kl] == ':')
            return strtoll(l + kl + 1, NULL, 10);
    return -1;
}

static int add_pid(pid_t *list, int *n, pid_t p)
{
    for (int i = 0; i < *n; i++)
        if (list[i] == p)
            return 0;
    if (*n >= MAX_PROCS)
        return 0;
    list[(*n)++] = p;
    return 1;
}

/* Appends the children of pid from task/ * /children; -1 when the kernel lacks those files. */
static int children_files(pid_t pid, pid_t *list, int *n)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0; /* gone meanwhile */
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char cpath[300];
        snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, e->d_name);
        ssize_t k = slurp(cpath, buf, sizeof buf);
        if (k == -ENOENT && atoi(e->d_name) == (int)pid) {
            rc = -1;
            break;
        }
        for (char *p = buf; k > 0 && *p;) {
            char *end;
            long c = strtol(p, &end, 10);
            if (end == p)
                break;
            add_pid(list, n, (pid_t)c);
            p = end;
        }
    }
    closedir(d);
    return rc;
}

/* Appends every descendant of list[0..*n) by scanning the parent pid of every process. */
static void scan_parents(pid_t *list, int *n)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    pid_t pids[MAX_PROCS], ppids[MAX_PROCS];
    int np = 0;
    struct dirent *e;
    char path[300], buf[1024];
    while ((e = readdir(d)) && np < MAX_PROCS) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (slurp(path, buf, sizeof buf) <= 0)
            continue;
        char *rp = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
        int ppid;
        if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
            continue;
        pids[np] = (pid_t)atoi(e->d_name);
        ppids[np++] = (pid_t)ppid;
    }
    closedir(d);
    for (int i = 0; i < *n; i++)
        for (int j = 0; j < np; j++)
            if (ppids[j] == list[i])
                add_pid(list, n, pids[j]);
}

/* Adds one process's figures to *s. -ESRCH when it is gone or a zombie. */
static int one(pid_t pid, struct drip__wsample *s, char *comm, size_t commlen, int root, char *epath,
               size_t epathlen)
{
    char path[64], st[4096], sm[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    ssize_t k = slurp(path, st, sizeof st);
    if (k < 0) {
        if (k == -ENOENT || k == -ESRCH)
            return -ESRCH;
        snprintf(epath, epathlen, "%s", path);
        return (int)k;
    }
    const char *state = strstr(st, "\nState:");
    if (state) {
        state += 7;
        while (*state == ' ' || *state == '\t')
            state++;
        if (*state == 'Z' || *state == 'X')
            return -ESRCH; /* a zombie has no memory left to watch */
    }
    if (comm) {
        const char *nm = strstr(st, "Name:\t");
        size_t i = 0;
        if (nm)
            for (nm += 6; *nm && *nm != '\n' && i + 1 < commlen; nm++)
                comm[i++] = *nm;
        comm[i] = 0;
    }
    long long threads = field(st, "Threads"), hwm = field(st, "VmHWM");
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    k = slurp(path, sm, sizeof sm);
    if (k >= 0) {
        long long rss = field(sm, "Rss"), pss = field(sm, "Pss"), swap = field(sm, "Swap");
        s->rss += rss > 0 ? (uint64_t)rss << 10 : 0;
        s->pss += pss > 0 ? (uint64_t)pss << 10 : 0;
        s->swap += swap > 0 ? (uint64_t)swap << 10 : 0;
    } else if (root && k != -ENOENT && k != -ESRCH) {
        snprintf(epath, epathlen, "%s", path);
        return (int)k;
    } else {
        /* a descendant we may not inspect (setuid): status still has RSS and swap */
        long long rss = field(st, "VmRSS"), swap = field(st, "VmSwap");
        s->rss += rss > 0 ? (uint64_t)rss << 10 : 0;
        s->pss += rss > 0 ? (uint64_t)rss << 10 : 0;
        s->swap += swap > 0 ? (uint64_t)swap << 10 : 0;
    }
    s->hwm += hwm > 0 ? (uint64_t)hwm << 10 : 0;
    s->threads += threads > 0 ? threads : 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d) {
        long n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        if (s->fds >= 0)
            s->fds += n;
    } else {
        s->fds = -1;
    }
    s->procs++;
    return 0;
}

int drip__proc_sample(pid_t root, struct drip__wsample *s, char *comm, size_t commlen, char *path,
                      size_t pathlen)
{
    static int no_children_files;
    double t = s->t;
    memset(s, 0, sizeof *s);
    s->t = t;
    int rc = one(root, s, comm, commlen, 1, path, pathlen);
    if (rc)
        return rc;
    pid_t *list = malloc(MAX_PROCS * sizeof *list);
    if (!list)
        return -ENOMEM;
    int n = 1;
    list[0] = root;
    if (!no_children_files) {
        for (int i = 0; i < n; i++)
            if (children_files(list[i], list, &n) < 0) {
                no_children_files = 1;
                n = 1;
                break;
            }
    }
    if (no_children_files)
        scan_parents(list, &n);
    for (int i = 1; i < n; i++)
        one(list[i], s, NULL, 0, 0, path, pathlen); /* a child gone meanwhile just does not count */
    free(list);
    return 0;
}
