/* roots.c — which memory the scan reads as roots, chosen as valgrind's memcheck chooses them:
 * every readable and writable mapping of the program (anonymous, private file-backed, shared
 * anonymous; so module .data/.bss/GOT, every thread's stack and TLS, static and dynamic, and the
 * memory of pool allocators, GC'd runtimes and mmap'd arenas), less
 *   - glibc malloc's own memory: the main heap ([heap]) and the thread arenas' heaps (64 MiB
 *     aligned regions that start with a heap_info): freed chunks there hold stale pointers, and
 *     live chunks are blocks (read when reached, never as roots);
 *   - a malloc that is not glibc's (jemalloc): the mappings it made for itself (mmaps.c);
 *   - the tracked blocks themselves wherever they lie (mmapped chunks): scan.c skips them;
 *   - drip's own memory: its arena, its module's segments, its own threads' stacks, the stack
 *     the exit report runs on;
 *   - the dead part of each stack, below the stack pointer of a stopped thread or below where
 *     the exiting thread called exit (valgrind marks that part unaddressable), and the frames
 *     part of the stacks of threads that have ended (glibc caches them mapped).
 * Shared file mappings and device mappings are left out: a truncated file raises SIGBUS and a
 * device may not be memory at all (valgrind also skips devices).
 * The few words read here outside the scan proper (a heap_info, a vtable) go through
 * drip__safe_read: they may lie in a file mapping or race with an unstopped task's munmap.
 * Lock: none; the one list (drip's own thread stacks) is append-only with an atomic count.
 */
#include "scan.h"
#include "arena.h"
#include "stop.h"
#include "scan_maps.h"
#include "threads.h"
#include "lsan.h"
#include "ownload.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* glibc's HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX */
#define ARENA_HEAP_ALIGN ((uintptr_t)64 << 20)

static bool add(struct drip__ranges *s, uintptr_t lo, uintptr_t hi)
{
    if (hi <= lo)
        return true;
    if (!drip__arena_grow(&s->r, &s->cap, s->n, s->n + 1, sizeof *s->r, 256))
        return false;
    s->r[s->n++] = (struct drip__range){lo, hi};
    return true;
}

void drip__ranges_free(struct drip__ranges *s)
{
    drip__arena_free(s->r, s->cap * sizeof *s->r);
    memset(s, 0, sizeof *s);
}

/* ---- drip's own threads ------------------------------------------------------------------ */
enum { MAX_OWN = 16 };
static uintptr_t own_sp[MAX_OWN], own_pd[MAX_OWN];
static atomic_int n_own;

void drip__roots_own_thread(void)
{
    int i = atomic_fetch_add(&n_own, 1);
    if (i < MAX_OWN)
    {
        own_sp[i] = (uintptr_t)__builtin_frame_address(0);
        own_pd[i] = (uintptr_t)pthread_self();
    }
}

/* Memory of drip's own outside its arena: the stack the exit report runs on (runtime.c). An
 * exact range, not its mapping: an anonymous mapping may merge with the program's neighbour. */
enum { MAX_OWN_RANGES = 4 };
static _Atomic uintptr_t own_lo[MAX_OWN_RANGES], own_hi[MAX_OWN_RANGES];

void drip__roots_own_range(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < MAX_OWN_RANGES; i++)
        if (!atomic_load(&own_hi[i]) || atomic_load(&own_lo[i]) == lo) {
            atomic_store(&own_lo[i], lo);
            atomic_store(&own_hi[i], hi);
            return;
        }
}

static _Atomic uintptr_t live_caller_sp;
void drip__roots_live_caller(uintptr_t sp) { atomic_store(&live_caller_sp, sp); }

