/* report.c — the exit report and live leak checks, as far as the traced process goes: scan,
 * group the classified blocks by (kind, allocation stack), and hand them out as a raw report
 * (src/common/raw.h) to `drip symbolize`, which names the frames and writes the text report, the
 * JSON and the profile (src/common/render.c). When no symbolizer can be started, the same
 * writers run here with module+offset names and a line saying why. A forked child's report leaves
 * out the blocks it inherited at fork (one `inherited` line instead: the parent reports them), and
 * a child with no block of its own is written here, without a scan or a symbolizer.
 *
 * A report is whole or absent: the JSON and the profile are written to a temporary file in the
 * same directory and renamed, with the program's signals blocked meanwhile (a SIGTERM that comes
 * then is delivered after). The text goes to drip's own copy of the destination (helper.c).
 * Runs once at exit (or per live check on drip's thread) with the reentrancy guard set: it may
 * use libc's allocator (untracked). Locks: the threads lock while the thread list is read.
 */
#include "arena.h"
#include "scan.h"
#include "retain.h"
#include "depot.h"
#include "exec.h"
#include "export.h"
#include "foreign.h"
#include "growth.h"
#include "helper.h"
#include "privdrop.h"
#include "profile.h"
#include "report.h"
#include "runtime.h"
#include "table.h"
#include "raw.h"
#include "render.h"
#include "writer.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

struct group {
    uint8_t kind;
    uint32_t site;
    uint64_t bytes, blocks;
    uint32_t ioff_min, ioff_max;   /* possible: where the interior pointers point, over the blocks */
};

struct report {
    struct group *g;
    size_t n, cap;
    uint64_t inh_bytes, inh_blocks;   /* a forked child: blocks inherited at fork, not grouped */
};

enum { MAX_SUSPECTS = 20 };

/* errno of the last report that could not be written whole here (the symbolizer failed first,
 * then so did drip's own writers: ENOSPC): its files are not renamed into place */
static int render_err;

/* ---- grouping ---------------------------------------------------------------------------- */
/* The scan hands out its records grouped by (kind, site) already (scan.h). */
static int group_blocks(struct report *r, const struct drip__scan *sc)
{
    r->inh_bytes = sc->inh_bytes;
    r->inh_blocks = sc->inh_blocks;
    if (!sc->ngroups)
        return 0;
    if (!(r->g = drip__arena_alloc(sc->ngroups * sizeof *r->g)))   /* libc's may be exhausted */
        return -1;
    for (size_t i = 0; i < sc->ngroups; i++) {
        const struct drip__scan_group *x = &sc->groups[i];
        r->g[i] = (struct group){x->kind, x->site, x->bytes, x->blocks, x->ioff_min, x->ioff_max};
    }
    r->n = r->cap = sc->ngroups;
    return 0;
}

/* The leak report's part of a raw report: records, their stacks, threads, suspects. */
static void raw_leaks(struct drip_writer *w, struct drip__siteset *set, int final, bool retainers)
{
    struct drip__scan sc;
    struct report r;
    memset(&r, 0, sizeof r);
    int oom = drip__scan_run_ex(&sc, final, retainers) != 0;
    if (group_blocks(&r, &sc) != 0 || drip__arena_failed())
        oom = 1;   /* (the arena refused a table: blocks went unrecorded, under ulimit -v) */
    for (size_t i = 0; i < r.n; i++) {
        drip__printf(w, "rec kind=%s site=%u bytes=%llu blocks=%llu", drip_raw_kind_names[r.g[i].kind], r.g[i].site,
                     (unsigned long long)r.g[i].bytes, (unsigned long long)r.g[i].blocks);
        if (r.g[i].kind == DRIP_POSSIBLE)
            drip__printf(w, " ioff_min=%u ioff_max=%u", r.g[i].ioff_min, r.g[i].ioff_max);
        drip__puts(w, "\n");
        drip__raw_site(w, set, r.g[i].site);
    }
    if (drip__fork_parent)
        drip__printf(w, "inherited bytes=%llu blocks=%llu parent=%d\n", (unsigned long long)r.inh_bytes,
                     (unsigned long long)r.inh_blocks, drip__fork_parent);
    for (int h = 1; h < DRIP_HEUR_COUNT; h++)   /* reachable only via a heuristic, valgrind's lines */
        drip__printf(w, "heur name=%s bytes=%llu blocks=%llu\n", drip__heur_name[h],
                     (unsigned long long)sc.heur[h].bytes, (unsigned long long)sc.heur[h].blocks);
    struct drip__suspect sus[MAX_SUSPECTS];
    int ns = drip__growth_suspects(sus, MAX_SUSPECTS);
    drip__growth_fill(sus, ns);
    /* the threads as they were while the world was stopped (tid 0: created, not started) */
    for (size_t i = 0; i < sc.nthreads; i++) {
        const struct drip__scan_thread *t = &sc.threads[i];
        drip__printf(w, "thread tid=%d state=%s start=%lx site=%u\n", t->os_tid, t->running ? "running" : "unjoined",
                     (unsigned long)t->start_routine, t->create_site);
        drip__raw_site(w, set, t->create_site);
    }
    drip__raw_suspects(w, set, sus, ns);
    drip__retain_raw(w, set, sc.retain);
    const char *first;
    unsigned untraced = drip__untraced_execs(&first);
    drip__printf(w, "info threads_unpaused=%d oom=%d paused_us=%lld untraced_execs=%u", sc.threads_unstopped, oom,
                 sc.paused_us, untraced);
    if (untraced)
        drip__raw_put_kv(w, "untraced_first", first[0] ? first : "?");
    drip__puts(w, "\n");
    drip__arena_free(r.g, r.n * sizeof *r.g);
    drip__scan_free(&sc);
}

