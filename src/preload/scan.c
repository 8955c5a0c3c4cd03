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

/* How a range may be read: directly, or through drip__safe_read because a task still running
 * could unmap it (RACY) or because it is file-backed (FILE: a truncated file raises SIGBUS). */
enum { READ_DIRECT = 0, READ_RACY = 1, READ_FILE = 2 };

struct range { uintptr_t lo, hi; int how; };

struct rangeset {
    struct range *r;
    size_t n, cap;
};

static bool rs_add_how(struct rangeset *s, uintptr_t lo, uintptr_t hi, int how)
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
    s->r[s->n++] = (struct range){lo, hi, how};
    return true;
}

static bool rs_add(struct rangeset *s, uintptr_t lo, uintptr_t hi) { return rs_add_how(s, lo, hi, READ_DIRECT); }

static void rs_free(struct rangeset *s) { drip__arena_free(s->r, s->cap * sizeof *s->r); }

/* ---- /proc/self/maps, read without libc's allocator ------------------------------------------ */
struct maps {
    struct rangeset readable;   /* merged where adjacent and read the same way */
    int racy;                   /* READ_RACY when some task runs on: nothing is read directly */
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
        /* [vvar], [vvar_vclock] and [vsyscall] may fault though marked r: skip them */
        bool special = br && (!strncmp(br, "[vvar", 5) || !strncmp(br, "[vsyscall]", 10));
        if (r && !special) {
            struct rangeset *rs = &m->readable;
            int how = name ? READ_FILE : READ_DIRECT;
            if (rs->n && rs->r[rs->n - 1].hi == lo && rs->r[rs->n - 1].how == how)
                rs->r[rs->n - 1].hi = hi;
            else if (!rs_add_how(rs, lo, hi, how))
                break;
        }
        p = *eol ? eol + 1 : eol;
    }
    drip__arena_free(buf, cap);
    return true;
}

static int how_of(const struct maps *m, const struct range *r) { return r->how > m->racy ? r->how : m->racy; }

/* Adds [lo, hi) minus drip's arena (which holds a copy of every block address). */
static void add_not_arena(struct rangeset *out, uintptr_t lo, uintptr_t hi, int how)
{
    uintptr_t alo, ahi;
    drip__arena_range(&alo, &ahi);
    if (hi <= alo || lo >= ahi) {
        rs_add_how(out, lo, hi, how);
        return;
    }
    if (lo < alo)
        rs_add_how(out, lo, alo, how);
    if (hi > ahi)
        rs_add_how(out, ahi, hi, how);
}

/* Clips [lo, hi) to the readable mappings and adds the pieces to `out`. */
static void add_readable(struct rangeset *out, const struct maps *m, uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < m->readable.n; i++) {
        uintptr_t a = m->readable.r[i].lo > lo ? m->readable.r[i].lo : lo;
        uintptr_t b = m->readable.r[i].hi < hi ? m->readable.r[i].hi : hi;
        if (a < b)
            add_not_arena(out, a, b, how_of(m, &m->readable.r[i]));
    }
}

/* Can [lo, hi) be read directly, in one piece? */
static bool direct(const struct maps *m, uintptr_t lo, uintptr_t hi)
{
    if (m->racy)
        return false;
    size_t a = 0, b = m->readable.n;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (m->readable.r[mid].hi <= lo)
            a = mid + 1;
        else
            b = mid;
    }
    return a < m->readable.n && m->readable.r[a].lo <= lo && hi <= m->readable.r[a].hi &&
           m->readable.r[a].how == READ_DIRECT;
}

/* ---- finding the block a word points into ----------------------------------------------------
 * A directory of 4 KiB pages: for each page where some block starts, the index of the first such
 * block (+1; 0: none). A word in such a page is resolved by a binary search among the at most 512
 * blocks that start in it (the block before them covers the word if the page has none at or
 * below it); only a word in a page where no block starts (the inside of a large block, freed
 * memory) needs the search over every block. Two levels (1 GiB regions of 2^18 pages) from the
 * arena, so its memory follows the pages that hold blocks (4 bytes a page), not the span of the
 * heap. */
