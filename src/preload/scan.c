/* scan.c — conservative reachability scan, classifying every live block as valgrind's memcheck
 * does:
 *   reachable  a chain of start pointers leads to it from a root;
 *   possible   only chains with at least one interior pointer lead to it;
 *   definite   no pointer to it from a root or a reached block, and it heads its own group;
 *   indirect   reachable only from lost blocks (a lost list's tail, the rest of a lost cycle).
 *   (with valgrind's heuristics, an interior pointer of a known C++ shape counts as a start
 *   pointer: the block is reachable "via heuristic").
 * Roots (roots.c): every writable mapping that is not malloc's or drip's, less the dead part of
 * each stack; the registers of each paused thread (in its signal frame) and of the exiting one
 * (stored where it called exit). Tracked blocks inside a root range are not roots.
 * Words are read at 8-byte alignment, as valgrind and LSan do.
 * Memory: the snapshot (24 bytes a block) and the mark stack come from drip's arena.
 */
#include "scan.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

struct range { uintptr_t lo, hi; };

struct rangeset {
    struct range *r;
    size_t n, cap;
};

static bool rs_add(struct rangeset *s, uintptr_t lo, uintptr_t hi)
{
    if (hi <= lo)
        return true;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct range *r = drip__arena_alloc(cap * sizeof *r);
        if (!r)
            return false;
        if (s->r)
            memcpy(r, s->r, s->n * sizeof *r);
        drip__arena_free(s->r, s->cap * sizeof *r);
        s->r = r;
        s->cap = cap;
    }
    s->r[s->n++] = (struct range){lo, hi};
    return true;
}

static void rs_free(struct rangeset *s) { drip__arena_free(s->r, s->cap * sizeof *s->r); }

/* ---- /proc/self/maps, read without libc's allocator ------------------------------------------ */
struct maps {
    struct rangeset readable;   /* merged where adjacent */
    uintptr_t stack_hi;         /* end of the [stack] mapping */
    uintptr_t ldso_lo, ldso_hi; /* executable range of the dynamic linker */
};

static uintptr_t hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return v;
        v = v * 16 + (uintptr_t)d;
    }
}

static bool maps_read(struct maps *m)
{
    memset(m, 0, sizeof *m);
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t cap = 1 << 20, len = 0;
    char *buf = drip__arena_alloc(cap);
    bool ok = buf != NULL;
    while (ok) {
        if (len + 4096 > cap) {
            char *nb = drip__arena_alloc(cap * 2);
            if (!nb) {
                ok = false;
                break;
            }
            memcpy(nb, buf, len);
            drip__arena_free(buf, cap);
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (!ok) {
        drip__arena_free(buf, cap);
        return false;
    }
    buf[len] = 0;
    for (const char *p = buf; *p;) {
        const char *line = p;
        uintptr_t lo = hex(&p);
        p++;
        uintptr_t hi = hex(&p);
        p++;
        bool r = p[0] == 'r', x = p[2] == 'x';
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        const char *name = memchr(line, '/', (size_t)(eol - line));
        const char *br = memchr(line, '[', (size_t)(eol - line));
        if (br && !strncmp(br, "[stack]", 7))
            m->stack_hi = hi;
        if (name && x) {
            const char *base = name;
            for (const char *q = name; q < eol; q++)
                if (*q == '/')
                    base = q + 1;
            if (!strncmp(base, "ld-linux", 8) || !strncmp(base, "ld-", 3)) {
                m->ldso_lo = m->ldso_lo ? m->ldso_lo : lo;
                m->ldso_hi = hi;
            }
        }
        /* [vvar] and device mappings may be unreadable though marked r: skip them */
        bool special = br && (!strncmp(br, "[vvar]", 6) || !strncmp(br, "[vsyscall]", 10));
        if (r && !special) {
            struct rangeset *rs = &m->readable;
            if (rs->n && rs->r[rs->n - 1].hi == lo)
                rs->r[rs->n - 1].hi = hi;
            else if (!rs_add(rs, lo, hi))
                break;
        }
        p = *eol ? eol + 1 : eol;
    }
    drip__arena_free(buf, cap);
    return true;
}

/* Adds [lo, hi) minus drip's arena (which holds a copy of every block address). */
static void add_not_arena(struct rangeset *out, uintptr_t lo, uintptr_t hi)
{
    uintptr_t alo, ahi;
    drip__arena_range(&alo, &ahi);
    if (hi <= alo || lo >= ahi) {
        rs_add(out, lo, hi);
        return;
    }
    if (lo < alo)
        rs_add(out, lo, alo);
    if (hi > ahi)
        rs_add(out, ahi, hi);
}

/* Clips [lo, hi) to the readable mappings and adds the pieces to `out`. */
static void add_readable(struct rangeset *out, const struct maps *m, uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < m->readable.n; i++) {
        uintptr_t a = m->readable.r[i].lo > lo ? m->readable.r[i].lo : lo;
        uintptr_t b = m->readable.r[i].hi < hi ? m->readable.r[i].hi : hi;
        if (a < b)
            add_not_arena(out, a, b);
    }
}

static bool fully_readable(const struct maps *m, uintptr_t lo, uintptr_t hi)
{
    size_t a = 0, b = m->readable.n;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (m->readable.r[mid].hi <= lo)
            a = mid + 1;
        else
            b = mid;
    }
    return a < m->readable.n && m->readable.r[a].lo <= lo && hi <= m->readable.r[a].hi;
}

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
};

