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
 * the classified blocks back through a pipe. The program is stopped for the stop and the fork.
 * Memory: the blocks (24 bytes each, filled from the live map in address order), a directory of
 * the pages where blocks start (find_block) and the mark stack come from drip's arena.
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

/* ---- finding the block a word points into ----------------------------------------------------
 * A directory of 4 KiB pages: for each page where some block starts, the index of the first such
 * block (+1; 0: none). A word in such a page is resolved by a binary search among the at most 512
 * blocks that start in it (the block before them covers the word if the page has none at or
 * below it); only a word in a page where no block starts (the inside of a large block, freed
 * memory) needs the search over every block. Two levels (1 GiB regions of 2^18 pages) from the
 * arena, so its memory follows the pages that hold blocks (4 bytes a page), not the span of the
 * heap. The directory itself is built in scan_maps.c. */

/* ---- marking ---------------------------------------------------------------------------------- */
struct marker {
    struct drip__block *b;
    size_t n;
    uintptr_t min, max;
    const struct drip__roots *rt;
    unsigned heur_set;   /* bit h - 1 for each enum drip_heur h in use */
    size_t *stack;
    size_t top, cap;
    bool oom;
    bool racy;   /* a task runs on: a block may be unmapped under us (see is_next_chunk_header) */
    struct drip__pagedir dir;
    struct drip__retain *ret;   /* retention paths (retain.h); NULL: not recorded */
    uint32_t holder;            /* what is being read: block index + 1, or 0 for a root range */
    uintptr_t hbase;            /* the holder block's address */
};

/* glibc's allocator keeps pointers to chunk headers (the top chunk, free-list heads), and the
 * header of the chunk after a block overlaps that block's last bytes. Such a word is the
 * allocator's, not the program's: it is not taken as an interior pointer. The block's size field
 * sits just before it (glibc layout; under another allocator this merely never matches). */
static bool is_next_chunk_header(const struct marker *mk, const struct drip__block *blk, uintptr_t w)
{
    if (w & 15)
        return false;
    size_t field;
    if (!mk->racy)
        field = ((const size_t *)blk->addr)[-1];
    else if (drip__safe_read(&field, blk->addr - sizeof field, sizeof field) != (long)sizeof field)
        return false;   /* freed and unmapped meanwhile, or no such read here */
    if (field & 2)   /* IS_MMAPPED: nothing follows */
        return false;
    return w == blk->addr - 2 * sizeof(size_t) + (field & ~(size_t)7);
}

static struct drip__block *find_block(struct marker *mk, uintptr_t w)
{
    if (w < mk->min || w >= mk->max)
        return NULL;
    size_t a = 0, b = mk->n;
    uintptr_t p = w >> PAGE_SHIFT_;
    const uint32_t *t = mk->dir.top && (p >> DIR_BITS) < DIR_TOP ? mk->dir.top[p >> DIR_BITS] : NULL;
    uint32_t first = t ? t[p & ((1u << DIR_BITS) - 1)] : 0;
    if (first) {   /* blocks start in w's page: the answer is among them or just before them */
        a = first - 1;
        b = a + (1u << PAGE_SHIFT_) / 8 < mk->n ? a + (1u << PAGE_SHIFT_) / 8 : mk->n;   /* blocks are 8-aligned */
        if (mk->b[a].addr > w)
            b = a;
        else
            a++;
    }
    while (a < b) {   /* last block with addr <= w */
        size_t mid = (a + b) / 2;
        if (mk->b[mid].addr <= w)
            a = mid + 1;
        else
            b = mid;
    }
    if (a == 0)
        return NULL;
    struct drip__block *blk = &mk->b[a - 1];
    if (w == blk->addr)
        return blk;
    if (w >= blk->addr + blk->size || is_next_chunk_header(mk, blk, w))
        return NULL;
    return blk;
}

static void push(struct marker *mk, size_t idx)
{
    if (mk->top == mk->cap && !drip__arena_grow(&mk->stack, &mk->cap, mk->top, mk->top + 1, sizeof *mk->stack, 4096)) {
        mk->oom = true;
        return;
    }
    mk->stack[mk->top++] = idx;
}

/* A pointer w found in memory whose holder is `definite_holder` (a root or a reachable block)
 * or not (a possibly-lost block). Upgrades the target's state as valgrind's
 * lc_push_if_a_chunk_ptr does: a start pointer (or an interior one that a heuristic accepts)
 * from a definite holder makes it reachable; anything else makes an unreached block possible. */
