/* suppress.c — see suppress.h (valgrind's entries: suppress_vg.c). No locks. */
#include "suppress.h"
#include "suppress_vg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Glob match of the whole of s against p[0..plen) where '*' matches any run of characters, and
 * with qmark '?' any one (valgrind's patterns; LeakSanitizer's take '?' as itself): greedy,
 * remembering only the last star, so it runs in O(len(p) * len(s)) however many stars the
 * pattern has (a recursive matcher is exponential on patterns like *a*a*a*b). */
static int glob(const char *p, size_t plen, const char *s, int qmark)
{
    size_t pi = 0, star = (size_t)-1;
    const char *mark = NULL;
    while (*s) {
        if (pi < plen && p[pi] == '*') {
            star = pi++;
            mark = s;
        } else if (pi < plen && (p[pi] == *s || (qmark && p[pi] == '?'))) {
            pi++;
            s++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            s = ++mark;
        } else {
            return 0;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

int drip__vg_glob(const char *p, const char *s) { return glob(p, strlen(p), s, 1); }

/* LeakSanitizer's template match: the pattern may occur anywhere in s unless anchored with a
 * leading '^' or a trailing '$'; '*' matches any run of characters. */
int drip__template_match(const char *pattern, const char *s)
{
    if (!pattern || !s)
        return 0;
    int start = pattern[0] == '^';
    if (start)
        pattern++;
    size_t n = strlen(pattern);
    int end = n && pattern[n - 1] == '$';
    if (end)
        n--;
    char buf[1030];
    if (n + 2 >= sizeof buf)
        return 0;
    size_t k = 0;
    if (!start)
        buf[k++] = '*';
    memcpy(buf + k, pattern, n);
    k += n;
    if (!end)
        buf[k++] = '*';
    return glob(buf, k, s, 0);
}

int drip__supp_next_line(const char *text, size_t len, size_t *pos, int *lineno, size_t *a, size_t *b)
{
    while (*pos < len) {
        size_t j = *pos;
        while (j < len && text[j] != '\n')
            j++;
        ++*lineno;
        *a = *pos;
        *b = j;
        *pos = j + 1;
        while (*a < *b && (text[*a] == ' ' || text[*a] == '\t' || text[*a] == '\r'))
            ++*a;
        while (*b > *a && (text[*b - 1] == ' ' || text[*b - 1] == '\t' || text[*b - 1] == '\r'))
            --*b;
        if (*a < *b && text[*a] != '#')
            return 1;
    }
    return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, int line, const char *detail)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, line, detail);
}

/* Room for one more entry; 0, or -1 out of memory. */
static int grow(struct drip_suppressions *s, size_t *cap)
{
    if (s->n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    char **p = realloc(s->patterns, c * sizeof *p);
    if (p)
        s->patterns = p;
    uint64_t *h = p ? realloc(s->hits, c * sizeof *h) : NULL;
    if (h)
        s->hits = h;
    struct drip_vg_supp **v = h ? realloc(s->vg, c * sizeof *v) : NULL;
    if (!v)
        return -1;
    s->vg = v;
    *cap = c;
    return 0;
}

int drip__suppressions_parse(struct drip_suppressions *s, const char *text, size_t len, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    size_t cap = 0;
    int lineno = 0;
    size_t i = 0, a, b;
    while (drip__supp_next_line(text, len, &i, &lineno, &a, &b)) {
        if (memchr(text + a, 0, b - a)) {
            /* a NUL would cut the pattern short, down to nothing, which matches every leak */
            set_err(err, errlen, "line %d: %s", lineno, "contains a NUL byte");
            drip__suppressions_free(s);
            return -1;
        }
        if (b - a == 1 && text[a] == '{') {   /* a valgrind entry, up to its "}" line */
            struct drip_vg_supp *v;
            char *name;
            if (drip__vg_supp_parse(text, len, &i, &lineno, &v, &name, err, errlen) != 0) {
                drip__suppressions_free(s);
                return -1;
            }
            if (grow(s, &cap) != 0) {
                drip__vg_supp_free(v);
                free(name);
                set_err(err, errlen, "line %d: %s", lineno, strerror(ENOMEM));
                drip__suppressions_free(s);
                return -1;
            }
            s->patterns[s->n] = name;
            s->vg[s->n] = v;
            s->hits[s->n++] = 0;
            continue;
        }
        const char *colon = memchr(text + a, ':', b - a);
        if (!colon || (size_t)(colon - (text + a)) != 4 || memcmp(text + a, "leak", 4) != 0) {
            if (err && errlen)
                snprintf(err, errlen, "line %d: expected 'leak:<pattern>' or a valgrind '{' entry, got '%.*s'", lineno,
                         (int)(b - a > 200 ? 200 : b - a), text + a);
            drip__suppressions_free(s);
            return -1;
        }
        size_t plen = b - (size_t)(colon + 1 - text);
        if (plen == 0 || plen >= 1024) {
            set_err(err, errlen, "line %d: %s", lineno, plen ? "pattern too long" : "empty pattern");
            drip__suppressions_free(s);
            return -1;
        }
        if (grow(s, &cap) != 0) {
            set_err(err, errlen, "line %d: %s", lineno, strerror(ENOMEM));
            drip__suppressions_free(s);
            return -1;
        }
        char *pat = strndup(colon + 1, plen);
        if (!pat) {
            set_err(err, errlen, "line %d: %s", lineno, strerror(ENOMEM));
            drip__suppressions_free(s);
            return -1;
        }
        s->patterns[s->n] = pat;
        s->vg[s->n] = NULL;
        s->hits[s->n++] = 0;
    }
    return 0;
}

static int load_one(struct drip_suppressions *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read suppressions file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            snprintf(err, errlen, "cannot read suppressions file %s: %s", path, strerror(e));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (!buf) {
        snprintf(err, errlen, "cannot read suppressions file %s: %s", path, strerror(ENOMEM));
        return -1;
    }
    char inner[512];
    int rc = drip__suppressions_parse(s, buf, len, inner, sizeof inner);
    free(buf);
    if (rc != 0)
        snprintf(err, errlen, "suppressions file %s: %s", path, inner);
    return rc;
}

/* Moves every entry of `from` to the end of `to`. */
static int take_all(struct drip_suppressions *to, size_t *cap, struct drip_suppressions *from)
{
    for (size_t i = 0; i < from->n; i++) {
        if (grow(to, cap) != 0)
            return -1;
        to->patterns[to->n] = from->patterns[i];
        to->vg[to->n] = from->vg ? from->vg[i] : NULL;
        to->hits[to->n++] = 0;
        from->patterns[i] = NULL;
        if (from->vg)
            from->vg[i] = NULL;
    }
    return 0;
}

int drip__suppressions_load(struct drip_suppressions *s, const char *paths, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    size_t cap = 0;
    for (const char *p = paths; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char path[4096];
        if (n && n < sizeof path) {
            memcpy(path, p, n);
            path[n] = 0;
            struct drip_suppressions one;
            if (load_one(&one, path, err, errlen) != 0) {
                drip__suppressions_free(s);
                return -1;
            }
            int rc = take_all(s, &cap, &one);
            drip__suppressions_free(&one);
            if (rc != 0) {
                snprintf(err, errlen, "suppressions file %s: %s", path, strerror(ENOMEM));
                drip__suppressions_free(s);
                return -1;
            }
        }
        p += n + (nl != NULL);
    }
    return 0;
}

int drip__suppressions_match_kind(const struct drip_suppressions *s, unsigned kind, const struct drip_frame *frames,
                                  size_t n)
{
    for (size_t p = 0; p < s->n; p++) {
        if (s->vg && s->vg[p]) {
            if (drip__vg_supp_match(s->vg[p], kind, frames, n))
                return (int)p;
            continue;
        }
        if (kind == DRIP_SUPP_REACHABLE)   /* LeakSanitizer's lines are for leaks only */
            continue;
        for (size_t i = 0; i < n; i++)
            if (drip__template_match(s->patterns[p], frames[i].function) ||
                drip__template_match(s->patterns[p], frames[i].file) ||
                drip__template_match(s->patterns[p], frames[i].module))
                return (int)p;
    }
    return -1;
}

int drip__suppressions_match(const struct drip_suppressions *s, const struct drip_frame *frames, size_t n)
{
    return drip__suppressions_match_kind(s, DRIP_SUPP_DEFINITE, frames, n);
}

int drip__suppressions_have_vg(const struct drip_suppressions *s)
{
    for (size_t p = 0; s->vg && p < s->n; p++)
        if (s->vg[p])
            return 1;
    return 0;
}

void drip__suppressions_free(struct drip_suppressions *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->patterns[i]);
        if (s->vg)
            drip__vg_supp_free(s->vg[i]);
    }
    free(s->patterns);
    free(s->hits);
    free(s->vg);
    memset(s, 0, sizeof *s);
}

/* ---- making a suppression from a record (--gen-suppressions, drip suppress) ---------------- */
static int runtime_module(const char *mod)
{
    if (!mod)
        return 0;
    const char *b = strrchr(mod, '/');
    b = b ? b + 1 : mod;
    static const char *const libs[] = {"libc.so", "libc-", "ld-linux", "ld-musl", "libstdc++.so", "libgcc_s.so",
                                       "libdrip.so"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        if (!strncmp(b, libs[i], strlen(libs[i])))
            return 1;
    return 0;
}

static int one_line(char *out)
{
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '*';
    return 0;
}

int drip__suppression_pattern(const struct drip_frame *f, size_t n, char *out, size_t cap)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].function && *f[i].function && !runtime_module(f[i].module)) {
            /* '*' in a C++ name is itself a wildcard and still matches the name */
            snprintf(out, cap, "^%s$", f[i].function);
            return one_line(out);
        }
    /* no named frame: the first module outside the runtime (a stripped library) */
    for (size_t i = 0; i < n; i++)
        if (f[i].module && *f[i].module && !runtime_module(f[i].module)) {
            snprintf(out, cap, "%s", f[i].module);
            return one_line(out);
        }
    return -1;
}