/* glibc's allocator keeps pointers to chunk headers (the top chunk, free-list heads), and the
 * header of the chunk after a block overlaps that block's last bytes. Such a word is the
 * allocator's, not the program's: it is not taken as an interior pointer. The block's size field
 * sits just before it (glibc layout; under another allocator this merely never matches). */
static bool is_next_chunk_header(const struct drip__block *blk, uintptr_t w)
{
    if (w & 15)
        return false;
    size_t field = ((const size_t *)blk->addr)[-1];
    if (field & 2)   /* IS_MMAPPED: nothing follows */
        return false;
    return w == blk->addr - 2 * sizeof(size_t) + (field & ~(size_t)7);
}

static struct drip__block *find_block(struct marker *mk, uintptr_t w)
{
    if (w < mk->min || w >= mk->max)
        return NULL;
    size_t a = 0, b = mk->n;
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
    if (w >= blk->addr + blk->size || is_next_chunk_header(blk, w))
        return NULL;
    return blk;
}

static void push(struct marker *mk, size_t idx)
{
    if (mk->top == mk->cap) {
        size_t cap = mk->cap ? mk->cap * 2 : 4096;
        size_t *s = drip__arena_alloc(cap * sizeof *s);
        if (!s) {
            mk->oom = true;
            return;
        }
        if (mk->stack)
            memcpy(s, mk->stack, mk->top * sizeof *s);
        drip__arena_free(mk->stack, mk->cap * sizeof *s);
        mk->stack = s;
        mk->cap = cap;
    }
    mk->stack[mk->top++] = idx;
}

const char *const drip__heur_name[DRIP_HEUR_COUNT] = {"", "stdstring", "length64", "newarray", "multipleinheritance"};

/* valgrind's heuristic_reachedness (memcheck/mc_leakcheck.c): which heuristic, if any, makes w,
 * an interior pointer into blk, count as a pointer to its start. */
