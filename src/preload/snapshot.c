/* snapshot.c — the live check's snapshot: the forked copy of the stopped process that scans
 * (scan.c forks it), and the pipe that brings its answer back: the records (the blocks grouped
 * by kind and site) and the retention summary (retain.h), as flat arena buffers; and the threads
 * the report names, taken while the world is stopped. Split out of scan.c.
 * Locks: none (the copy has one thread; the parent only reads the pipe).
 */
#include "snapshot.h"
#include "retain.h"
#include "threads.h"
#include "arena.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct snap_head {
    int rc, unstopped;
    size_t ngroups;
    uint64_t inh_bytes, inh_blocks;
    struct { uint64_t bytes, blocks; } heur[DRIP_HEUR_COUNT];
    size_t retain_bytes;   /* the retention summary (retain.h) after the groups; 0: none */
};

/* All n bytes through fd (a pipe between the snapshot and its parent), whatever the size of
 * each read or write; false on EOF or error. */
static bool transfer_all(int fd, void *p, size_t n, bool out)
{
    for (char *c = p; n;) {
        ssize_t r = out ? write(fd, c, n) : read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        c += r;
        n -= (size_t)r;
    }
    return true;
}

static bool write_all(int fd, const void *p, size_t n) { return transfer_all(fd, (void *)p, n, true); }
static bool read_all(int fd, void *p, size_t n) { return transfer_all(fd, p, n, false); }

/* In the snapshot: the copy of the process that scans. It must never be seen: no signal reaches
 * it but SIGKILL, it dies with the thread that forked it, and it leaves with _exit (no atexit, no
 * report of its own). */
void drip__snapshot_enter(pid_t parent, int keep_fd)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent)
        _exit(0);
    /* the copy's descriptors are the program's pipes and sockets: held here, a connection the
     * program closes would stay open (no EOF, no FIN) until the scan ends */
    if ((keep_fd > 0 && syscall(SYS_close_range, 0, keep_fd - 1, 0) != 0) || syscall(SYS_close_range, keep_fd + 1, ~0u, 0) != 0) {
        struct rlimit rl;
        long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20) ? (long)rl.rlim_cur : 1 << 20;
        for (long fd = 0; fd < max; fd++)
            if (fd != keep_fd)
                close((int)fd);
    }
}

void drip__snapshot_send(int fd, int rc, const struct drip__scan *out)
{
    struct snap_head h = {rc, out->threads_unstopped, out->groups ? out->ngroups : 0, out->inh_bytes, out->inh_blocks,
                          {{0, 0}}, out->retain ? out->retain_bytes : 0};
    memcpy(h.heur, out->heur, sizeof h.heur);
    if (write_all(fd, &h, sizeof h) && (!h.ngroups || write_all(fd, out->groups, h.ngroups * sizeof *out->groups)) &&
        h.retain_bytes)
        write_all(fd, out->retain, h.retain_bytes);
    _exit(0);
}

/* In the parent: the snapshot's answer. Returns the scan's rc, or -2 when no answer came. */
int drip__snapshot_receive(int fd, pid_t pid, struct drip__scan *out)
{
    struct snap_head h;
    int rc = -2;
    if (read_all(fd, &h, sizeof h)) {
        rc = h.rc;
        out->threads_unstopped = h.unstopped;
        out->inh_bytes = h.inh_bytes;
        out->inh_blocks = h.inh_blocks;
        memcpy(out->heur, h.heur, sizeof out->heur);
        size_t bytes = (h.ngroups ? h.ngroups : 1) * sizeof *out->groups;
        out->groups = drip__arena_alloc(bytes);
        out->groups_bytes = bytes;
        if (!out->groups || (h.ngroups && !read_all(fd, out->groups, h.ngroups * sizeof *out->groups)))
            rc = -2;
        else
            out->ngroups = h.ngroups;
        if (rc != -2 && h.retain_bytes && (out->retain = drip__arena_alloc(h.retain_bytes)) != NULL) {
            out->retain_bytes = h.retain_bytes;
            if (!read_all(fd, out->retain, h.retain_bytes) || out->retain->total != h.retain_bytes) {
                drip__arena_free(out->retain, h.retain_bytes);   /* paths are left out, not the report */
                out->retain = NULL;
                out->retain_bytes = 0;
            }
        }
    }
    close(fd);
    int st;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
        ;
    return rc;
}

/* The threads the report names: every one but the main thread and the caller, running (or not
 * started yet), or finished without a join or a detach. */
void drip__snapshot_threads(struct drip__scan *out)
{
    size_t n = 0;
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        n++;
    out->threads_bytes = (n ? n : 1) * sizeof *out->threads;
    out->threads = drip__arena_alloc(out->threads_bytes);
    if (!out->threads)
        return;
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next) {
        bool running = atomic_load(&t->state) == DRIP_THREAD_RUNNING;
        if (t->is_main || t == drip__self || !(running || (!t->joined && !t->detached)))
            continue;
        out->threads[out->nthreads++] = (struct drip__scan_thread){t->os_tid, t->create_site, t->start_routine, running};
    }
}
