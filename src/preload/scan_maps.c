/* scan_maps.c — what the scan may read: /proc/self/maps read once the world is stopped (without
 * libc's allocator), and sets of ranges, each with how it may be read (directly, or through
 * drip__safe_read when a task still runs or the range is file-backed). Split out of scan.c.
 * Root ranges in private anonymous mappings leave out the pages the program never touched, as
 * /proc/self/pagemap tells (Python's arenas: ~470 of a `python3 -c pass`'s 730 such pages, each
 * a page fault when read). A page swapped out counts as touched: it is read.
 * Memory: drip's arena. Locks: none (the caller has stopped the world).
 */
#include "scan_maps.h"
#include "arena.h"
#include "threads.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>



bool drip__rs_add_how(struct rangeset *s, uintptr_t lo, uintptr_t hi, int how)
{
    if (hi <= lo)
        return true;
    if (!drip__arena_grow(&s->r, &s->cap, s->n, s->n + 1, sizeof *s->r, 256))
        return false;
    s->r[s->n++] = (struct range){lo, hi, how, 0};
    return true;
}

bool drip__rs_add(struct rangeset *s, uintptr_t lo, uintptr_t hi) { return drip__rs_add_how(s, lo, hi, READ_DIRECT); }

void drip__rs_free(struct rangeset *s) { drip__arena_free(s->r, s->cap * sizeof *s->r); }

/* ---- /proc/self/maps, read without libc's allocator ------------------------------------------ */

uintptr_t drip__maps_hex(const char **p)
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

bool drip__maps_read(struct maps *m)
{
    size_t cap = 0;
    char *buf = drip__roots_maps_text(&cap);
    bool ok = buf && drip__maps_parse(m, buf);
    if (!buf)
        memset(m, 0, sizeof *m);
    drip__arena_free(buf, cap);
    return ok;
}

bool drip__maps_parse(struct maps *m, const char *buf)
{
    memset(m, 0, sizeof *m);
    for (const char *p = buf; *p;) {
        const char *line = p;
        uintptr_t lo = drip__maps_hex(&p);
        p++;
        uintptr_t hi = drip__maps_hex(&p);
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
            /* no file and no special mapping ([vdso] is filled by the kernel on first touch) */
            int zero = !name && p[3] == 'p' &&
                       (!br || !strncmp(br, "[heap]", 6) || !strncmp(br, "[stack]", 7) || !strncmp(br, "[anon:", 6));
            if (rs->n && rs->r[rs->n - 1].hi == lo && rs->r[rs->n - 1].how == how && rs->r[rs->n - 1].zero == zero)
                rs->r[rs->n - 1].hi = hi;
            else if (drip__rs_add_how(rs, lo, hi, how))
                rs->r[rs->n - 1].zero = zero;
            else
                break;
        }
        p = *eol ? eol + 1 : eol;
    }
    return true;
}

int drip__how_of(const struct maps *m, const struct range *r) { return r->how > m->racy ? r->how : m->racy; }

/* Adds [lo, hi) minus drip's arena (which holds a copy of every block address). */
static void add_not_arena(struct rangeset *out, uintptr_t lo, uintptr_t hi, int how)
{
    uintptr_t alo, ahi;
    drip__arena_range(&alo, &ahi);
    if (hi <= alo || lo >= ahi) {
        drip__rs_add_how(out, lo, hi, how);
        return;
    }
    if (lo < alo)
        drip__rs_add_how(out, lo, alo, how);
    if (hi > ahi)
        drip__rs_add_how(out, ahi, hi, how);
}

enum { PAGE = 4096, MIN_SPARSE_PAGES = 8 };   /* a smaller piece is read whole: one open costs more */

/* /proc/self/pagemap, opened for one scan's roots (never left open for the program to see); -1
 * when it cannot be read or cannot be trusted (then every page is read). It is trusted once it
 * shows the page of this very frame present. */
static int pagemap_open(void)
{
    int fd = drip__proc_open("self/pagemap", O_RDONLY | O_CLOEXEC);
    uint64_t e = 0;
    uintptr_t here = (uintptr_t)&e;
    if (fd >= 0 && (pread(fd, &e, sizeof e, (off_t)(here / PAGE * sizeof e)) != (ssize_t)sizeof e || !(e >> 63))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Adds the pages of [a, b) (in a private anonymous mapping) that are present or swapped out. */
static void add_touched(struct rangeset *out, int fd, uintptr_t a, uintptr_t b, int how)
{
    uint64_t e[512];
    uintptr_t run = 0;   /* start of the touched run being gathered; 0: none */
    for (uintptr_t pg = a / PAGE * PAGE; pg < b;) {
        size_t want = (b - pg + PAGE - 1) / PAGE;
        if (want > sizeof e / sizeof *e)
            want = sizeof e / sizeof *e;
        ssize_t got = pread(fd, e, want * sizeof *e, (off_t)(pg / PAGE * sizeof *e));
        if (got < (ssize_t)sizeof *e) {   /* cannot tell: the rest is read */
            add_not_arena(out, run ? run : (pg > a ? pg : a), b, how);
            return;
        }
        for (size_t k = 0; k < (size_t)got / sizeof *e; k++, pg += PAGE) {
            bool touched = (e[k] >> 62) != 0;   /* bit 63 present, bit 62 swapped */
            if (touched && !run)
                run = pg > a ? pg : a;
            else if (!touched && run) {
                add_not_arena(out, run, pg, how);
                run = 0;
            }
        }
    }
    if (run)
        add_not_arena(out, run, b, how);
}

/* Clips [lo, hi) to the readable mappings and adds the pieces to `out`. */
void drip__add_readable(struct rangeset *out, const struct maps *m, uintptr_t lo, uintptr_t hi, int *pagemap)
{
    int fd = *pagemap;   /* -2: not opened yet */
    for (size_t i = 0; i < m->readable.n; i++) {
        uintptr_t a = m->readable.r[i].lo > lo ? m->readable.r[i].lo : lo;
        uintptr_t b = m->readable.r[i].hi < hi ? m->readable.r[i].hi : hi;
        if (a >= b)
            continue;
        if (m->readable.r[i].zero && b - a >= MIN_SPARSE_PAGES * PAGE && fd == -2)
            fd = pagemap_open();
        if (m->readable.r[i].zero && b - a >= MIN_SPARSE_PAGES * PAGE && fd >= 0)
            add_touched(out, fd, a, b, drip__how_of(m, &m->readable.r[i]));
        else
            add_not_arena(out, a, b, drip__how_of(m, &m->readable.r[i]));
    }
    *pagemap = fd;
}

void drip__pagemap_close(int *pagemap)
{
    if (*pagemap >= 0)
        close(*pagemap);
    *pagemap = -2;
}

/* Can [lo, hi) be read directly, in one piece? */
bool drip__maps_direct(const struct maps *m, uintptr_t lo, uintptr_t hi)
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