static uint8_t heuristic(const struct marker *mk, const struct drip__block *blk, uintptr_t w)
{
    const size_t W = sizeof(uintptr_t);
    const uintptr_t *d = (const uintptr_t *)blk->addr;
    size_t off = w - blk->addr;
    /* the old (copy-on-write) std::string: length, capacity, refcount, then the characters */
    if ((mk->heur_set & 1u << (DRIP_HEUR_STDSTRING - 1)) && off == 3 * W && blk->size >= 2 * W &&
        3 * W + d[1] + 1 == blk->size && d[0] <= d[1])
        return DRIP_HEUR_STDSTRING;
    /* a 64-bit length of the rest of the block, then the data (sqlite) */
    if ((mk->heur_set & 1u << (DRIP_HEUR_LENGTH64 - 1)) && off == 8 && blk->size >= 8 && d[0] > 0 &&
        blk->size - 8 == d[0])
        return DRIP_HEUR_LENGTH64;
    /* new T[n] of a T with a destructor: n, then the elements */
    if ((mk->heur_set & 1u << (DRIP_HEUR_NEWARRAY - 1)) && off == W && blk->size >= W && d[0] > 0 &&
        (blk->size - W) % d[0] == 0)
        return DRIP_HEUR_NEWARRAY;
    /* a pointer to a second base class: a vtable pointer there and at the start */
    if ((mk->heur_set & 1u << (DRIP_HEUR_MULTIPLEINHERITANCE - 1)) && !(w & (W - 1)) && off + W <= blk->size) {
        uintptr_t inner = *(const uintptr_t *)w, first = d[0];
        if (!(inner & (W - 1)) && inner >= 4096 && !(first & (W - 1)) && first >= 4096 &&
            drip__roots_is_vtable(mk->rt, inner) && drip__roots_is_vtable(mk->rt, first))
            return DRIP_HEUR_MULTIPLEINHERITANCE;
    }
    return DRIP_HEUR_NONE;
}

/* A pointer w found in memory whose holder is `definite_holder` (a root or a reachable block)
 * or not (a possibly-lost block). Upgrades the target's state as valgrind's
 * lc_push_if_a_chunk_ptr does: a start pointer (or an interior one that a heuristic accepts)
 * from a definite holder makes it reachable; anything else makes an unreached block possible. */
static void reach(struct marker *mk, uintptr_t w, bool definite_holder)
{
    struct drip__block *blk = find_block(mk, w);
    if (!blk)
        return;
    if (blk->kind == DRIP_REACHABLE) {
        if (blk->heur && w == blk->addr)
            blk->heur = DRIP_HEUR_NONE;   /* reached by its start after all */
        return;
    }
    bool start = w == blk->addr;
    if (!start && mk->heur_set) {
        blk->heur = heuristic(mk, blk, w);
        start = blk->heur != DRIP_HEUR_NONE;
    }
    if (start && definite_holder) {
        blk->kind = DRIP_REACHABLE;
        push(mk, (size_t)(blk - mk->b));
    } else if (blk->kind == DRIP_UNREACHED) {
        blk->kind = DRIP_POSSIBLE;
        blk->ioff = w - blk->addr > UINT32_MAX ? UINT32_MAX : (uint32_t)(w - blk->addr);
        push(mk, (size_t)(blk - mk->b));
    }
}

static void scan_words(struct marker *mk, uintptr_t lo, uintptr_t hi, bool definite_holder)
{
    lo = (lo + 7) & ~(uintptr_t)7;
    for (const uintptr_t *p = (const uintptr_t *)lo; (uintptr_t)(p + 1) <= hi; p++) {
        uintptr_t w = *p;
        if (w >= mk->min && w < mk->max)
            reach(mk, w, definite_holder);
    }
}

/* A root range, less the tracked blocks inside it (a block mmapped on its own lies in a mapping
 * that is otherwise a root candidate): a block's words count only once it is reached. */
static void scan_root(struct marker *mk, uintptr_t lo, uintptr_t hi)
{
    size_t a = 0, b = mk->n;
    while (a < b) {   /* first block that ends after lo */
        size_t mid = (a + b) / 2;
        if (mk->b[mid].addr + mk->b[mid].size <= lo)
            a = mid + 1;
        else
            b = mid;
    }
    uintptr_t cur = lo;
    for (; a < mk->n && mk->b[a].addr < hi; a++) {
        if (mk->b[a].addr > cur)
            scan_words(mk, cur, mk->b[a].addr, true);
        uintptr_t end = mk->b[a].addr + mk->b[a].size;
        if (end > cur)
            cur = end;
    }
    if (cur < hi)
        scan_words(mk, cur, hi, true);
}

