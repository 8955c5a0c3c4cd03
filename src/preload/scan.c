/* scan.c — conservative reachability scan, classifying every live block as valgrind's memcheck
 * does:
 *   reachable  a chain of start pointers leads to it from a root;
 *   possible   only chains with at least one interior pointer lead to it;
 *   definite   no pointer to it from a root or a reached block, and it heads its own group;
 *   indirect   reachable only from lost blocks (a lost list's tail, the rest of a lost cycle).
 * Roots: every writable segment of every loaded module (.data, .bss, GOT), every thread's stack
 * from its stack pointer up (its TLS and thread descriptor sit at the top of that mapping), the
 * registers (saved on the stack by the stop signal, or spilled here for the calling thread), the
 * main thread's static TLS, and blocks the dynamic linker allocated (its own bookkeeping, which
 * no other root reaches, as LeakSanitizer also treats them).
 * Words are read at 8-byte alignment, as valgrind and LSan do.
 * The scan never faults: /proc/self/maps is read once the world is stopped and only what it says
 * is readable is read. File-backed mappings (a truncated file raises SIGBUS) are read through
 * process_vm_readv on ourselves (drip__safe_read), which fails where a load would fault; so is
 * everything when some task could not be stopped (it could munmap under the scan). Anonymous
 * memory of a stopped world is read directly, at full speed.
 * A live check (not `final`) scans a snapshot: the parent stops the world, forks a copy of itself
 * (copy-on-write, so the copy is the stopped world) and resumes at once; the copy scans and sends
 * the classified blocks back through a pipe. The program is stopped for the stop and the fork.
 * Memory: the snapshot (32 bytes a block) and the mark stack come from drip's arena.
 */
#include "scan.h"
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

/* ---- roots from the loaded modules --------------------------------------------------------- */
static int module_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct rangeset *rs = data;
    /* the program headers lie in the module's first page, which faults (SIGBUS) once the file
     * was truncated under it: copied through the read that cannot fault */
    ElfW(Phdr) phdrs[64];
    size_t want = (info->dlpi_phnum < 64 ? info->dlpi_phnum : 64) * sizeof *phdrs;
    long got = drip__safe_read(phdrs, (uintptr_t)info->dlpi_phdr, want);
    if (got < 0) {   /* no such read here: the headers as they are */
        memcpy(phdrs, info->dlpi_phdr, want);
        got = (long)want;
    }
    for (int i = 0; i < (int)((size_t)got / sizeof *phdrs); i++) {
        const ElfW(Phdr) *ph = &phdrs[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        uintptr_t hi = lo + ph->p_memsz;
        /* drip's own globals point only into drip's arena: not roots */
        if (lo >= drip__g.self_lo && lo < drip__g.self_hi)
            continue;
        rs_add(rs, lo & ~(uintptr_t)7, hi);
    }
    return 0;
}