enum { PAGE_SHIFT_ = 12, DIR_BITS = 18, DIR_TOP = 1 << (47 - PAGE_SHIFT_ - DIR_BITS) };

struct pagedir {
    uint32_t **top;   /* DIR_TOP entries */
    uint32_t used[16];   /* the entries of top that were filled, when at most 16 (most heaps) */
    size_t nused;        /* how many were; above 16, every entry is looked at */
};

static void dir_free(struct pagedir *d)
{
    /* walking all of top (1 MiB, mostly never touched) cost more than the scan of a small program */
    if (d->top && d->nused <= sizeof d->used / sizeof d->used[0])
        for (size_t i = 0; i < d->nused; i++)
            drip__arena_free(d->top[d->used[i]], sizeof(uint32_t) << DIR_BITS);
    else
        for (size_t i = 0; d->top && i < DIR_TOP; i++)
            drip__arena_free(d->top[i], sizeof(uint32_t) << DIR_BITS);
    drip__arena_free(d->top, DIR_TOP * sizeof *d->top);
    d->top = NULL;
}

/* Builds the directory of the n blocks b (sorted by address). false when out of memory (the
 * lookups then search every block). */
static bool dir_build(struct pagedir *d, const struct drip__block *b, size_t n)
{
    d->top = n < 64 || n >= UINT32_MAX ? NULL : drip__arena_alloc(DIR_TOP * sizeof *d->top);
    d->nused = 0;
    if (!d->top)
        return false;
    uintptr_t last = UINTPTR_MAX;
    for (size_t i = 0; i < n; i++) {
        uintptr_t p = b[i].addr >> PAGE_SHIFT_;
        if (p == last)
            continue;
        last = p;
        if ((p >> DIR_BITS) >= DIR_TOP)
            break;   /* above 47 bits: left to the full search */
        uint32_t **t = &d->top[p >> DIR_BITS];
        if (!*t) {
            if (!(*t = drip__arena_alloc(sizeof(uint32_t) << DIR_BITS))) {
                dir_free(d);
                return false;
            }
            if (d->nused < sizeof d->used / sizeof d->used[0])
                d->used[d->nused] = (uint32_t)(p >> DIR_BITS);
            d->nused++;
        }
        (*t)[p & ((1u << DIR_BITS) - 1)] = (uint32_t)i + 1;
    }
    return true;
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
    bool racy;   /* a task runs on: a block may be unmapped under us (see is_next_chunk_header) */
    struct pagedir dir;
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

/* What a scanned word does: reach its target from a definite or a possible holder, or (CLIQUE)
 * pull it into the group of the lost block `head`. */
enum { VISIT_POSSIBLE = 0, VISIT_DEFINITE = 1, VISIT_CLIQUE = 2 };

static void visit_words(struct marker *mk, const uintptr_t *p, size_t n, int mode, size_t head)
{
    if (mode != VISIT_CLIQUE) {
        for (size_t i = 0; i < n; i++) {
            uintptr_t w = p[i];
            if (w >= mk->min && w < mk->max)
                reach(mk, w, mode == VISIT_DEFINITE);
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
                visit_words(mk, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), mode, head);
            return;
        }
        if (r < (long)sizeof(uintptr_t)) {   /* an unreadable page: on to the next one */
            lo = (lo + 4096) & ~(uintptr_t)4095;
            continue;
        }
        visit_words(mk, buf, (size_t)r / sizeof(uintptr_t), mode, head);
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
        visit_words(mk, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), mode, head);
}

/* A block's words: directly when it lies in one directly readable mapping (the common case),
 * else piece by piece as the maps allow (a block with a PROT_NONE page still has its other
 * pages scanned). */