static void drain(struct marker *mk, const struct maps *m)
{
    while (mk->top) {
        struct drip__block *blk = &mk->b[mk->stack[--mk->top]];
        if (fully_readable(m, blk->addr, blk->addr + blk->size))
            scan_words(mk, blk->addr, blk->addr + blk->size, blk->kind == DRIP_REACHABLE);
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
        while (mk->top) {
            struct drip__block *blk = &mk->b[mk->stack[--mk->top]];
            if (!fully_readable(m, blk->addr, blk->addr + blk->size))
                continue;
            uintptr_t lo = (blk->addr + 7) & ~(uintptr_t)7, hi = blk->addr + blk->size;
            for (const uintptr_t *p = (const uintptr_t *)lo; (uintptr_t)(p + 1) <= hi; p++) {
                struct drip__block *t = find_block(mk, *p);
                if (!t || t == &mk->b[i])
                    continue;
                if (t->kind == DRIP_UNREACHED || t->kind == DRIP_DEFINITE) {
                    t->kind = DRIP_INDIRECT;
                    push(mk, (size_t)(t - mk->b));
                }
            }
        }
    }
}

static void sort_blocks(struct drip__block *b, size_t n);

/* The threads the report names: every one but the main thread and the caller, running (or not
 * started yet), or finished without a join or a detach. */
static void snapshot_threads(struct drip__scan *out)
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

