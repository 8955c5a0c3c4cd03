/* symcache.c — see symcache.h.
 *
 * A cache file is mapped read-only, not read: its lines are sorted by offset (as written here),
 * and a lookup finds its line by binary search, so a report that names 30 frames of libpython
 * touches a few pages of a 9,000-line file instead of parsing all of it into a table (1,000 page
 * faults and 12M instructions per `drip symbolize`, most of its cost). What a lookup finds, and
 * what the symbolizer learns, goes into a small in-memory table (the overlay) that answers first.
 * A file whose lines are not sorted (hand-edited, or written by an older drip in hash order) only
 * misses: the missed names are looked up again and the file is rewritten sorted at close.
 * The file is replaced by rename, never written in place, so a mapping of it stays whole.
 * Locks: none (one thread). */
#include "symcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file format's version, on its first line. 5: a sixth field, valgrind's name of the
 * symbol, and a seventh, the inlined calls at the address. A file of another version is not read
 * (version 2's entries lack the names that valgrind's suppressions match: read, they would make a
 * suppression miss) and is replaced at close. */
enum { FORMAT = 5 };
enum { MAX_DIR_BYTES = 64 << 20, TRIM_TO_BYTES = 48 << 20, MAX_ENTRIES = 1 << 20, MAX_KEPT = 64 };

struct centry {
    uintptr_t off;
    int lines, line, used;
    char *function, *file, *symbol;   /* symbol: NULL when it is the function's name */
    char *inlined;                     /* inlined calls' names joined by \x1f; NULL: none */
};

struct fence {
    const char *line;
    uintptr_t off;
};

struct drip_symcache {
    char path[PATH_MAX + 64], dir[PATH_MAX], debug[96];
    const char *map;         /* the file, mapped; NULL: none or not this stamp's */
    size_t maplen;
    const char *body, *end;  /* its lines: after the header, up to the last whole line */
    struct fence *fence;     /* the first line of each page and its offset; built on first lookup */
    size_t nfence;
    struct centry *e;        /* the overlay: entries looked up or learned in this process */
    size_t n, cap;           /* cap: a power of two, open addressing */
    int dirty;               /* something was learned: the file is rewritten at close */
    char **old;      /* strings of replaced entries: a frame named earlier in this report may still
                      * point to them (a function first asked without its line, then with it) */
    size_t nold, capold;
};

/* Keeps s until the cache is closed (the strings drip_symcache_get gave out live that long). */
static void retire(struct drip_symcache *c, char *s)
{
    if (!s)
        return;
    if (c->nold == c->capold) {
        size_t nc = c->capold ? c->capold * 2 : 16;
        char **n = realloc(c->old, nc * sizeof *n);
        if (!n)
            return;   /* leaked rather than freed under a reader */
        c->old = n;
        c->capold = nc;
    }
    c->old[c->nold++] = s;
}

static size_t slot(const struct drip_symcache *c, uintptr_t off)
{
    size_t h = (size_t)((off * 0x9e3779b97f4a7c15ULL) >> 20) & (c->cap - 1);
    while (c->e[h].used && c->e[h].off != off)
        h = (h + 1) & (c->cap - 1);
    return h;
}

static int grow(struct drip_symcache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64;
    struct centry *e = calloc(cap, sizeof *e);
    if (!e)
        return -1;
    struct centry *old = c->e;
    size_t oldcap = c->cap;
    c->e = e;
    c->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].used)
            c->e[slot(c, old[i].off)] = old[i];
    free(old);
    return 0;
}

/* drip run's symbolizer server (symserve.c) answers every process of a run: the caches it opened
 * stay open between requests (keyed by file and debug file stamp), instead of being opened again
 * for each `$(echo)` subshell. No locks: one thread; a worker forked from the server inherits
 * them. */
static struct drip_symcache *kept[MAX_KEPT];
static int nkept, keep_mode;

static char *dup_or_null(const char *s, size_t n) { return n ? strndup(s, n) : NULL; }

/* Into the overlay. -1 when it is full or out of memory (the entry is then not kept). */
static int insert(struct drip_symcache *c, uintptr_t off, int lines, const char *fn, size_t fnlen, const char *file,
                  size_t filelen, int line, const char *sym, size_t symlen, const char *inl, size_t inllen)
{
    if (c->n >= MAX_ENTRIES || ((c->n + 1) * 2 > c->cap && grow(c) != 0))
        return -1;
    struct centry *e = &c->e[slot(c, off)];
    if (e->used) {
        retire(c, e->function);
        retire(c, e->file);
        retire(c, e->symbol);
        retire(c, e->inlined);
    } else {
        c->n++;
    }
    *e = (struct centry){off, lines, line, 1, dup_or_null(fn, fnlen), dup_or_null(file, filelen),
                         dup_or_null(sym, symlen), dup_or_null(inl, inllen)};
    return 0;
}