/* ---- marking ---------------------------------------------------------------------------------- */
struct marker {
    struct drip__block *b;
    size_t n;
    uintptr_t min, max;
    size_t *stack;
    size_t top, cap;
    bool oom;
    bool racy;   /* a task runs on: a block may be unmapped under us (see is_next_chunk_header) */
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

/* A pointer w found in memory whose holder is `definite_holder` (a root or a reachable block)
 * or not (a possibly-lost block). Upgrades the target's state as valgrind does. */
static void reach(struct marker *mk, uintptr_t w, bool definite_holder)
{
    struct drip__block *blk = find_block(mk, w);
    if (!blk)
        return;
    uint8_t want = (definite_holder && w == blk->addr) ? DRIP_REACHABLE : DRIP_POSSIBLE;
    if (blk->kind == DRIP_REACHABLE || blk->kind == want)
        return;
    blk->kind = want;
    push(mk, (size_t)(blk - mk->b));
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

static void sort_blocks(struct drip__block *b, size_t n);

/* Thread t's stack from lo (its lowest live address) to its top; the main thread's top comes
 * from the maps, and without a known lo its 8 MiB below that. */
static void add_stack(struct rangeset *roots, const struct maps *m, const struct drip__thread *t, uintptr_t lo)
{
    uintptr_t hi = t->is_main ? m->stack_hi : t->stack_hi;
    if (t->is_main && !lo)
        lo = hi ? hi - (8u << 20) : 0;
    if (hi > lo)
        add_readable(roots, m, lo, hi);
}

/* Size of the static TLS block, from the loader when it tells (a GLIBC_PRIVATE function that
 * LeakSanitizer relies on too), else a generous guess. */
static size_t static_tls_size(void)
{
    static size_t cached;
    if (!cached) {
        void (*get)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
        size_t size = 0, align = 0;
        if (get)
            get(&size, &align);
        cached = size ? size : 16384;
    }
    return cached;
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

static bool write_all(int fd, const void *p, size_t n)
{
    for (const char *c = p; n;) {
        ssize_t r = write(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        c += r;
        n -= (size_t)r;
    }
    return true;
}

static bool read_all(int fd, void *p, size_t n)
{
    for (char *c = p; n;) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        c += r;
        n -= (size_t)r;
    }
    return true;
}

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
    struct rangeset roots = {0}, mods = {0};
    /* before any thread is stopped: dl_iterate_phdr and dlsym take the loader lock, which a
     * stopped thread might hold */
    static_tls_size();
    dl_iterate_phdr(module_cb, &mods);

    drip__threads_lock();
    drip__depot_lock_all();
    drip__table_lock_all();
    long long t0 = now_us();
    out->threads_stopped = drip__threads_stop_world();
    bool frozen = drip__threads_world_frozen(), in_snapshot = false;
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
                drip__table_unlock_all();
                drip__depot_unlock_all();
                drip__threads_unlock();
                rs_free(&mods);
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
    size_t n = 0, bytes = 0;
    struct drip__rec *recs = NULL;
    struct drip__block *b = NULL;
    /* the maps of the stopped world: exactly what can be read now */
    if (!maps_read(&m))
        goto resume;
    m.racy = frozen ? READ_DIRECT : READ_RACY;
    for (size_t i = 0; i < mods.n; i++)
        add_readable(&roots, &m, mods.r[i].lo, mods.r[i].hi);

    recs = drip__table_snapshot(&n, &bytes);
    size_t bbytes = (n ? n : 1) * sizeof *b;
    if (recs)
        b = drip__arena_alloc(bbytes);
    if (!b)
        goto resume;
    for (size_t i = 0; i < n; i++)
        b[i] = (struct drip__block){recs[i].addr, recs[i].size, recs[i].site, DRIP_UNREACHED, 0};
    drip__arena_free(recs, bytes);
    recs = NULL;
    sort_blocks(b, n);

    /* thread stacks */
    /* the calling thread is read from where it entered drip: drip's own frames below that hold
     * copies of block addresses (the snapshot being sorted) that are not the program's */
    uintptr_t my_sp = drip__scan_start ? drip__scan_start : (uintptr_t)__builtin_frame_address(0);
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next) {
        if (atomic_load(&t->state) != DRIP_THREAD_RUNNING || !t->os_tid)
            continue;   /* finished, or created but not started yet (no stack: see start_arg below) */
        uintptr_t lo = t->stack_lo;
        if (t == drip__self) {
            lo = my_sp;
            if (drip__fatal_uc) {
                uintptr_t a, z;
                drip__uc_regs(drip__fatal_uc, &a, &z);
                add_readable(&roots, &m, a, z);
            }
        } else if (atomic_load(&t->stopped)) {
            lo = atomic_load(&t->stopped_sp);
            /* a copy of its registers: in drip's arena (ptrace) or on its stack (signal) */
            rs_add(&roots, atomic_load(&t->stopped_regs_lo), atomic_load(&t->stopped_regs_hi));
        } else
            out->threads_unstopped++;
        add_stack(&roots, &m, t, lo);
    }
    /* in a forked child, the stacks of the parent's other threads, as they were at fork */
    for (struct drip__thread *t = drip__threads_orphans(); t; t = t->next)
        add_stack(&roots, &m, t, t->stack_lo);
    if (!drip__self && final)   /* a thread drip never saw (created before drip or by clone) */
        add_readable(&roots, &m, my_sp, my_sp + (1u << 20));
    /* the main thread's static TLS and descriptor (allocated by the loader, outside any stack):
     * the static TLS block ends just above the thread pointer */
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        if (t->is_main)
            add_readable(&roots, &m, (uintptr_t)t->tid - static_tls_size(), (uintptr_t)t->tid + 4096);

    struct marker mk = {.b = b, .n = n, .min = n ? b[0].addr : 1, .max = n ? b[n - 1].addr + b[n - 1].size + 1 : 0,
                        .racy = m.racy != READ_DIRECT};
    /* blocks the dynamic linker allocated are its own bookkeeping (link maps, DTVs): roots */
    for (size_t i = 0; i < n && m.ldso_lo; i++) {
        struct drip__site *s = drip__depot_get(b[i].site);
        if (s && s->depth && s->frames[0] >= m.ldso_lo && s->frames[0] < m.ldso_hi) {
            b[i].kind = DRIP_REACHABLE;
            push(&mk, i);
        }
    }
    for (size_t i = 0; i < roots.n; i++)
        visit_range(&mk, roots.r[i].lo, roots.r[i].hi, roots.r[i].how, VISIT_DEFINITE, 0);
    /* a thread created just before the scan may not have run yet: no stack of its own, its
     * argument held only in drip's records of it (which the scan does not read) */
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        if (atomic_load(&t->state) == DRIP_THREAD_RUNNING && t->start_arg >= mk.min && t->start_arg < mk.max)
            reach(&mk, t->start_arg, true);
    drain(&mk, &m);
    cliques(&mk, &m);
    drip__arena_free(mk.stack, mk.cap * sizeof *mk.stack);
    rc = mk.oom ? -1 : 0;
    out->blocks = b;
    out->n = n;
    out->blocks_bytes = bbytes;

resume:
    if (in_snapshot)
        snapshot_send(pipefd[1], rc, out);   /* does not return */
    if (recs)
        drip__arena_free(recs, bytes);
    if (final)
        atomic_store(&drip__g.tracking, 0);
    drip__threads_start_world();
    out->paused_us = now_us() - t0;
    drip__table_unlock_all();
    drip__depot_unlock_all();
    drip__threads_unlock();
    rs_free(&roots);
    rs_free(&mods);
    rs_free(&m.readable);
    return rc;
}

int drip__scan_run(struct drip__scan *out, int final) { return scan_run(out, final, true); }

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

void drip__scan_free(struct drip__scan *s) { drip__arena_free(s->blocks, s->blocks_bytes); }