/* `drip symbolize`'s arguments for the outputs in o (args[] NULL-terminated: at most 10 here,
 * hand_off adds 6) and the descriptors it is given (keep[], at most 4). */
struct sym_args {
    char tfd[16], jfd[16], pfd[16], ofd[16];
    char *args[20];
    int na, keep[4], nk;
};

static void sym_arg(struct sym_args *a, const char *flag, char num[16], int fd)
{
    if (fd < 0)
        return;
    snprintf(num, 16, "%d", fd);
    a->args[a->na++] = (char *)flag;
    a->args[a->na++] = num;
    a->keep[a->nk++] = fd;
}

static void sym_args(struct sym_args *a, const struct drip_render_out *o)
{
    a->na = a->nk = 0;
    a->args[a->na++] = "symbolize";
    sym_arg(a, "--text-fd", a->tfd, o->text_fd);
    sym_arg(a, "--json-fd", a->jfd, o->json_fd);
    sym_arg(a, "--profile-fd", a->pfd, o->profile_fd);
    sym_arg(a, "--out-fd", a->ofd, o->out_fd);
    a->args[a->na++] = "-";
    a->args[a->na] = NULL;
}

/* Hands the raw report in memfd to `drip symbolize` (the outputs in o), or, when it cannot run,
 * writes them here with unnamed frames. Returns 1 when leaks were found, 0 when not. */
int drip__symbolize(int memfd, const struct drip_render_out *o)
{
    struct sym_args sa;
    sym_args(&sa, o);
    char **args = sa.args;
    int *keep = sa.keep, nk = sa.nk;
    const char *why = NULL;
    int is_log, err_fd = drip__report_fd(&is_log);
    lseek(memfd, 0, SEEK_SET);
    /* live requests (one output, no text) go to the long-lived symbolizer; the exit report to a
     * symbolizer of its own, which writes the report's descriptors itself */
    int live = o->text_fd < 0 && o->profile_fd < 0 && (o->out_fd >= 0) + (o->json_fd >= 0) == 1;
    int result = memfd < 0 ? -1
                 : live    ? drip__helper_ask(memfd, o->out_fd >= 0 ? o->out_fd : o->json_fd, &why)
                           : drip__helper_run(memfd, is_log ? -1 : err_fd, keep, nk, args, &why);
    if (memfd < 0)
        why = "no memory file for the raw report";
    if (result >= 0) {
        if (!live && memfd >= 0 && drip__helper_write_err())
            render_err = drip__helper_write_err();   /* answered, text written: close_out says why */
        return result;
    }
    if (!why)
        why = "the symbolizer failed";
    /* fallback: the same writers, frames named by module and offset */
    for (int i = 0; i < nk; i++)
        if (keep[i] != o->text_fd && lseek(keep[i], 0, SEEK_SET) == 0)
            if (ftruncate(keep[i], 0) != 0) {
                /* a pipe or socket: what the helper wrote stays */
            }
    struct stat st;
    int leaked = 0;
    char *text = NULL;
    if (memfd >= 0 && fstat(memfd, &st) == 0 && st.st_size > 0)
        text = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, memfd, 0);
    if (text == MAP_FAILED)
        text = NULL;
    struct drip_raw raw;
    memset(&raw, 0, sizeof raw);   /* freed below also when it was never parsed (no text mapped) */
    char err[256], note[512];
    if (text && drip__raw_parse(&raw, text, (size_t)st.st_size, err, sizeof err) == 0) {
        snprintf(note, sizeof note, "drip: frames are not named (%s): each shows its module and offset; "
                 "keep the raw report with --raw-out FILE and name them with `drip symbolize FILE`", why);
        struct drip_render_out fo = *o;
        fo.note = note;
        struct drip_symbols sym = drip__raw_symbols(&raw);
        int rc = drip__render(&raw, &sym, &fo, &leaked);
        if (rc < 0)
            render_err = -rc;   /* a full disk: what was written is cut short (close_out) */
    }
    drip__raw_free(&raw);
    if (text)
        munmap(text, (size_t)st.st_size);
    return leaked;
}