/* ---- /proc/self/maps --------------------------------------------------------------------- */
char *drip__roots_maps_text(size_t *cap_out)
{
    int fd = drip__proc_open("self/maps", O_RDONLY | O_CLOEXEC);   /* threads.h: in a chroot, after main's pthread_exit */
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    char *buf = drip__arena_alloc(cap);
    while (buf) {
        if (len + 4096 > cap) {
            char *nb = drip__arena_alloc(cap * 2);
            if (nb)
                memcpy(nb, buf, len);
            drip__arena_free(buf, cap);
            buf = nb;
            cap *= 2;
            if (!buf)
                break;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (buf)
        buf[len] = 0;
    *cap_out = cap;
    return buf;
}

/* Whether the rw mapping [lo, hi) is a heap of one of glibc's thread arenas: 64 MiB aligned, and
 * its heap_info's arena pointer lies just past a heap_info (the arena's first heap holds its
 * malloc_state there) at the start of some 64 MiB aligned region, its prev pointer is 0 or such
 * a start, and its size fits. */
static bool arena_heap(uintptr_t lo, uintptr_t hi)
{
    if (lo & (ARENA_HEAP_ALIGN - 1) || hi - lo > ARENA_HEAP_ALIGN)
        return false;
    uintptr_t info[3];
    if (drip__safe_read(info, lo, sizeof info) != (long)sizeof info)
        return false;
    uintptr_t ar = info[0], prev = info[1], size = info[2];
    return ar >= ARENA_HEAP_ALIGN && (ar & (ARENA_HEAP_ALIGN - 1)) >= 2 * sizeof(uintptr_t) && (ar & (ARENA_HEAP_ALIGN - 1)) <= 256 &&
           (prev & (ARENA_HEAP_ALIGN - 1)) == 0 && size <= ARENA_HEAP_ALIGN && size >= 4096;
}

bool drip__roots_read(struct drip__roots *r)
{
    size_t cap;
    char *buf = drip__roots_maps_text(&cap);
    if (!buf) {
        memset(r, 0, sizeof *r);
        return false;
    }
    bool ok = drip__roots_parse(r, buf);
    drip__arena_free(buf, cap);
    return ok;
}

bool drip__roots_parse(struct drip__roots *r, const char *buf)
{
    memset(r, 0, sizeof *r);
    bool ok = true;
    for (const char *p = buf; *p && ok;) {
        uintptr_t lo = drip__maps_hex(&p);
        p++;
        uintptr_t hi = drip__maps_hex(&p);
        p++;
        bool rd = p[0] == 'r', wr = p[1] == 'w', ex = p[2] == 'x', priv = p[3] == 'p';
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        /* the path, if any, starts at the first '/' or '[' after the inode field */
        const char *name = NULL;
        for (const char *q = p; q < eol; q++)
            if (*q == '/' || *q == '[') {
                name = q;
                break;
            }
        size_t nlen = name ? (size_t)(eol - name) : 0;
        if (name && name[0] == '/' && rd && !(nlen >= 5 && !memcmp(name, "/dev/", 5))) {
            ok = add(&r->file_r, lo, hi) && (!ex || add(&r->file_x, lo, hi));
            if (!ok)
                break;
        }
        bool take = rd && wr;
        if (take && name) {
            bool dev = nlen >= 5 && !memcmp(name, "/dev/", 5);
            bool zero = nlen >= 9 && !memcmp(name, "/dev/zero", 9);
            bool sysv = nlen >= 5 && !memcmp(name, "/SYSV", 5);
            if (!strncmp(name, "[heap]", 6) || !strncmp(name, "[vvar]", 6) || !strncmp(name, "[vsyscall]", 10))
                take = false;
            else if (dev && !zero)
                take = false;
            else if (!priv && name[0] == '/' && !zero && !sysv)
                take = false;   /* a shared file mapping: truncation would fault the scan */
        }
        if (take && !name && arena_heap(lo, hi))
            take = false;
        if (take)
            ok = add(&r->maps, lo, hi);
        p = *eol ? eol + 1 : eol;
    }
    if (!ok)
        return false;
    /* drip's own memory */
    uintptr_t alo, ahi;
    drip__arena_range(&alo, &ahi);
    ok = add(&r->excl, alo, ahi) && add(&r->excl, drip__g.self_lo & ~(uintptr_t)4095, (drip__g.self_hi + 4095) & ~(uintptr_t)4095);
    for (int i = 0; i < MAX_OWN_RANGES && ok; i++)
        ok = add(&r->excl, atomic_load(&own_lo[i]), atomic_load(&own_hi[i]));
    /* the frames of threads that have ended (threads.c; the scan holds the thread list): dead
     * memory to valgrind, though glibc keeps the stack mapped for the next thread */
    uintptr_t dead[64][2];
    size_t nd = drip__threads_dead_stacks(dead, 64);
    for (size_t i = 0; i < nd && ok; i++)
        ok = add(&r->excl, dead[i][0], dead[i][1]);
    /* a program thread inside a live check of its own (lsan.c): its stack below the call is
     * dead, drip's frames over older ones */
    uintptr_t caller = atomic_load(&live_caller_sp);
    const struct drip__range *cm = caller ? drip__roots_mapping(r, caller) : NULL;
    if (cm && ok)
        ok = add(&r->excl, cm->lo, caller & ~(uintptr_t)7);
    int n = atomic_load(&n_own);
    for (int i = 0; i < n && i < MAX_OWN && ok; i++) {
        /* the stack and static TLS, not the thread descriptor at the top (glibc's, x86_64): a
         * stack glibc reused from the program's cache keeps that thread's DTV, a block drip
         * tracked, and only the descriptor points to it (it was definitely lost, a false leak) */
        const struct drip__range *m = drip__roots_mapping(r, own_sp[i]);
        if (m)
            ok = add(&r->excl, m->lo, own_pd[i] > own_sp[i] && own_pd[i] < m->hi ? own_pd[i] : m->hi);
    }
    return ok;
}

const struct drip__range *drip__ranges_find(const struct drip__ranges *s, uintptr_t a)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->r[mid].hi <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->r[lo].lo <= a ? &s->r[lo] : NULL;
}

const struct drip__range *drip__roots_mapping(const struct drip__roots *r, uintptr_t a) { return drip__ranges_find(&r->maps, a); }

bool drip__roots_is_vtable(const struct drip__roots *r, uintptr_t p)
{
    const struct drip__range *seg = drip__ranges_find(&r->file_r, p);
    if (!seg || p + sizeof(uintptr_t) > seg->hi)
        return false;
    uintptr_t max = p + 20 * sizeof(uintptr_t);
    if (max > seg->hi - sizeof(uintptr_t))
        max = seg->hi - sizeof(uintptr_t);
    /* a file mapping: read through the copy that cannot fault (a truncated file) */
    uintptr_t words[21];
    size_t n = (max - p) / sizeof(uintptr_t) + 1;
    long got = drip__safe_read(words, p, n * sizeof(uintptr_t));
    if (got < 0)
        return false;
    n = (size_t)got / sizeof(uintptr_t);
    int fns = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t fn = words[i];
        if (!fn)
            continue;
        if (!drip__ranges_find(&r->file_x, fn))
            return false;
        if (++fns == 2)
            return true;
    }
    return false;
}