static void visit_block(struct marker *mk, const struct maps *m, const struct drip__block *blk, int mode, size_t head)
{
    uintptr_t lo = blk->addr, hi = blk->addr + blk->size;
    if (direct(m, lo, hi)) {
        visit_range(mk, lo, hi, READ_DIRECT, mode, head);
        return;
    }
    for (size_t i = 0; i < m->readable.n; i++) {
        uintptr_t a = m->readable.r[i].lo > lo ? m->readable.r[i].lo : lo;
        uintptr_t b = m->readable.r[i].hi < hi ? m->readable.r[i].hi : hi;
        if (a < b)
            visit_range(mk, a, b, how_of(m, &m->readable.r[i]), mode, head);
    }
}

/* A root range, less the tracked blocks inside it (a block mmapped on its own lies in a mapping
 * that is otherwise a root candidate): a block's words count only once it is reached. */
static void visit_root(struct marker *mk, const struct range *r)
{
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

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* ---- the live check's snapshot ------------------------------------------------------------- */
struct snap_head {
    int rc, unstopped;
    size_t n;
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
static void snapshot_enter(pid_t parent, int keep_fd)
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

static void snapshot_send(int fd, int rc, const struct drip__scan *out)
{
    struct snap_head h = {rc, out->threads_unstopped, out->blocks ? out->n : 0};
    if (write_all(fd, &h, sizeof h) && h.n)
        write_all(fd, out->blocks, h.n * sizeof *out->blocks);
    _exit(0);
}

/* In the parent: the snapshot's answer. Returns the scan's rc, or -2 when no answer came. */
static int snapshot_receive(int fd, pid_t pid, struct drip__scan *out)
{
    struct snap_head h;
    int rc = -2;
    if (read_all(fd, &h, sizeof h)) {
        rc = h.rc;
        out->threads_unstopped = h.unstopped;
        size_t bytes = (h.n ? h.n : 1) * sizeof *out->blocks;
        out->blocks = drip__arena_alloc(bytes);
        out->blocks_bytes = bytes;
        if (!out->blocks || (h.n && !read_all(fd, out->blocks, h.n * sizeof *out->blocks)))
            rc = -2;
        else
            out->n = h.n;
    }
    close(fd);
    int st;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
        ;
    return rc;
}

static int scan_run(struct drip__scan *out, int final, bool snapshot)
{
    memset(out, 0, sizeof *out);
    struct maps m;
    memset(&m, 0, sizeof m);
    struct rangeset roots = {0};
    struct drip__roots rt;
    memset(&rt, 0, sizeof rt);
    unsigned heur_set = 0;
    drip__parse_heuristics(drip__opt.leak_check_heuristics, strlen(drip__opt.leak_check_heuristics), &heur_set);

    drip__lock_world();
    long long t0 = now_us();
    out->threads_stopped = drip__threads_stop_world();
    bool frozen = drip__threads_world_frozen(), in_snapshot = false;
    snapshot_threads(out);   /* here: a live check's copy sends back only the blocks */
    int pipefd[2] = {-1, -1};
    if (!final && snapshot && pipe2(pipefd, O_CLOEXEC) == 0) {
        pid_t parent = getpid();
        drip__arena_lock_all();   /* the copy gets it unheld */
        int pid = drip__snapshot_fork();
        drip__arena_unlock_all();
        if (pid == 0) {
            snapshot_enter(parent, pipefd[1]);
            in_snapshot = frozen = true;   /* the copy has one thread: nothing moves under it */
        } else {
            close(pipefd[1]);
            if (pid > 0) {
                drip__threads_start_world();
                long long paused = now_us() - t0;
                drip__unlock_world();
                int rc = snapshot_receive(pipefd[0], pid, out);
                out->paused_us = paused;
                if (rc != -2)
                    return rc;
                drip__scan_free(out);   /* no answer from the copy: scan in place */
                return scan_run(out, final, false);
            }
            close(pipefd[0]);
        }
    }
    int rc = -1;
    size_t n = 0;
    struct drip__block *b = NULL;
    struct fill f = {0};
    size_t bbytes = 0;
    /* the maps of the stopped world: exactly what can be read now */
    if (!maps_read(&m) || !drip__roots_read(&rt))
        goto resume;
    m.racy = frozen ? READ_DIRECT : READ_RACY;

    /* the live map hands its records over in address order, straight into the blocks: no copy
     * of the records and no sort (sorted anyway should the order ever be broken) */
    f.max = drip__table_count();
    bbytes = (f.max ? f.max : 1) * sizeof *f.b;
    b = f.b = drip__arena_alloc(bbytes);
    if (!b)
        goto resume;
    drip__table_foreach(fill_cb, &f);
    n = f.n;
    if (!f.sorted)
        drip__sort_by_address(b, n, sizeof *b);

    /* thread stacks: the live part only, from each stopped thread's stack pointer; the calling
     * thread from where it entered drip (exit, _exit, a fatal signal): drip's own frames below
     * hold copies of block addresses (the snapshot being sorted) that are not the program's */
    uintptr_t my_sp = drip__scan_start ? drip__scan_start : (uintptr_t)__builtin_frame_address(0);
    bool roots_oom = false;
    if (final)
        roots_oom |= !drip__roots_dead_below(&rt, my_sp);
    if (final && drip__exit_regs_valid)
        rs_add(&roots, (uintptr_t)drip__exit_regs, (uintptr_t)(drip__exit_regs + 6));
    if (final && drip__fatal_uc) {
        uintptr_t a, z;
        drip__uc_regs(drip__fatal_uc, &a, &z);
        add_readable(&roots, &m, a, z);
    }
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next) {
        if (atomic_load(&t->state) != DRIP_THREAD_RUNNING || !t->os_tid || t == drip__self)
            continue;   /* finished, or created but not started yet: its whole mapping is read */
        if (atomic_load(&t->stopped)) {
            roots_oom |= !drip__roots_dead_below(&rt, atomic_load(&t->stopped_sp));
            /* a copy of its registers: in drip's arena (ptrace) or on its stack (signal) */
            rs_add(&roots, atomic_load(&t->stopped_regs_lo), atomic_load(&t->stopped_regs_hi));
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
                        .rt = &rt, .heur_set = heur_set, .racy = m.racy != READ_DIRECT};
    dir_build(&mk.dir, b, n);
    for (size_t i = 0; i < roots.n; i++)
        visit_root(&mk, &roots.r[i]);
    /* a thread created just before the scan may not have run yet, or started too late to be
     * stopped: its argument may be held only in drip's records of it (which are not roots) */
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        if (atomic_load(&t->state) == DRIP_THREAD_RUNNING && t != drip__self && (!t->os_tid || !atomic_load(&t->stopped)) &&
            t->start_arg >= mk.min && t->start_arg < mk.max)
            reach(&mk, t->start_arg, true);
    drain(&mk, &m);
    cliques(&mk, &m);
    for (size_t i = 0; i < n; i++)   /* a heuristic counts only for a block it made reachable */
        if (b[i].kind != DRIP_REACHABLE)
            b[i].heur = DRIP_HEUR_NONE;
    drip__arena_free(mk.stack, mk.cap * sizeof *mk.stack);
    dir_free(&mk.dir);
    rc = mk.oom || roots_oom ? -1 : 0;
    out->blocks = b;
    out->n = n;
    out->blocks_bytes = bbytes;

resume:
    if (in_snapshot)
        snapshot_send(pipefd[1], rc, out);   /* does not return */
    if (final)
        atomic_store(&drip__g.tracking, 0);
    drip__threads_start_world();
    out->paused_us = now_us() - t0;
    drip__unlock_world();
    rs_free(&roots);
    rs_free(&m.readable);
    drip__roots_free(&rt);
    return rc;
}

int drip__scan_run(struct drip__scan *out, int final)
{
    int rc = scan_run(out, final, true);
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
}