int drip__leak_report(int text_fd, int json_fd, int final) { return drip__leak_report_ex(text_fd, json_fd, final, false, NULL); }

int drip__leak_report_ex(int text_fd, int json_fd, int final, bool retainers, const char *want)
{
    int memfd = drip__raw_memfd();
    if (memfd < 0)
        return 0;
    struct drip_writer w;
    drip__writer_fd(&w, memfd);
    struct drip__siteset set;
    drip__siteset_init(&set);
    drip__raw_header(&w, want ? want : final ? "exit" : "leaks");
    drip__raw_modules(&w, want && !strcmp(want, "retained"));   /* a profile names its mappings */
    if (drip__opt.sample)
        drip__printf(&w, "info sampling=%llu\n", (unsigned long long)drip__opt.sample);
    else
        raw_leaks(&w, &set, final, retainers);
    drip__puts(&w, "end\n");
    drip__siteset_free(&set);
    int leaked = 0;
    if (drip__flush(&w) == 0) {
        struct drip_render_out o = {text_fd, want ? -1 : json_fd, -1, want ? json_fd : -1, NULL};
        leaked = drip__symbolize(memfd, &o);
    }
    close(memfd);
    if (drip__opt.sample && final)
        atomic_store(&drip__g.tracking, 0);
    return leaked;
}

/* The growth suspects as JSON, with named stacks, and a newline, on fd. */
void drip__suspects_json(int fd)
{
    int memfd = drip__raw_memfd();
    if (memfd < 0)
        return;
    struct drip_writer w;
    drip__writer_fd(&w, memfd);
    struct drip__siteset set;
    drip__siteset_init(&set);
    drip__raw_header(&w, "suspects");
    drip__raw_modules(&w, 0);
    struct drip__suspect sus[MAX_SUSPECTS];
    int ns = drip__growth_suspects(sus, MAX_SUSPECTS);
    drip__growth_fill(sus, ns);
    drip__raw_suspects(&w, &set, sus, ns);
    drip__puts(&w, "end\n");
    drip__siteset_free(&set);
    if (drip__flush(&w) == 0) {
        struct drip_render_out o = {-1, -1, -1, fd, NULL};
        drip__symbolize(memfd, &o);
    }
    close(memfd);
    ssize_t ignored = write(fd, "\n", 1);
    (void)ignored;
}

/* ---- the exit report ------------------------------------------------------------------------- */
/* The first report file this process could not write, as a line for drip run (which says it
 * where the program's stderr may be closed: sort after setpriv dropped root). */
static char lost_line[PATH_MAX + 200];

static void lost(int err_fd, const char *path, int err)
{
    /* "said:": the line reached stderr here (not /dev/null), so drip run does not print it again (run.c) */
    struct stat st;
    /* path NULL: the raw report itself could not be written (`ulimit -f`), so no output can be */
    const char *what = path ? "report " : "the leak report", *name = path ? path : "";
    int said = dprintf(err_fd, "drip: cannot write %s%s: %s\n", what, name, strerror(err)) > 0 && fstat(err_fd, &st) == 0 &&
               !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    if (!lost_line[0])
        snprintf(lost_line, sizeof lost_line, "%sdrip: process %d could not write %s%s: %s\n", said ? "said:" : "",
                 (int)getpid(), path ? "its report " : "its leak report", name, strerror(err));
}

