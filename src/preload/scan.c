/* scan.c — conservative reachability scan, classifying every live block as valgrind's memcheck
 * does:
 *   reachable  a chain of start pointers leads to it from a root;
 *   possible   only chains with at least one interior pointer lead to it;
 *   definite   no pointer to it from a root or a reached block, and it heads its own group;
 *   indirect   reachable only from lost blocks (a lost list's tail, the rest of a lost cycle).
 *   (with valgrind's heuristics, an interior pointer of a known C++ shape counts as a start
 *   pointer: the block is reachable "via heuristic").
 * Roots (roots.c): every writable mapping that is not malloc's or drip's, less the dead part of
 * each stack; the registers of each stopped thread and of the exiting one (stored where it
 * called exit). Tracked blocks inside a root range are not roots.
 * Words are read at 8-byte alignment, as valgrind and LSan do.
 * The scan never faults: /proc/self/maps is read once the world is stopped and only what it says
 * is readable is read. File-backed mappings (a truncated file raises SIGBUS) are read through
 * process_vm_readv on ourselves (drip__safe_read), which fails where a load would fault; so is
 * everything when some task could not be stopped (it could munmap under the scan). Anonymous
 * memory of a stopped world is read directly, at full speed.
 * A live check (not `final`) scans a snapshot: the parent stops the world, forks a copy of itself
 * (copy-on-write, so the copy is the stopped world) and resumes at once; the copy scans and sends
 * its records back through a pipe. The program is stopped for the stop and the fork.
 * Memory (drip's arena, during the scan only): the live map is read in place, not copied
 * (scan_index.c: about 2 bytes a small block for its spans and their directory); a byte of state
 * a block; a possible block's offset and path (scan_mark.c); a mark stack bounded by what one
 * 64 KiB chunk of a block points at per level. The scan's answer is its records: the blocks
 * grouped by (kind, site), made while the map is still frozen.
 */
#include "scan.h"
#include "arena.h"
#include "depot.h"
#include "lock.h"
#include "runtime.h"
#include "table.h"
#include "threads.h"
#include "stop.h"
#include "scan_maps.h"
#include "snapshot.h"
#include "retain.h"
#include "scan_index.h"
#include "scan_mark.h"
#include "mmaps.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}


/* Everything one scan holds, phase to phase. */
struct scan {
    struct drip__scan *out;
    int final;
    bool frozen, in_snapshot, roots_oom;
    int pipefd[2];
    long long t0;
    struct maps m;
    struct rangeset roots;
    struct drip__roots rt;
    struct drip__bindex x;
    struct marker mk;
    size_t n;                /* blocks */
    struct drip__block *b;   /* with want_links only: a copy of the classified blocks (retain.h) */
    size_t bbytes;
    uintptr_t my_sp;
    struct drip__retain ret;
    struct drip__retain_ctx ret_ctx;
    bool recording;
};

/* Phase 1: the program's other threads stopped, drip's tables locked. */
static void stop_the_world(struct scan *sc)
{
    drip__lock_world();
    sc->t0 = now_us();
    sc->out->threads_stopped = drip__threads_stop_world();
    sc->frozen = drip__threads_world_frozen();
    drip__snapshot_threads(sc->out);   /* here: a live check's copy sends back only the blocks */
}

static void resume_the_world(struct scan *sc)
{
    if (sc->final)
        atomic_store(&drip__g.tracking, 0);
    drip__threads_start_world();
    sc->out->paused_us = now_us() - sc->t0;
    drip__unlock_world();
}

/* Phase 2 (live checks): fork the snapshot and let the program go on. Returns 1 in the copy
 * (which scans), 0 when no copy could be made (scan in place), -1 in the parent once the copy's
 * answer is in sc->out (*rc: its rc; -2 when none came). */
static int fork_snapshot(struct scan *sc, int *rc)
{
    if (pipe2(sc->pipefd, O_CLOEXEC) != 0)
        return 0;
    pid_t parent = getpid();
    drip__arena_lock_all();   /* the copy gets it unheld */
    int pid = drip__snapshot_fork();
    drip__arena_unlock_all();
    if (pid == 0) {
        drip__snapshot_enter(parent, sc->pipefd[1]);
        sc->in_snapshot = sc->frozen = true;   /* the copy has one thread: nothing moves under it */
        return 1;
    }
    close(sc->pipefd[1]);
    if (pid < 0) {
        close(sc->pipefd[0]);
        return 0;
    }
    resume_the_world(sc);
    long long paused = sc->out->paused_us;
    *rc = drip__snapshot_receive(sc->pipefd[0], pid, sc->out);
    sc->out->paused_us = paused;
    return -1;
}