/* The separate debug file's identity (size and time), "-" when there is none. */
static void debug_stamp(const char *build_id, char *out, size_t cap)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id, build_id + 2);
    struct stat st;
    if (stat(p, &st) == 0)
        snprintf(out, cap, "%lld:%lld", (long long)st.st_size, (long long)st.st_mtime);
    else
        snprintf(out, cap, "-");
}

/* One line of the file, [s, nl) with *nl == '\n': "offset TAB lines TAB line TAB function TAB
 * file [TAB symbol [TAB inlined]]" (symbol: valgrind's name of the symbol, mangled, with its
 * version, when it is not the function's; inlined: the names of the calls inlined at the
 * address, innermost first, joined by \x1f; both since version 5 of the format). Its fields: a
 * line of fewer than five fields is no entry (0), the file field ends at a fifth tab if any, the
 * symbol field at a sixth, the inlined field at the end of the line (both empty when absent). */
struct fline {
    uintptr_t off;
    int lines, line;
    const char *fn, *file, *sym, *inl;
    size_t fnlen, filelen, symlen, inllen;
};

/* The offset at the start of a line: hex digits up to the tab (as written by %lx; upper case is
 * read too). Not strtoull: a lookup reads a dozen of them in its search. */
static uintptr_t line_off(const char *s)
{
    uintptr_t v = 0;
    for (;; s++) {
        unsigned c = (unsigned char)*s, d = c - '0';
        if (d > 9) {
            d = (c | 0x20) - 'a';
            if (d > 5)
                return v;
            d += 10;
        }
        v = v << 4 | d;
    }
}

static int parse_line(const char *s, const char *nl, struct fline *l)
{
    const char *f[5], *p = s;
    size_t len[5];
    for (int k = 0; k < 5; k++) {
        const char *t = memchr(p, '\t', (size_t)(nl - p));
        if (!t && k < 4)
            return 0;
        f[k] = p;
        len[k] = (size_t)((t ? t : nl) - p);
        p = t ? t + 1 : nl;
    }
    l->off = line_off(f[0]);
    l->lines = atoi(f[1]);   /* atoi and strtoull stop at the tab, within the line */
    l->line = atoi(f[2]);
    l->fn = f[3];
    l->fnlen = len[3];
    l->file = f[4];
    l->filelen = len[4];
    const char *t = memchr(p, '\t', (size_t)(nl - p));
    l->sym = p;
    l->symlen = (size_t)((t ? t : nl) - p);
    l->inl = t ? t + 1 : nl;
    l->inllen = (size_t)(nl - l->inl);
    return 1;
}

/* The first line starting in each FENCE bytes of the file, with its offset: a lookup finds its
 * stretch among them without reading the file, then searches that stretch's ~20 lines (the
 * search of a 59,000-line file read 16 lines, now 5). One line read per stretch, the first time
 * the file is searched. */
enum { FENCE = 1024 };
static void build_fence(struct drip_symcache *c)
{
    size_t n = (size_t)(c->end - c->body) / FENCE + 1;
    c->fence = malloc(n * sizeof *c->fence);
    if (!c->fence)
        return;
    for (const char *p = c->body; p < c->end; p += FENCE) {
        const char *line = p;
        if (p > c->body && p[-1] != '\n') {
            const char *nl = memchr(p, '\n', (size_t)(c->end - p));
            line = nl ? nl + 1 : c->end;
        }
        if (line >= c->end || (c->nfence && c->fence[c->nfence - 1].line >= line))
            continue;
        c->fence[c->nfence++] = (struct fence){line, line_off(line)};
    }
}

/* The file's line for off, by binary search over lines sorted by offset; 0 when there is none
 * (or the lines are out of order where the search went: a miss, never a wrong answer). */
static int file_find(struct drip_symcache *c, uintptr_t off, struct fline *l)
{
    const char *lo = c->body, *hi = c->end;   /* both at the start of a line */
    if (!c->fence)
        build_fence(c);
    if (c->nfence) {   /* the last page whose first line is at or before off */
        size_t a = 0, b = c->nfence;
        while (a < b) {
            size_t mid = (a + b) / 2;
            if (c->fence[mid].off <= off)
                a = mid + 1;
            else
                b = mid;
        }
        if (a)
            lo = c->fence[a - 1].line;
        if (a < c->nfence)
            hi = c->fence[a].line;
    }
    while (lo < hi) {
        const char *s = lo + (hi - lo) / 2;
        const char *nlb = s > lo ? memrchr(lo, '\n', (size_t)(s - lo)) : NULL;
        s = nlb ? nlb + 1 : lo;   /* the start of the line s is in */
        const char *nl = memchr(s, '\n', (size_t)(hi - s));   /* hi follows a newline */
        uintptr_t v = line_off(s);
        if (v == off)
            return parse_line(s, nl, l);
        if (v < off)
            lo = nl + 1;
        else
            hi = s;
    }
    return 0;
}