static void reach(struct marker *mk, uintptr_t w, bool definite_holder, uintptr_t src)
{
    struct drip__block *blk = find_block(mk, w);
    if (!blk)
        return;
    size_t idx = (size_t)(blk - mk->b);
    if (blk->kind == DRIP_REACHABLE) {
        if (blk->heur && w == blk->addr)
            blk->heur = DRIP_HEUR_NONE;   /* reached by its start after all */
        if (mk->ret && definite_holder && (w == blk->addr || blk->heur))
            drip__retain_edge(mk->ret, idx, mk->holder, src);
        return;
    }
    bool start = w == blk->addr;
    if (!start && mk->heur_set) {
        blk->heur = drip__heuristic(mk->heur_set, mk->rt, blk, w);
        start = blk->heur != DRIP_HEUR_NONE;
    }
    if (start && definite_holder) {
        blk->kind = DRIP_REACHABLE;
        push(mk, idx);
        if (mk->ret) {   /* the first holder found: the retention path goes through it */
            drip__retain_mark(mk->ret, idx, mk->holder, mk->hbase, src);
            drip__retain_edge(mk->ret, idx, mk->holder, src);
        }
    } else if (blk->kind == DRIP_UNREACHED) {
        blk->kind = DRIP_POSSIBLE;
        blk->ioff = w - blk->addr > UINT32_MAX ? UINT32_MAX : (uint32_t)(w - blk->addr);
        push(mk, idx);
        if (mk->ret)
            drip__retain_mark(mk->ret, idx, mk->holder, mk->hbase, src);
    }
}

/* What a scanned word does: reach its target from a definite or a possible holder, or (CLIQUE)
 * pull it into the group of the lost block `head`. */
enum { VISIT_POSSIBLE = 0, VISIT_DEFINITE = 1, VISIT_CLIQUE = 2 };

/* p: a copy of (or the very) words at `at` in the program's memory. */
static void visit_words(struct marker *mk, const uintptr_t *p, size_t n, int mode, size_t head, uintptr_t at)
{
    if (mode != VISIT_CLIQUE) {
        for (size_t i = 0; i < n; i++) {
            uintptr_t w = p[i];
            if (w >= mk->min && w < mk->max)
                reach(mk, w, mode == VISIT_DEFINITE, at + i * sizeof(uintptr_t));
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct drip__block *t = find_block(mk, p[i]);
        if (!t || t == &mk->b[head])
            continue;
        if (t->kind == DRIP_UNREACHED || t->kind == DRIP_DEFINITE) {
            t->kind = DRIP_INDIRECT;
            push(mk, (size_t)(t - mk->b));
        }
    }
}

/* Reads [lo, hi) through a copy that cannot fault; unreadable pages are skipped. Without the
 * signal-free read, memory that is only racy is read directly and file-backed memory skipped. */
static void visit_careful(struct marker *mk, uintptr_t lo, uintptr_t hi, int how, int mode, size_t head)
{
    uintptr_t buf[2048];
    lo = (lo + 7) & ~(uintptr_t)7;
    while (lo + sizeof(uintptr_t) <= hi) {
        size_t len = (hi - lo) & ~(size_t)7;
        if (len > sizeof buf)
            len = sizeof buf;
        long r = drip__safe_read(buf, lo, len);
        if (r < 0) {
            if (how == READ_RACY)
                visit_words(mk, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), mode, head, lo);
            return;
        }
        if (r < (long)sizeof(uintptr_t)) {   /* an unreadable page: on to the next one */
            lo = (lo + 4096) & ~(uintptr_t)4095;
            continue;
        }
        visit_words(mk, buf, (size_t)r / sizeof(uintptr_t), mode, head, lo);
        lo += (size_t)r & ~(size_t)7;
    }
}

static void visit_range(struct marker *mk, uintptr_t lo, uintptr_t hi, int how, int mode, size_t head)
{
    if (how != READ_DIRECT) {
        visit_careful(mk, lo, hi, how, mode, head);
        return;
    }
    lo = (lo + 7) & ~(uintptr_t)7;
    if (lo + sizeof(uintptr_t) <= hi)
        visit_words(mk, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), mode, head, lo);
}

/* A block's words: directly when it lies in one directly readable mapping (the common case),
 * else piece by piece as the maps allow (a block with a PROT_NONE page still has its other
 * pages scanned). */