/* Phase 3: the live blocks, read in place from the frozen map (scan_index.c): no copy of the
 * records; a byte of state a block. */
static bool collect_blocks(struct scan *sc)
{
    if (!drip__bindex_build(&sc->x))
        return false;
    sc->n = sc->x.n;
    sc->mk.st = drip__arena_alloc(sc->x.n ? sc->x.n : 1);   /* zero: DRIP_UNREACHED */
    return sc->mk.st != NULL;
}

/* Phase 4: the root ranges. Thread stacks: the live part only, from each stopped thread's stack
 * pointer; the calling thread from where it entered drip (exit, _exit, a fatal signal): drip's
 * own frames below hold copies of block addresses (the snapshot being sorted) that are not the
 * program's. Every other candidate mapping is read whole: in a forked child, the stacks of the
 * parent's other threads as they were at fork; threads drip never saw. */
static void collect_roots(struct scan *sc)
{
    struct rangeset *roots = &sc->roots;
    int pagemap = -2;   /* opened by the first range that needs it, closed below */
    sc->my_sp = drip__scan_start ? drip__scan_start : (uintptr_t)__builtin_frame_address(0);
    if (sc->final)
        sc->roots_oom |= !drip__roots_dead_below(&sc->rt, sc->my_sp);
    sc->roots_oom |= !drip__mmaps_exclude_allocator(&sc->rt);   /* jemalloc's own memory */
    if (sc->final && drip__exit_regs_valid) {
        drip__rs_add(roots, (uintptr_t)drip__exit_regs, (uintptr_t)(drip__exit_regs + 6));
        drip__retain_note_regs(&sc->ret, (uintptr_t)drip__exit_regs, (uintptr_t)(drip__exit_regs + 6),
                               drip__self ? drip__self->os_tid : 0);
    }
    if (sc->final && drip__fatal_uc) {
        uintptr_t a, z;
        drip__uc_regs(drip__fatal_uc, &a, &z);
        drip__add_readable(roots, &sc->m, a, z, &pagemap);
        drip__retain_note_regs(&sc->ret, a, z, drip__self ? drip__self->os_tid : 0);
    }
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next) {
        if (atomic_load(&t->state) != DRIP_THREAD_RUNNING || !t->os_tid || t == drip__self)
            continue;   /* finished, or created but not started yet: its whole mapping is read */
        if (atomic_load(&t->stopped)) {
            sc->roots_oom |= !drip__roots_dead_below(&sc->rt, atomic_load(&t->stopped_sp));
            /* a copy of its registers: in drip's arena (ptrace) or on its stack (signal) */
            uintptr_t lo = atomic_load(&t->stopped_regs_lo), hi = atomic_load(&t->stopped_regs_hi);
            drip__rs_add(roots, lo, hi);
            drip__retain_note_regs(&sc->ret, lo, hi, t->os_tid);
        } else
            sc->out->threads_unstopped++;   /* its whole stack is read */
    }
    struct drip__ranges rr = {0};
    if (!drip__roots_finish(&sc->rt, &rr))
        sc->roots_oom = true;
    for (size_t i = 0; i < rr.n; i++)
        drip__add_readable(roots, &sc->m, rr.r[i].lo, rr.r[i].hi, &pagemap);
    drip__pagemap_close(&pagemap);
    drip__ranges_free(&rr);
}

/* Phase 5: mark what the roots reach, then what that reaches (reachable, possible). A thread
 * created just before the scan may not have run yet, or started too late to be stopped: its
 * argument may be held only in drip's records of it (which are not roots). */