bool drip__roots_exclude(struct drip__roots *r, uintptr_t lo, uintptr_t hi) { return add(&r->excl, lo, hi); }

bool drip__roots_dead_below(struct drip__roots *r, uintptr_t sp)
{
    const struct drip__range *m = drip__roots_mapping(r, sp);
    return m ? add(&r->excl, m->lo, sp & ~(uintptr_t)7) : true;
}

struct lsan_add {
    struct drip__ranges *out;
    bool ok;
};

static int lsan_add(uintptr_t lo, uintptr_t hi, void *arg)
{
    struct lsan_add *a = arg;
    a->ok &= add(a->out, lo & ~(uintptr_t)7, hi);
    return 0;
}

bool drip__roots_finish(struct drip__roots *r, struct drip__ranges *out)
{
    struct drip__ranges *x = &r->excl;
    drip__sort_by_address(x->r, x->n, sizeof *x->r);
    size_t k = 0;   /* merge overlapping exclusions */
    for (size_t i = 0; i < x->n; i++) {
        if (k && x->r[i].lo <= x->r[k - 1].hi) {
            if (x->r[i].hi > x->r[k - 1].hi)
                x->r[k - 1].hi = x->r[i].hi;
        } else
            x->r[k++] = x->r[i];
    }
    x->n = k;
    size_t j = 0;
    for (size_t i = 0; i < r->maps.n; i++) {
        uintptr_t lo = r->maps.r[i].lo, hi = r->maps.r[i].hi;
        while (j < x->n && x->r[j].hi <= lo)
            j++;
        for (size_t e = j; e < x->n && x->r[e].lo < hi && lo < hi; e++) {
            if (x->r[e].lo > lo && !add(out, lo, x->r[e].lo))
                return false;
            if (x->r[e].hi > lo)
                lo = x->r[e].hi;
        }
        if (lo < hi && !add(out, lo, hi))
            return false;
    }
    /* LSan's interface (lsan.c): the ignored blocks' addresses and the registered regions, read
     * whatever the exclusions above say */
    struct lsan_add a = {out, true};
    drip__lsan_roots(lsan_add, &a);
    /* what the loader allocated for drip's own dlopen, linked into the program's lists
     * (ownload.c) */
    drip__own_chunks_roots(lsan_add, &a);
    return a.ok;
}

void drip__roots_free(struct drip__roots *r)
{
    drip__ranges_free(&r->maps);
    drip__ranges_free(&r->excl);
    drip__ranges_free(&r->file_r);
    drip__ranges_free(&r->file_x);
}

/* ---- sorting by address (drip__sort_by_address, scan.h) -------------------------------------- */
static uintptr_t key_at(const char *b, size_t i, size_t size)
{
    uintptr_t k;
    memcpy(&k, b + i * size, sizeof k);
    return k;
}

static void swap_at(char *b, size_t i, size_t j, size_t size)
{
    char t[64];
    memcpy(t, b + i * size, size);
    memcpy(b + i * size, b + j * size, size);
    memcpy(b + j * size, t, size);
}

static void sift(char *b, size_t root, size_t n, size_t size)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && key_at(b, c + 1, size) > key_at(b, c, size))
            c++;
        if (key_at(b, root, size) >= key_at(b, c, size))
            return;
        swap_at(b, root, c, size);
        root = c;
    }
}

void drip__sort_by_address(void *base, size_t n, size_t size)
{
    char *b = base;
    for (size_t i = n / 2; i-- > 0;)
        sift(b, i, n, size);
    for (size_t i = n; i-- > 1;) {
        swap_at(b, 0, i, size);
        sift(b, 0, i, size);
    }
}