const char *drip__report_lost(void) { return lost_line[0] ? lost_line : NULL; }

/* A report file: its descriptor, and its paths in out_paths (BSS: a report that writes no file
 * touches none of it; the report's stack holds 24 bytes a file, not 8 KiB, each page of which
 * is a page fault in every `$(echo)` subshell). tmp NULL: written in place. */
enum { OUT_LOG, OUT_JSON, OUT_PROF, OUT_RAW, OUT_PATH = PATH_MAX + 96 };
struct out_file {
    int fd;
    char *tmp, *path;
};
static char out_paths[4][2][OUT_PATH];   /* the exit report runs once: one set for the process */

/* The path a report goes to: resolved where the program started; FILE.<pid> for a forked child
 * unless the pattern has %p or the path is not a regular file. 1 when the path exists and is not
 * a regular file (/dev/null, /dev/stderr, a fifo, a symlink): such a path is written in place,
 * never replaced by a rename and never suffixed (valgrind writes every process's report there). */
int drip__report_path(const char *pattern, char *path, size_t cap)
{
    drip__resolve_path(pattern, path, cap);
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return 1;
    if (!strstr(pattern, "%p") && !drip__is_root_process())
        snprintf(path + strlen(path), cap - strlen(path), ".%d", (int)getpid());
    return 0;
}

/* Opens a temporary file beside the report's path, or the path itself when it is not a regular
 * file (see report_path). fd -1 when it cannot be written (said on err). */
