/* symcache.c — see symcache.h. */
#include "symcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_DIR_BYTES = 64 << 20, TRIM_TO_BYTES = 48 << 20, MAX_ENTRIES = 1 << 20, MAX_KEPT = 64 };

struct centry {
    uintptr_t off;
    int lines, line, used;
    char *function, *file;
};

struct drip_symcache {
    char path[PATH_MAX + 64], dir[PATH_MAX], debug[96];
    struct centry *e;
    size_t n, cap;   /* cap: a power of two, open addressing */
    int dirty;
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
    size_t cap = c->cap ? c->cap * 2 : 1024;
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

/* drip run's symbolizer server (symserve.c) answers every process of a run: the caches it read
 * stay loaded between requests (keyed by file and debug file stamp), instead of being read
 * again for each `$(echo)` subshell. No locks: one thread; a worker forked from the server
 * inherits them. */
static struct drip_symcache *kept[MAX_KEPT];
static int nkept, keep_mode;

static char *dup_or_null(const char *s, size_t n) { return n ? strndup(s, n) : NULL; }

static void insert(struct drip_symcache *c, uintptr_t off, int lines, const char *fn, size_t fnlen, const char *file,
                   size_t filelen, int line)
{
    if (c->n >= MAX_ENTRIES || ((c->n + 1) * 2 > c->cap && grow(c) != 0))
        return;
    struct centry *e = &c->e[slot(c, off)];
    if (e->used) {
        retire(c, e->function);
        retire(c, e->file);
    } else {
        c->n++;
    }
    *e = (struct centry){off, lines, line, 1, dup_or_null(fn, fnlen), dup_or_null(file, filelen)};
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

static void load(struct drip_symcache *c)
{
    FILE *f = fopen(c->path, "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    char want[160];
    snprintf(want, sizeof want, "drip-symcache 2 %s\n", c->debug);
    if (n > 0 && !strcmp(line, want)) {
        while ((n = getline(&line, &cap, f)) > 0) {
            if (line[n - 1] != '\n')
                break;   /* cut short: keep what came before */
            line[--n] = 0;
            char *fields[5];
            int k = 0;
            for (char *p = line; k < 5; k++) {
                fields[k] = p;
                char *t = strchr(p, '\t');
                if (!t) {
                    k++;
                    break;
                }
                *t = 0;
                p = t + 1;
            }
            if (k != 5)
                continue;
            insert(c, (uintptr_t)strtoull(fields[0], NULL, 16), atoi(fields[1]), fields[3], strlen(fields[3]),
                   fields[4], strlen(fields[4]), atoi(fields[2]));
        }
    }
    free(line);
    fclose(f);
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
            return kept[i];   /* read by an earlier request of this server */
        }
    load(c);
    c->dirty = 0;
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
                         const char **file, int *line)
{
    if (!c || !c->cap)
        return -1;
    struct centry *e = &c->e[slot(c, off)];
    if (!e->used || (need_lines && !e->lines))
        return -1;
    *function = e->function;
    /* looked up with lines, asked without: the answer is the one a first run gives, no line */
    int strip = !need_lines && e->lines == DRIP_SYMCACHE_LINES;
    *file = strip ? NULL : e->file;
    *line = strip ? 0 : e->line;
    return e->lines;
}

int drip_symcache_get(struct drip_symcache *c, uintptr_t off, int need_lines, const char **function,
                      const char **file, int *line)
{
    return drip_symcache_lookup(c, off, need_lines, function, file, line) >= 0;
}

void drip_symcache_put(struct drip_symcache *c, uintptr_t off, int lines, const char *function, const char *file,
                       int line)
{
    if (!c || (function && strpbrk(function, "\t\n")) || (file && strpbrk(file, "\t\n")))
        return;
    insert(c, off, lines, function, function ? strlen(function) : 0, file, file ? strlen(file) : 0, line);
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
            fprintf(f, "drip-symcache 2 %s\n", c->debug);
            for (size_t i = 0; i < c->cap; i++)
                if (c->e[i].used)
                    fprintf(f, "%lx\t%d\t%d\t%s\t%s\n", (unsigned long)c->e[i].off, c->e[i].lines, c->e[i].line,
                            c->e[i].function ? c->e[i].function : "", c->e[i].file ? c->e[i].file : "");
            int bad = ferror(f);
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
        return;   /* the server's: what it learned is on disk, the next request reads it here */
    for (size_t i = 0; i < c->cap; i++) {
        free(c->e[i].function);
        free(c->e[i].file);
    }
    free(c->e);
    for (size_t i = 0; i < c->nold; i++)
        free(c->old[i]);
    free(c->old);
    free(c);
}