int drip__scan_run(struct drip__scan *out, int final)
{
    memset(out, 0, sizeof *out);
    struct maps m;
    struct rangeset roots = {0};
    /* before any thread is paused: reading the maps allocates from the arena */
    if (!maps_read(&m))
        return -1;
    unsigned heur_set = 0;
    drip_parse_heuristics(drip__opt.leak_check_heuristics, strlen(drip__opt.leak_check_heuristics), &heur_set);
    struct drip__roots rt;
    if (!drip__roots_read(&rt)) {
        drip__roots_free(&rt);
        rs_free(&m.readable);
        return -1;
    }

    drip__threads_lock();
    drip__depot_lock_all();
    drip__table_lock_all();
    /* no thread may pause while holding the arena lock: the scan allocates from the arena */
    drip__arena_lock_all();
    out->threads_stopped = drip__threads_stop_world();
    drip__arena_unlock_all();

    snapshot_threads(out);
    size_t n, bytes;
    struct drip__rec *recs = drip__table_snapshot(&n, &bytes);
    struct drip__block *b = NULL;
    size_t bbytes = (n ? n : 1) * sizeof *b;
    if (recs)
        b = drip__arena_alloc(bbytes);
    int rc = -1;
    bool roots_oom = false;
    if (!b)
        goto resume;
    for (size_t i = 0; i < n; i++)
        b[i] = (struct drip__block){.addr = recs[i].addr, .size = recs[i].size, .site = recs[i].site, .kind = DRIP_UNREACHED};
    drip__arena_free(recs, bytes);
    recs = NULL;
    sort_blocks(b, n);

    /* thread stacks: the live part only, from each stopped thread's stack pointer (its
     * registers, saved in the signal frame below that, are added on their own); the calling
     * thread from where it entered drip (exit, _exit, a fatal signal): drip's own frames below
     * hold copies of block addresses (the snapshot being sorted) that are not the program's */
    uintptr_t my_sp = drip__scan_start ? drip__scan_start : (uintptr_t)__builtin_frame_address(0);
    if (final)
        drip__roots_dead_below(&rt, my_sp);
    if (final && drip__exit_regs_valid)
        add_readable(&roots, &m, (uintptr_t)drip__exit_regs, (uintptr_t)(drip__exit_regs + 6));
    if (final && drip__fatal_uc) {
        uintptr_t a, z;
        drip__uc_regs(drip__fatal_uc, &a, &z);
        add_readable(&roots, &m, a, z);
    }
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next) {
        if (atomic_load(&t->state) != DRIP_THREAD_RUNNING || !t->os_tid || t == drip__self)
            continue;   /* finished, or created but not started yet: its whole mapping is read */
        if (atomic_load(&t->stopped)) {
            drip__roots_dead_below(&rt, atomic_load(&t->stopped_sp));
            uintptr_t a, z;
            drip__uc_regs((const void *)atomic_load(&t->stopped_uc), &a, &z);
            add_readable(&roots, &m, a, z);
        } else
            out->threads_unstopped++;   /* its whole stack is read */
    }
    /* every other candidate mapping is read whole: in a forked child, the stacks of the
     * parent's other threads as they were at fork; threads drip never saw */
    {
        struct drip__ranges rr = {0};
        if (!drip__roots_finish(&rt, &rr))
            roots_oom = true;
        for (size_t i = 0; i < rr.n; i++)
            add_readable(&roots, &m, rr.r[i].lo, rr.r[i].hi);
        drip__ranges_free(&rr);
    }

    struct marker mk = {.b = b, .n = n, .min = n ? b[0].addr : 1, .max = n ? b[n - 1].addr + b[n - 1].size + 1 : 0,
                        .rt = &rt, .heur_set = heur_set};
    for (size_t i = 0; i < roots.n; i++)
        scan_root(&mk, roots.r[i].lo, roots.r[i].hi);
    /* a thread created just before the scan may not have run yet, or started too late to be
     * paused: its argument may be held only in drip's records of it (which are not roots) */
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        if (atomic_load(&t->state) == DRIP_THREAD_RUNNING && t != drip__self && (!t->os_tid || !atomic_load(&t->stopped)) &&
            t->start_arg >= mk.min && t->start_arg < mk.max)
            reach(&mk, t->start_arg, true);
    drain(&mk, &m);
    cliques(&mk, &m);
    for (size_t i = 0; i < n; i++)
        if (b[i].kind == DRIP_REACHABLE && b[i].heur) {
            out->heur[b[i].heur].bytes += b[i].size;
            out->heur[b[i].heur].blocks++;
        } else
            b[i].heur = DRIP_HEUR_NONE;
    drip__arena_free(mk.stack, mk.cap * sizeof *mk.stack);
    rc = mk.oom || roots_oom ? -1 : 0;
    out->blocks = b;
    out->n = n;
    out->blocks_bytes = bbytes;

resume:
    if (recs)
        drip__arena_free(recs, bytes);
    if (final)
        atomic_store(&drip__g.tracking, 0);
    drip__threads_start_world();
    drip__table_unlock_all();
    drip__depot_unlock_all();
    drip__threads_unlock();
    rs_free(&roots);
    rs_free(&m.readable);
    drip__roots_free(&rt);
    return rc;
}

/* qsort may allocate (it does for large arrays in glibc): a heap sort from drip's side instead. */
static void sift(struct drip__block *b, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && b[c + 1].addr > b[c].addr)
            c++;
        if (b[root].addr >= b[c].addr)
            return;
        struct drip__block t = b[root];
        b[root] = b[c];
        b[c] = t;
        root = c;
    }
}

static void sort_blocks(struct drip__block *b, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(b, i, n);
    for (size_t i = n; i-- > 1;) {
        struct drip__block t = b[0];
        b[0] = b[i];
        b[i] = t;
        sift(b, 0, i);
    }
}

void drip__scan_free(struct drip__scan *s)
{
    drip__arena_free(s->blocks, s->blocks_bytes);
    drip__arena_free(s->threads, s->threads_bytes);
}