/* Maps the file when its header is this version's and this debug file's. */
static void load(struct drip_symcache *c)
{
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    void *m = fstat(fd, &st) == 0 && st.st_size > 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                                                    : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED)
        return;
    c->map = m;
    c->maplen = (size_t)st.st_size;
    char want[160];
    int wl = snprintf(want, sizeof want, "drip-symcache %d %s\n", FORMAT, c->debug);
    const char *last = memrchr(c->map, '\n', c->maplen);   /* a line cut short is not read */
    if (wl <= 0 || (size_t)wl > c->maplen || memcmp(c->map, want, (size_t)wl) || !last) {
        munmap((void *)c->map, c->maplen);
        c->map = NULL;
        return;
    }
    c->body = c->map + wl;
    c->end = last + 1 > c->body ? last + 1 : c->body;
}

struct drip_symcache *drip_symcache_open(const char *build_id)
{
    const char *off = getenv("DRIP_CACHE");
    if (!build_id || strlen(build_id) < 4 || strspn(build_id, "0123456789abcdef") != strlen(build_id) ||
        (off && !strcmp(off, "0")))
        return NULL;
    struct drip_symcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(c->dir, sizeof c->dir, "%s/drip", xdg);
    else if (home && home[0] == '/')
        snprintf(c->dir, sizeof c->dir, "%s/.cache/drip", home);
    else {
        free(c);
        return NULL;
    }
    snprintf(c->path, sizeof c->path, "%s/%s.names", c->dir, build_id);
    debug_stamp(build_id, c->debug, sizeof c->debug);
    for (int i = 0; i < nkept; i++)
        if (!strcmp(kept[i]->path, c->path) && !strcmp(kept[i]->debug, c->debug)) {
            free(c);
            return kept[i];   /* opened by an earlier request of this server */
        }
    load(c);
    if (keep_mode && nkept < MAX_KEPT)
        kept[nkept++] = c;
    return c;
}

void drip_symcache_keep(void) { keep_mode = 1; }

static int is_kept(const struct drip_symcache *c)
{
    for (int i = 0; i < nkept; i++)
        if (kept[i] == c)
            return 1;
    return 0;
}

int drip_symcache_lookup(struct drip_symcache *c, uintptr_t off, int need_lines, const char **function,
                         const char **symbol, const char **inlined, const char **file, int *line)
{
    if (!c)
        return -1;
    struct centry *e = c->cap ? &c->e[slot(c, off)] : NULL;
    if (!e || !e->used) {   /* not asked before in this process: the file's line, if any */
        struct fline l;
        if (!c->map || !file_find(c, off, &l) ||
            insert(c, l.off, l.lines, l.fn, l.fnlen, l.file, l.filelen, l.line, l.sym, l.symlen, l.inl, l.inllen) != 0)
            return -1;
        e = &c->e[slot(c, off)];
    }
    if (need_lines && !e->lines)
        return -1;
    *function = e->function;
    if (symbol)
        *symbol = e->symbol;
    /* looked up with lines, asked without: the answer is the one a first run gives, no line */
    int strip = !need_lines && e->lines == DRIP_SYMCACHE_LINES;
    *file = strip ? NULL : e->file;
    *line = strip ? 0 : e->line;
    if (inlined)   /* found with the lines, from the same debug information */
        *inlined = strip ? NULL : e->inlined;
    return e->lines;
}

int drip_symcache_get(struct drip_symcache *c, uintptr_t off, int need_lines, const char **function,
                      const char **file, int *line)
{
    return drip_symcache_lookup(c, off, need_lines, function, NULL, NULL, file, line) >= 0;
}

void drip_symcache_put(struct drip_symcache *c, uintptr_t off, int lines, const char *function, const char *symbol,
                       const char *inlined, const char *file, int line)
{
    if (!c || (function && strpbrk(function, "\t\n")) || (file && strpbrk(file, "\t\n")) ||
        (symbol && strpbrk(symbol, "\t\n")) || (inlined && strpbrk(inlined, "\t\n")))
        return;
    insert(c, off, lines, function, function ? strlen(function) : 0, file, file ? strlen(file) : 0, line, symbol,
           symbol ? strlen(symbol) : 0, inlined, inlined ? strlen(inlined) : 0);
    c->dirty = 1;
}