static void open_out(struct out_file *f, int slot, const char *pattern, int err_fd)
{
    f->path = out_paths[slot][0];
    f->tmp = NULL;
    if (drip__report_path(pattern, f->path, OUT_PATH)) {
        f->fd = drip__fd_above_stdio(open(f->path, O_WRONLY | O_TRUNC | O_CLOEXEC));
    } else {
        f->tmp = out_paths[slot][1];
        snprintf(f->tmp, OUT_PATH, "%s.drip-tmp.%d", f->path, (int)getpid());
        f->fd = drip__fd_above_stdio(open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        /* the process gave up the right to create it (setuid, chroot): the file opened before */
        if (f->fd < 0 && (f->fd = drip__privdrop_take(f->path)) >= 0)
            f->tmp = NULL;
    }
    if (f->fd < 0)
        lost(err_fd, f->path, errno);
}

/* Renames the finished file into place: the report appears whole, or not at all. A path that is
 * not a regular file was written in place. */
static void close_out(struct out_file *f, int err_fd)
{
    if (f->fd < 0)
        return;
    struct stat st;
    int ok = fstat(f->fd, &st) == 0 && (st.st_size > 0 || !f->tmp);
    int err = close(f->fd) != 0 ? errno : render_err;
    if (!ok && !err)
        err = EIO;   /* nothing at all was written: said, not silent */
    if (err)
        ok = 0;
    /* the old report goes first: a rename over an existing file makes ext4 (auto_da_alloc) write
     * the new one out before it returns, 10 ms for an 11 MB JSON; a report is whole or absent,
     * and absent is what a reader sees for that moment (not after a crash: then it may be empty) */
    if (f->tmp && ok && lstat(f->path, &st) == 0 && S_ISREG(st.st_mode))
        unlink(f->path);
    if (f->tmp && (!ok || rename(f->tmp, f->path) != 0)) {
        if (ok || err)
            lost(err_fd, f->path, ok ? errno : err);
        unlink(f->tmp);
    }
    f->fd = -1;
}

/* Copies the raw report into --raw-out's file. */
static void keep_raw(int memfd, int err_fd)
{
    struct out_file f;
    open_out(&f, OUT_RAW, drip__opt.raw_out, err_fd);
    if (f.fd < 0)
        return;
    char buf[65536];
    ssize_t n;
    off_t off = 0;
    while ((n = pread(memfd, buf, sizeof buf, off)) > 0) {
        if (write(f.fd, buf, (size_t)n) != n)
            break;
        off += n;
    }
    close_out(&f, err_fd);
}

/* A child's report handed over to drip run's shared symbolizer without waiting (helper.c): the
 * temporary JSON and profile files are renamed into place there (--json-commit). Only where the
 * answer changes nothing here: not the root process (drip run reads its report when it exits),
 * not with --error-exitcode (the exit status is the answer). 1 when it was taken. */
static int hand_off(int memfd, const struct drip_render_out *o, const struct out_file *json,
                    const struct out_file *prof, int err_fd)
{
    if (drip__opt.error_exitcode || drip__is_root_process() || drip__g.foreign)
        return 0;
    struct sym_args sa;
    sym_args(&sa, o);
    sa.na--;   /* "-" goes last again below */
    const struct out_file *f[2] = {json, prof};
    for (int k = 0; k < 2; k++)
        if (f[k]->fd >= 0 && f[k]->tmp) {
            sa.args[sa.na++] = k ? "--profile-commit" : "--json-commit";
            sa.args[sa.na++] = (char *)f[k]->tmp;
            sa.args[sa.na++] = (char *)f[k]->path;
        }
    sa.args[sa.na++] = "-";
    sa.args[sa.na] = NULL;
    lseek(memfd, 0, SEEK_SET);
    return drip__helper_handoff(memfd, err_fd, sa.keep, sa.nk, sa.args) == 0;
}

/* ---- a forked child with nothing of its own ------------------------------------------------- */
struct own_count {
    uint64_t own, inh_bytes, inh_blocks;
};

static void own_cb(const struct drip__rec *r, void *arg)
{
    struct own_count *c = arg;
    if (drip__inherited((uint32_t)r->gen)) {
        c->inh_bytes += r->size;
        c->inh_blocks++;
    } else {
        c->own++;
    }
}

/* A forked child whose live blocks were all inherited at fork (a shell's `$(echo)` subshell) has
 * nothing to scan for and no frame to name: its report is written here, from a raw report with
 * no records, without the scan and without starting a symbolizer. Returns 1 when it was written
 * (*leaked is then 0), 0 when the child has blocks of its own and needs the full report. */
static int child_report_cheap(int text_fd, int json_fd, int err_fd, int *leaked)
{
    struct own_count c = {0, 0, 0};
    drip__table_foreach(own_cb, &c);
    if (c.own)
        return 0;
    int memfd = drip__raw_memfd();
    if (memfd < 0)
        return 0;
    struct drip_writer w;
    drip__writer_fd(&w, memfd);
    drip__raw_header(&w, "exit");
    drip__printf(&w, "inherited bytes=%llu blocks=%llu parent=%d\n", (unsigned long long)c.inh_bytes,
                 (unsigned long long)c.inh_blocks, drip__fork_parent);
    const char *first;
    unsigned untraced = drip__untraced_execs(&first);
    drip__printf(&w, "info threads_unpaused=0 oom=0 paused_us=0 untraced_execs=%u", untraced);
    if (untraced)
        drip__raw_put_kv(&w, "untraced_first", first[0] ? first : "?");
    drip__puts(&w, "\nend\n");
    int done = 0;
    struct stat st;
    char *text = MAP_FAILED;
    if (drip__flush(&w) == 0 && fstat(memfd, &st) == 0 && st.st_size > 0)
        text = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, memfd, 0);
    struct drip_raw raw;
    char err[256];
    if (text != MAP_FAILED && drip__raw_parse(&raw, text, (size_t)st.st_size, err, sizeof err) == 0) {
        if (drip__opt.raw_out[0])
            keep_raw(memfd, err_fd);
        struct drip_symbols sym = drip__raw_symbols(&raw);
        sym.raw = 0;   /* no frame is printed: nothing is left unnamed */
        struct drip_render_out o = {text_fd, json_fd, -1, -1, NULL};
        /* written, or a destination refused it: either way not written twice */
        int rc = drip__render(&raw, &sym, &o, leaked);
        if (rc < 0)
            render_err = -rc;
        done = 1;
        drip__raw_free(&raw);
    }
    if (text != MAP_FAILED)
        munmap(text, (size_t)st.st_size);
    close(memfd);
    return done;
}