static void visit_block(struct marker *mk, const struct maps *m, const struct drip__block *blk, int mode, size_t head)
{
    uintptr_t lo = blk->addr, hi = blk->addr + blk->size;
    if (drip__maps_direct(m, lo, hi)) {
        visit_range(mk, lo, hi, READ_DIRECT, mode, head);
        return;
    }
    for (size_t i = 0; i < m->readable.n; i++) {
        uintptr_t a = m->readable.r[i].lo > lo ? m->readable.r[i].lo : lo;
        uintptr_t b = m->readable.r[i].hi < hi ? m->readable.r[i].hi : hi;
        if (a < b)
            visit_range(mk, a, b, drip__how_of(m, &m->readable.r[i]), mode, head);
    }
}

/* A root range, less the tracked blocks inside it (a block mmapped on its own lies in a mapping
 * that is otherwise a root candidate): a block's words count only once it is reached. */
static void visit_root(struct marker *mk, const struct range *r)
{
    mk->holder = 0;
    size_t a = 0, b = mk->n;
    while (a < b) {   /* first block that ends after lo */
        size_t mid = (a + b) / 2;
        if (mk->b[mid].addr + mk->b[mid].size <= r->lo)
            a = mid + 1;
        else
            b = mid;
    }
    uintptr_t cur = r->lo;
    for (; a < mk->n && mk->b[a].addr < r->hi; a++) {
        if (mk->b[a].addr > cur)
            visit_range(mk, cur, mk->b[a].addr, r->how, VISIT_DEFINITE, 0);
        uintptr_t end = mk->b[a].addr + mk->b[a].size;
        if (end > cur)
            cur = end;
    }
    if (cur < r->hi)
        visit_range(mk, cur, r->hi, r->how, VISIT_DEFINITE, 0);
}

static void drain(struct marker *mk, const struct maps *m)
{
    while (mk->top) {
        struct drip__block *blk = &mk->b[mk->stack[--mk->top]];
        mk->holder = (uint32_t)(blk - mk->b) + 1;
        mk->hbase = blk->addr;
        visit_block(mk, m, blk, blk->kind == DRIP_REACHABLE ? VISIT_DEFINITE : VISIT_POSSIBLE, 0);
    }
}

/* Lost blocks, in address order: each one not yet claimed heads a group (definite); every block
 * it leads to that is not reached otherwise joins the group (indirect), including the head of an
 * earlier group, which is then demoted. */
static void cliques(struct marker *mk, const struct maps *m)
{
    for (size_t i = 0; i < mk->n; i++) {
        if (mk->b[i].kind != DRIP_UNREACHED)
            continue;
        mk->b[i].kind = DRIP_DEFINITE;
        mk->top = 0;
        push(mk, i);
        while (mk->top)
            visit_block(mk, m, &mk->b[mk->stack[--mk->top]], VISIT_CLIQUE, i);
    }
}


struct fill {
    struct drip__block *b;
    size_t n, max;
    bool sorted;
};

static void fill_cb(const struct drip__rec *r, void *arg)
{
    struct fill *f = arg;
    if (f->n == f->max)
        return;
    if (f->n == 0)
        f->sorted = true;
    else if (r->addr <= f->b[f->n - 1].addr)
        f->sorted = false;
    f->b[f->n++] = (struct drip__block){.addr = r->addr, .size = r->size, .site = r->site, .kind = DRIP_UNREACHED,
                                        .inherited = drip__inherited((uint32_t)r->gen)};
}

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
    struct drip__block *b;
    size_t n, bbytes;
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

/* Phase 3: the live blocks, in address order. The live map hands its records over in address
 * order, straight into the blocks: no copy of the records and no sort (sorted anyway should the
 * order ever be broken). */
static bool collect_blocks(struct scan *sc)
{
    struct fill f = {0};
    f.max = drip__table_count();
    sc->bbytes = (f.max ? f.max : 1) * sizeof *f.b;
    sc->b = f.b = drip__arena_alloc(sc->bbytes);
    if (!sc->b)
        return false;
    drip__table_foreach(fill_cb, &f);
    sc->n = f.n;
    if (!f.sorted)
        drip__sort_by_address(sc->b, sc->n, sizeof *sc->b);
    return true;
}

/* Phase 4: the root ranges. Thread stacks: the live part only, from each stopped thread's stack
 * pointer; the calling thread from where it entered drip (exit, _exit, a fatal signal): drip's
 * own frames below hold copies of block addresses (the snapshot being sorted) that are not the
 * program's. Every other candidate mapping is read whole: in a forked child, the stacks of the
 * parent's other threads as they were at fork; threads drip never saw. */