static void mark_reachable(struct scan *sc, struct marker *mk)
{
    for (size_t i = 0; i < sc->roots.n; i++)
        drip__mark_root(mk, &sc->roots.r[i]);
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        if (atomic_load(&t->state) == DRIP_THREAD_RUNNING && t != drip__self && (!t->os_tid || !atomic_load(&t->stopped)) &&
            t->start_arg >= mk->min && t->start_arg < mk->max) {
            uintptr_t at = (uintptr_t)&t->start_arg;
            drip__retain_note_regs(&sc->ret, at, at + sizeof t->start_arg, t->os_tid);
            mk->holder = 0;
            drip__mark_reach(mk, t->start_arg, true, at);
        }
    drip__mark_drain(mk, &sc->m);
}

/* Phase 6: the rest are lost: definite heads and their indirect groups. A heuristic counts only
 * for a block it made reachable. */
static void classify_lost(struct scan *sc, struct marker *mk)
{
    drip__mark_cliques(mk, &sc->m);
    for (size_t i = 0; i < sc->x.n; i++)
        if ((mk->st[i] & ST_KIND) != DRIP_REACHABLE)
            mk->st[i] &= ST_KIND;
}

/* Phase 6b: the classified blocks grouped by (kind, site), the report's records, while the map
 * is still frozen (once the program runs again its frees would change it under us); with
 * want_links, also a copy of every block for the retention summary's parts that need them. */
static bool group_blocks(struct scan *sc, struct marker *mk)
{
    struct drip__scan *out = sc->out;
    size_t groups = ((size_t)drip__depot_count() + 1) * 5, cap = 1024;
    if (groups > sc->x.n)
        groups = sc->x.n;
    while (cap < groups * 2)
        cap *= 2;
    uint32_t *map = drip__arena_alloc(cap * sizeof *map);   /* group index + 1; 0: empty */
    size_t gcap = 0;
    bool ok = map != NULL;
    if (ok && sc->ret.want_links) {
        sc->bbytes = (sc->x.n ? sc->x.n : 1) * sizeof *sc->b;
        ok = (sc->b = drip__arena_alloc(sc->bbytes)) != NULL;
    }
    for (size_t k = 0; ok && k < sc->x.ns; k++) {
        const struct drip__rec *rec = drip__bindex_span(&sc->x, k);
        for (uint32_t j = 0; ok && j < sc->x.s[k].t.n; j++) {
            const struct drip__rec *r = &rec[j];
            uint32_t idx = sc->x.s[k].first + j, ioff = 0;
            uint8_t kind = mk->st[idx] & ST_KIND, heur = mk->st[idx] >> ST_HEUR_SHIFT;
            bool inh = drip__inherited((uint32_t)r->gen);
            if (kind == DRIP_POSSIBLE)
                ioff = drip__mark_ioff(mk, idx);
            if (sc->b)
                sc->b[idx] = (struct drip__block){r->addr, r->size, kind, heur, inh, r->site, ioff};
            if (inh) {   /* the parent's: scanned for their pointers, listed by the parent */
                out->inh_bytes += r->size;
                out->inh_blocks++;
                continue;
            }
            if (heur) {
                out->heur[heur].bytes += r->size;
                out->heur[heur].blocks++;
            }
            uint64_t key = ((uint64_t)kind << 32) | r->site;
            size_t h = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
            while (map[h] && !(out->groups[map[h] - 1].kind == kind && out->groups[map[h] - 1].site == r->site))
                h = (h + 1) & (cap - 1);
            if (!map[h]) {
                if (!drip__arena_grow(&out->groups, &gcap, out->ngroups, out->ngroups + 1, sizeof *out->groups, 64)) {
                    ok = false;
                    break;
                }
                out->groups[out->ngroups] = (struct drip__scan_group){.site = r->site, .kind = kind, .ioff_min = ioff, .ioff_max = ioff};
                map[h] = (uint32_t)++out->ngroups;
            }
            struct drip__scan_group *g = &out->groups[map[h] - 1];
            g->ioff_min = ioff < g->ioff_min ? ioff : g->ioff_min;
            g->ioff_max = ioff > g->ioff_max ? ioff : g->ioff_max;
            g->bytes += r->size;
            g->blocks++;
        }
    }
    out->groups_bytes = gcap * sizeof *out->groups;
    drip__arena_free(map, cap * sizeof *map);
    return ok;
}

/* Phase 7: who holds what (retain.c). The root words are named while the memory is as it was;
 * the paths and retained sizes, from drip's own copies, once the program runs again. */