int drip__report(void)
{
    /* the report is written whole: the program's signals wait until it is (SIGALRM excepted: the
     * fatal-signal watchdog uses it) */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    struct drip__fsize_lift fsize;
    drip__fsize_lift(&fsize);
    drip__arena_exiting();   /* the scan's large frees are not given back: the process is ending */
    int is_log, text_fd = drip__report_fd(&is_log);
    struct out_file log = {-1, NULL, NULL}, json = log, prof = log;
    if (drip__opt.log_path[0] && !is_log) {
        /* a forked child (FILE.<pid>), or the file could not be kept open since start-up */
        log.path = out_paths[OUT_LOG][0];
        drip__report_path(drip__opt.log_path, log.path, OUT_PATH);
        log.fd = drip__fd_above_stdio(open(log.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (log.fd < 0)
            log.fd = drip__privdrop_take(log.path);   /* opened before setuid/chroot */
        if (log.fd < 0)
            lost(2, log.path, errno);
        text_fd = log.fd;
    }
    if (text_fd < 0 && !drip__report_stderr_closed())
        text_fd = 2;   /* no copy of its own: fd 2 as it is now */
    /* drip's lines go where its text goes (the log file with log_path): the program's stderr
     * stays its own; none when stderr was closed at start (fd 2 may be the program's file now) */
    int err_fd = text_fd;
    drip__say_to(err_fd);   /* the scan's lines (a ptrace refused) too */
    if (drip__opt.json[0])
        open_out(&json, OUT_JSON, drip__opt.json, err_fd);
    if (drip__opt.profile[0])
        open_out(&prof, OUT_PROF, drip__opt.profile, err_fd);

    int foreign = drip__g.foreign, handed = 0;
    if (foreign)
        drip__foreign_report(text_fd, json.fd);
    /* nothing more for a program with its own allocator: drip's allocations would come from it */
    int leaked = 0;
    int cheap = !foreign && drip__fork_parent && !drip__opt.sample && prof.fd < 0 &&
                child_report_cheap(text_fd, json.fd, err_fd, &leaked);
    int memfd = foreign || cheap ? -1 : drip__raw_memfd();
    if (memfd >= 0) {
        struct drip_writer w;
        drip__writer_fd(&w, memfd);
        struct drip__siteset set;
        drip__siteset_init(&set);
        drip__raw_header(&w, "exit");
        drip__raw_modules(&w, prof.fd >= 0);
        if (drip__opt.sample)
            drip__printf(&w, "info sampling=%llu\n", (unsigned long long)drip__opt.sample);
        else if (!foreign)
            raw_leaks(&w, &set, 1, drip__opt.retainers || drip__opt.show_reachable);
        if (prof.fd >= 0)
            drip__raw_profile(&w, &set, 0, NULL, 0);
        drip__puts(&w, "end\n");
        drip__siteset_free(&set);
        if (drip__flush(&w) != 0) {
            render_err = w.err;   /* the raw report cut short (EFBIG past `ulimit -f`): said, not EIO */
            if (text_fd >= 0 && !foreign)
                lost(err_fd, NULL, w.err);
        }
        if (w.err == 0) {
            if (drip__opt.raw_out[0])
                keep_raw(memfd, err_fd);
            /* a program with its own allocator gets foreign.c's one line instead of a leak report */
            struct drip_render_out o = {foreign ? -1 : text_fd, foreign ? -1 : json.fd, prof.fd, -1, NULL};
            int sym_is_log, sym_err = drip__report_fd(&sym_is_log);   /* stderr as drip__symbolize gives it */
            if (sym_is_log)
                sym_err = -1;
            if (o.text_fd >= 0 || o.json_fd >= 0 || o.profile_fd >= 0) {
                handed = hand_off(memfd, &o, &json, &prof, sym_err);
                if (!handed)
                    leaked = drip__symbolize(memfd, &o);
            }
        }
        close(memfd);
    }
    if (drip__opt.sample)
        atomic_store(&drip__g.tracking, 0);
    if (handed) {   /* the symbolizer writes them and renames them into place */
        if (json.fd >= 0)
            close(json.fd);
        if (prof.fd >= 0)
            close(prof.fd);
    } else {
        close_out(&json, err_fd);
        close_out(&prof, err_fd);
    }
    if (log.fd >= 0)
        close(log.fd);
    drip__privdrop_done();
    drip__say_to(-1);
    drip__fsize_restore(&fsize);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return leaked;
}