static int mkdirs(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

struct cfile { time_t mtime; off_t size; char name[300]; };

static int by_age(const void *a, const void *b)
{
    const struct cfile *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Keeps the directory under MAX_DIR_BYTES: the least recently written files go first. */
static void trim(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct cfile *f = NULL;
    size_t n = 0, cap = 0;
    long long total = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (len < 7 || strcmp(de->d_name + len - 6, ".names") || len >= sizeof f->name)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) != 0)
            continue;
        if (n == cap) {
            struct cfile *nf = realloc(f, (cap = cap ? cap * 2 : 64) * sizeof *nf);
            if (!nf)
                break;
            f = nf;
        }
        f[n].mtime = st.st_mtime;
        f[n].size = st.st_size;
        snprintf(f[n].name, sizeof f[n].name, "%s", de->d_name);
        total += st.st_size;
        n++;
    }
    if (total > MAX_DIR_BYTES) {
        qsort(f, n, sizeof *f, by_age);
        for (size_t i = 0; i < n && total > TRIM_TO_BYTES; i++)
            if (unlinkat(dirfd(d), f[i].name, 0) == 0)
                total -= f[i].size;
    }
    free(f);
    closedir(d);
}

/* One entry to write: a line of the mapped file, or one of the overlay, which wins (seq: later). */
struct out {
    uintptr_t off;
    size_t seq;
    struct fline l;
};

static int by_off(const void *a, const void *b)
{
    const struct out *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The file's entries and the overlay's, sorted by offset, one line per offset (the last one read
 * or learned). -1: out of memory. */
static int write_sorted(const struct drip_symcache *c, FILE *f)
{
    size_t n = 0, cap = c->n + 64;
    struct out *o = malloc(cap * sizeof *o);
    if (!o)
        return -1;
    for (const char *s = c->body, *nl; c->map && s < c->end; s = nl + 1) {
        nl = memchr(s, '\n', (size_t)(c->end - s));
        if (n == cap) {
            struct out *m = realloc(o, (cap *= 2) * sizeof *o);
            if (!m) {
                free(o);
                return -1;
            }
            o = m;
        }
        if (parse_line(s, nl, &o[n].l)) {
            o[n].off = o[n].l.off;
            o[n].seq = n;
            n++;
        }
    }
    if (n + c->n > cap) {
        struct out *m = realloc(o, (cap = n + c->n) * sizeof *o);
        if (!m) {
            free(o);
            return -1;
        }
        o = m;
    }
    for (size_t i = 0; i < c->cap; i++) {
        const struct centry *e = &c->e[i];
        if (!e->used)
            continue;
        o[n] = (struct out){e->off, n, {e->off, e->lines, e->line, e->function, e->file, e->symbol, e->inlined,
                                        e->function ? strlen(e->function) : 0, e->file ? strlen(e->file) : 0,
                                        e->symbol ? strlen(e->symbol) : 0, e->inlined ? strlen(e->inlined) : 0}};
        n++;
    }
    qsort(o, n, sizeof *o, by_off);
    fprintf(f, "drip-symcache %d %s\n", FORMAT, c->debug);
    for (size_t i = 0, kept_n = 0; i < n && kept_n < MAX_ENTRIES; i++)
        if (i + 1 == n || o[i + 1].off != o[i].off) {
            const struct fline *l = &o[i].l;
            int more = l->symlen || l->inllen;   /* no empty fields at the end: a C function's line as before */
            fprintf(f, "%lx\t%d\t%d\t%.*s\t%.*s%s%.*s%s%.*s\n", (unsigned long)o[i].off, l->lines, l->line,
                    (int)l->fnlen, l->fn ? l->fn : "", (int)l->filelen, l->file ? l->file : "", more ? "\t" : "",
                    (int)l->symlen, l->sym ? l->sym : "", l->inllen ? "\t" : "", (int)l->inllen, l->inl ? l->inl : "");
            kept_n++;
        }
    free(o);
    return 0;
}

void drip_symcache_close(struct drip_symcache *c)
{
    if (!c)
        return;
    if (c->dirty && mkdirs(c->dir) == 0) {
        c->dirty = 0;
        char tmp[PATH_MAX + 96];
        snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", c->path);
        int fd = mkstemp(tmp);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f) {
            int bad = write_sorted(c, f) != 0;
            bad |= ferror(f);
            if (fclose(f) != 0 || bad || rename(tmp, c->path) != 0)
                unlink(tmp);
            else
                trim(c->dir);
        } else if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
    }
    if (is_kept(c))
        return;   /* the server's: what it learned is on disk and in the overlay */
    for (size_t i = 0; i < c->cap; i++) {
        free(c->e[i].function);
        free(c->e[i].file);
        free(c->e[i].symbol);
        free(c->e[i].inlined);
    }
    free(c->e);
    for (size_t i = 0; i < c->nold; i++)
        free(c->old[i]);
    free(c->old);
    if (c->map)
        munmap((void *)c->map, c->maplen);
    free(c->fence);
    free(c);
}