static void name_roots(struct scan *sc)
{
    sc->ret_ctx = (struct drip__retain_ctx){&sc->rt, sc->my_sp, !sc->frozen,
                                            sc->ret.want_edges ? (long long)drip__opt.retain_budget * 1000 : 0,
                                            drip__opt.log_roots};
    if (sc->recording)
        drip__retain_name_roots(&sc->ret, &sc->ret_ctx);
}

static void summarize_retention(struct scan *sc)
{
    if (!sc->recording)
        return;
    long long t = now_us();
    sc->out->retain = drip__retain_summarize(&sc->ret, sc->b, sc->n, &sc->ret_ctx);
    if (sc->out->retain)
        sc->out->retain->sum_us = now_us() - t;
    sc->out->retain_bytes = sc->out->retain ? sc->out->retain->total : 0;
    drip__retain_end(&sc->ret);
    drip__arena_free(sc->b, sc->bbytes);
    sc->b = NULL;
    sc->recording = false;
}

static int scan_run(struct drip__scan *out, int final, bool snapshot, bool retainers)
{
    memset(out, 0, sizeof *out);
    struct scan sc = {.out = out, .final = final, .pipefd = {-1, -1}};
    unsigned heur_set = 0;
    drip__parse_heuristics(drip__opt.leak_check_heuristics, strlen(drip__opt.leak_check_heuristics), &heur_set);

    stop_the_world(&sc);
    if (!final && snapshot) {
        int rc = 0, where = fork_snapshot(&sc, &rc);
        if (where < 0) {
            if (rc != -2)
                return rc;
            drip__scan_free(out);   /* no answer from the copy: scan in place */
            return scan_run(out, final, false, retainers);
        }
    }
    int rc = -1;
    /* the maps of the stopped world: exactly what can be read now */
    size_t maps_cap = 0;
    char *maps_text = drip__roots_maps_text(&maps_cap);   /* one read for both */
    bool maps_ok = maps_text && drip__maps_parse(&sc.m, maps_text) && drip__roots_parse(&sc.rt, maps_text);
    drip__arena_free(maps_text, maps_cap);
    if (!maps_ok || !collect_blocks(&sc))
        goto resume;
    sc.m.racy = sc.frozen ? READ_DIRECT : READ_RACY;
    sc.recording = drip__opt.retain_paths && drip__retain_begin(&sc.ret, sc.x.n, retainers, retainers || drip__opt.log_roots);
    collect_roots(&sc);

    struct marker *mk = &sc.mk;
    mk->x = &sc.x;
    mk->min = sc.x.min;
    mk->max = sc.x.max;
    mk->rt = &sc.rt;
    mk->heur_set = heur_set;
    mk->racy = sc.m.racy != READ_DIRECT;
    mk->ret = sc.recording ? &sc.ret : NULL;
    mark_reachable(&sc, mk);
    classify_lost(&sc, mk);
    bool grouped = group_blocks(&sc, mk);
    name_roots(&sc);
    rc = mk->oom || sc.roots_oom || !grouped || sc.ret.oom ? -1 : 0;

resume:
    drip__mark_free(&sc.mk);
    drip__arena_free(sc.mk.st, sc.x.n ? sc.x.n : 1);
    sc.mk.st = NULL;
    drip__bindex_free(&sc.x);   /* the map is not read once the program runs again */
    if (sc.in_snapshot) {
        summarize_retention(&sc);
        drip__snapshot_send(sc.pipefd[1], rc, out);   /* does not return */
    }
    resume_the_world(&sc);
    summarize_retention(&sc);   /* the program runs again meanwhile */
    drip__rs_free(&sc.roots);
    drip__rs_free(&sc.m.readable);
    drip__roots_free(&sc.rt);
    return rc;
}

int drip__scan_run(struct drip__scan *out, int final) { return drip__scan_run_ex(out, final, false); }

int drip__scan_run_ex(struct drip__scan *out, int final, bool retainers) { return scan_run(out, final, true, retainers); }

void drip__scan_free(struct drip__scan *s)
{
    drip__arena_free(s->groups, s->groups_bytes);
    drip__arena_free(s->threads, s->threads_bytes);
    drip__arena_free(s->retain, s->retain_bytes);
}