static void collect_roots(struct scan *sc)
{
    struct rangeset *roots = &sc->roots;
    sc->my_sp = drip__scan_start ? drip__scan_start : (uintptr_t)__builtin_frame_address(0);
    if (sc->final)
        sc->roots_oom |= !drip__roots_dead_below(&sc->rt, sc->my_sp);
    if (sc->final && drip__exit_regs_valid) {
        drip__rs_add(roots, (uintptr_t)drip__exit_regs, (uintptr_t)(drip__exit_regs + 6));
        drip__retain_note_regs(&sc->ret, (uintptr_t)drip__exit_regs, (uintptr_t)(drip__exit_regs + 6),
                               drip__self ? drip__self->os_tid : 0);
    }
    if (sc->final && drip__fatal_uc) {
        uintptr_t a, z;
        drip__uc_regs(drip__fatal_uc, &a, &z);
        drip__add_readable(roots, &sc->m, a, z);
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
        drip__add_readable(roots, &sc->m, rr.r[i].lo, rr.r[i].hi);
    drip__ranges_free(&rr);
}

/* Phase 5: mark what the roots reach, then what that reaches (reachable, possible). A thread
 * created just before the scan may not have run yet, or started too late to be stopped: its
 * argument may be held only in drip's records of it (which are not roots). */
static void mark_reachable(struct scan *sc, struct marker *mk)
{
    for (size_t i = 0; i < sc->roots.n; i++)
        visit_root(mk, &sc->roots.r[i]);
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        if (atomic_load(&t->state) == DRIP_THREAD_RUNNING && t != drip__self && (!t->os_tid || !atomic_load(&t->stopped)) &&
            t->start_arg >= mk->min && t->start_arg < mk->max) {
            uintptr_t at = (uintptr_t)&t->start_arg;
            drip__retain_note_regs(&sc->ret, at, at + sizeof t->start_arg, t->os_tid);
            mk->holder = 0;
            reach(mk, t->start_arg, true, at);
        }
    drain(mk, &sc->m);
}

/* Phase 6: the rest are lost: definite heads and their indirect groups. A heuristic counts only
 * for a block it made reachable. */
static void classify_lost(struct scan *sc, struct marker *mk)
{
    cliques(mk, &sc->m);
    for (size_t i = 0; i < sc->n; i++)
        if (sc->b[i].kind != DRIP_REACHABLE)
            sc->b[i].heur = DRIP_HEUR_NONE;
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
    if (sc->out->blocks)
        sc->out->retain = drip__retain_summarize(&sc->ret, sc->b, sc->n, &sc->ret_ctx);
    if (sc->out->retain)
        sc->out->retain->sum_us = now_us() - t;
    sc->out->retain_bytes = sc->out->retain ? sc->out->retain->total : 0;
    drip__retain_end(&sc->ret);
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
    sc.recording = drip__opt.retain_paths && drip__retain_begin(&sc.ret, sc.n, retainers);
    collect_roots(&sc);

    struct marker mk = {.b = sc.b, .n = sc.n, .min = sc.n ? sc.b[0].addr : 1,
                        .max = sc.n ? sc.b[sc.n - 1].addr + sc.b[sc.n - 1].size + 1 : 0, .rt = &sc.rt,
                        .heur_set = heur_set, .racy = sc.m.racy != READ_DIRECT, .ret = sc.recording ? &sc.ret : NULL};
    drip__dir_build(&mk.dir, sc.b, sc.n);
    mark_reachable(&sc, &mk);
    classify_lost(&sc, &mk);
    drip__arena_free(mk.stack, mk.cap * sizeof *mk.stack);
    drip__dir_free(&mk.dir);
    name_roots(&sc);
    rc = mk.oom || sc.roots_oom ? -1 : 0;
    out->blocks = sc.b;
    out->n = sc.n;
    out->blocks_bytes = sc.bbytes;

resume:
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

int drip__scan_run_ex(struct drip__scan *out, int final, bool retainers)
{
    int rc = scan_run(out, final, true, retainers);
    /* from the blocks (a live check's copy sends back only those) */
    for (size_t i = 0; i < out->n; i++)
        if (out->blocks[i].heur && !out->blocks[i].inherited) {   /* inherited: the parent counts them */
            out->heur[out->blocks[i].heur].bytes += out->blocks[i].size;
            out->heur[out->blocks[i].heur].blocks++;
        }
    return rc;
}

void drip__scan_free(struct drip__scan *s)
{
    drip__arena_free(s->blocks, s->blocks_bytes);
    drip__arena_free(s->threads, s->threads_bytes);
    drip__arena_free(s->retain, s->retain_bytes);
}
