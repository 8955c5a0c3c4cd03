/* prof.c — see prof.h. */
#include "prof.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- interned names -------------------------------------------------------------------------- */

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int names_rehash(struct drip__names *nm, size_t cap)
{
    uint32_t *ht = calloc(cap, sizeof *ht);
    if (!ht)
        return -1;
    for (size_t i = 0; i < nm->n; i++) {
        size_t h = (size_t)hash(nm->s[i], strlen(nm->s[i])) & (cap - 1);
        while (ht[h])
            h = (h + 1) & (cap - 1);
        ht[h] = (uint32_t)i + 1;
    }
    free(nm->ht);
    nm->ht = ht;
    nm->mask = cap - 1;
    return 0;
}

uint32_t drip__names_intern(struct drip__names *nm, const char *s, size_t len)
{
    if (!nm->ht || nm->n * 2 >= nm->mask) {
        if (names_rehash(nm, nm->ht ? (nm->mask + 1) * 2 : 1024))
            goto oom;
    }
    size_t h = (size_t)hash(s, len) & nm->mask;
    for (; nm->ht[h]; h = (h + 1) & nm->mask) {
        const char *t = nm->s[nm->ht[h] - 1];
        if (!strncmp(t, s, len) && t[len] == 0)
            return nm->ht[h] - 1;
    }
    if (nm->n == nm->cap) {
        size_t nc = nm->cap ? nm->cap * 2 : 256;
        char **q = realloc(nm->s, nc * sizeof *q);
        if (!q)
            goto oom;
        nm->s = q;
        nm->cap = nc;
    }
    char *copy = strndup(s, len);
    if (!copy)
        goto oom;
    nm->s[nm->n] = copy;
    nm->ht[h] = (uint32_t)++nm->n;
    return (uint32_t)nm->n - 1;
oom:
    fputs("drip: out of memory\n", stderr);
    exit(2);
}

void drip__names_free(struct drip__names *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        free(nm->s[i]);
    free(nm->s);
    free(nm->ht);
    memset(nm, 0, sizeof *nm);
}

/* ---- opening ----------------------------------------------------------------------------------- */

/* pprof's simplifyFunc: drops a leading '.' and the argument list, keeping the parentheses of
 * "(anonymous namespace)" and "operator()". */
static void simplify(const char *f, char *out, size_t cap)
{
    if (*f == '.')
        f++;
    size_t n = strlen(f);
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(f + i, "(anonymous namespace)", 21)) {
            i += 20;
            continue;
        }
        if (!strncmp(f + i, "operator()", 10)) {
            i += 9;
            continue;
        }
        if (f[i] == '(') {
            n = i;
            break;
        }
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, f, n);
    out[n] = 0;
}

static int rx_compile(regex_t *rx, const char *pat, const char *what, const char *src)
{
    size_t n = strlen(pat) + 8;
    char *full = malloc(n);
    if (!full)
        return -1;
    snprintf(full, n, "^(%s)$", pat);
    int rc = regcomp(rx, full, REG_EXTENDED | REG_NOSUB);
    free(full);
    if (rc)
        fprintf(stderr, "drip: warning: %s: cannot use its %s pattern '%s'; ignored\n", src, what, pat);
    return rc ? -1 : 0;
}

/* pprof's Profile.Prune for drop_frames / keep_frames: per location, cut the inline frames at
 * and below the outermost dropped one (the whole location when that is its outermost frame). */
static void prune_setup(struct drip__prof *pr)
{
    struct drip_pprof *p = pr->p;
    if (!*p->drop_frames)
        return;
    regex_t drop, keep;
    if (rx_compile(&drop, p->drop_frames, "drop_frames", pr->src))
        return;
    int has_keep = *p->keep_frames && !rx_compile(&keep, p->keep_frames, "keep_frames", pr->src);
    pr->loc_prune = calloc(p->nlocations + 1, 1);
    if (!pr->loc_prune)
        goto out;
    char buf[4096];
    for (size_t l = 0; l < p->nlocations; l++) {
        const struct drip_pprof_location *loc = &p->locations[l];
        long i;
        for (i = (long)loc->nlines - 1; i >= 0; i--) {
            uint32_t f = p->lines[loc->first_line + (size_t)i].function;
            if (f == DRIP_PPROF_NONE || !*p->functions[f].name)
                continue;
            simplify(p->functions[f].name, buf, sizeof buf);
            if (!regexec(&drop, buf, 0, NULL, 0) && !(has_keep && !regexec(&keep, buf, 0, NULL, 0)))
                break;
        }
        if (i < 0)
            continue;
        /* as pprof: a location pruned whole keeps its lines (it may survive at the root);
         * a partly pruned one loses its inner frames in every sample */
        pr->loc_prune[l] = i == (long)loc->nlines - 1 ? 1 : 2;
        if (pr->loc_prune[l] == 2)
            pr->loc_skip[l] = (uint32_t)i + 1;
    }
out:
    regfree(&drop);
    if (has_keep)
        regfree(&keep);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int drip__prof_open(struct drip__prof *pr, const char *src, const char *type, struct drip__names *nm)
{
    memset(pr, 0, sizeof *pr);
    pr->src = src;
    char err[1024];
    int rc;
    if (!strncasecmp(src, "http://", 7) || !strncasecmp(src, "https://", 8) || !strncmp(src, "unix:", 5)) {
        char *body;
        size_t len;
        if (drip__http_get(src, &body, &len, err, sizeof err))
            goto fail;
        rc = drip__pprof_read_mem(body, len, src, &pr->p, err, sizeof err);
        free(body);
    } else {
        rc = drip__pprof_read_file(src, &pr->p, err, sizeof err);
    }
    if (rc)
        goto fail;
    struct drip_pprof *p = pr->p;
    if (type) {
        pr->type = drip__pprof_find_type(p, type);
        if (pr->type < 0) {
            int n = snprintf(err, sizeof err, "%s has no sample type '%s' (it has:", src, type);
            for (size_t i = 0; i < p->nsample_types && n > 0 && (size_t)n < sizeof err; i++)
                n += snprintf(err + n, sizeof err - (size_t)n, "%s %s", i ? "," : "", p->sample_types[i].type);
            if (n > 0 && (size_t)n < sizeof err)
                snprintf(err + n, sizeof err - (size_t)n, ")");
            goto fail;
        }
    } else {
        pr->type = drip__pprof_default_type(p);
    }
    pr->unit = p->sample_types[pr->type].unit;

    pr->fn_node = malloc((p->nfunctions + 1) * sizeof *pr->fn_node);
    pr->map_node = malloc((p->nmappings + 1) * sizeof *pr->map_node);
    pr->loc_skip = calloc(p->nlocations + 1, sizeof *pr->loc_skip);
    if (!pr->fn_node || !pr->map_node || !pr->loc_skip) {
        snprintf(err, sizeof err, "%s: out of memory", src);
        goto fail;
    }
    char buf[4200];
    for (size_t i = 0; i < p->nfunctions; i++) {
        const char *name = p->functions[i].name;
        pr->fn_node[i] = *name ? drip__names_intern(nm, name, strlen(name)) : DRIP_PPROF_NONE;
    }
    for (size_t i = 0; i < p->nmappings; i++) {
        if (*p->mappings[i].file) {
            int k = snprintf(buf, sizeof buf, "[%s]", base_name(p->mappings[i].file));
            pr->map_node[i] = drip__names_intern(nm, buf, (size_t)k < sizeof buf ? (size_t)k : sizeof buf - 1);
        } else {
            pr->map_node[i] = DRIP_PPROF_NONE;
        }
    }
    pr->unknown_node = drip__names_intern(nm, "<unknown>", 9);
    size_t maxl = 1;
    for (size_t i = 0; i < p->nlocations; i++)
        if (p->locations[i].nlines > maxl)
            maxl = p->locations[i].nlines;
    pr->max_frames = p->max_depth * maxl + 1;
    prune_setup(pr);
    return 0;
fail:
    fprintf(stderr, "drip: %s\n", err);
    drip__prof_close(pr);
    return 2;
}

void drip__prof_close(struct drip__prof *pr)
{
    drip__pprof_free(pr->p);
    free(pr->fn_node);
    free(pr->map_node);
    free(pr->loc_skip);
    free(pr->loc_prune);
    memset(pr, 0, sizeof *pr);
}

size_t drip__prof_frames(const struct drip__prof *pr, const struct drip_pprof_entry *e, uint32_t *out)
{
    const struct drip_pprof *p = pr->p;
    size_t first = 0; /* locations [first, nlocs) survive pruning */
    if (pr->loc_prune) {
        int found_user = 0;
        for (size_t i = e->nlocs; i-- > 0;) {
            uint8_t k = pr->loc_prune[e->locs[i]];
            if (!k) {
                found_user = 1;
                continue;
            }
            if (!found_user)
                continue;
            first = k == 1 ? i + 1 : i;
            break;
        }
    }
    size_t n = 0;
    for (size_t i = first; i < e->nlocs; i++) {
        const struct drip_pprof_location *loc = &p->locations[e->locs[i]];
        uint32_t skip = pr->loc_skip[e->locs[i]];
        if (loc->nlines == 0) {
            uint32_t m = loc->mapping;
            out[n++] = m != DRIP_PPROF_NONE && pr->map_node[m] != DRIP_PPROF_NONE ? pr->map_node[m] : pr->unknown_node;
            continue;
        }
        for (uint32_t j = skip; j < loc->nlines; j++) {
            const struct drip_pprof_line *ln = &p->lines[loc->first_line + j];
            uint32_t id = ln->function != DRIP_PPROF_NONE ? pr->fn_node[ln->function] : DRIP_PPROF_NONE;
            if (id == DRIP_PPROF_NONE) {
                uint32_t m = loc->mapping;
                id = m != DRIP_PPROF_NONE && pr->map_node[m] != DRIP_PPROF_NONE ? pr->map_node[m] : pr->unknown_node;
            }
            out[n++] = id;
        }
    }
    return n;
}

/* ---- formatting --------------------------------------------------------------------------------- */

enum unit_kind { U_COUNT, U_BYTES, U_NANOS };

/* The unit family and the factor to its base (bytes, nanoseconds), as pprof's sniffUnit. */
static enum unit_kind unit_of(const char *unit, double *factor)
{
    char u[32];
    size_t n = strlen(unit);
    if (n >= sizeof u)
        return U_COUNT;
    for (size_t i = 0; i <= n; i++)
        u[i] = (char)(unit[i] >= 'A' && unit[i] <= 'Z' ? unit[i] + 32 : unit[i]);
    if (n > 2 && u[n - 1] == 's')
        u[--n] = 0;
    static const struct { const char *a; enum unit_kind k; double f; } t[] = {
        {"b", U_BYTES, 1}, {"byte", U_BYTES, 1}, {"kb", U_BYTES, 1024}, {"kbyte", U_BYTES, 1024},
        {"kilobyte", U_BYTES, 1024}, {"mb", U_BYTES, 1 << 20}, {"mbyte", U_BYTES, 1 << 20},
        {"megabyte", U_BYTES, 1 << 20}, {"gb", U_BYTES, 1 << 30}, {"gigabyte", U_BYTES, 1 << 30},
        {"ns", U_NANOS, 1}, {"nanosecond", U_NANOS, 1}, {"us", U_NANOS, 1e3}, {"microsecond", U_NANOS, 1e3},
        {"ms", U_NANOS, 1e6}, {"millisecond", U_NANOS, 1e6}, {"s", U_NANOS, 1e9}, {"sec", U_NANOS, 1e9},
        {"second", U_NANOS, 1e9}, {"hour", U_NANOS, 3.6e12}, {"hr", U_NANOS, 3.6e12},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(u, t[i].a)) {
            *factor = t[i].f;
            return t[i].k;
        }
    *factor = 1;
    return U_COUNT;
}

/* "%.2f" without a trailing ".00", as pprof prints scaled values. */
static void two_places(char *buf, size_t cap, double v, const char *suffix)
{
    char num[64];
    snprintf(num, sizeof num, "%.2f", v);
    size_t n = strlen(num);
    if (n > 3 && !strcmp(num + n - 3, ".00"))
        num[n - 3] = 0;
    snprintf(buf, cap, "%s%s", num, suffix);
}

void drip__fmt_value(char *buf, size_t cap, int64_t v, const char *unit)
{
    if (v == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    double f;
    enum unit_kind k = unit_of(unit, &f);
    double x = (double)v * f, ax = fabs(x);
    if (k == U_BYTES) {
        static const char *const suf[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int i = 0;
        while (i < 6 && ax >= 1024.0) {
            ax /= 1024.0;
            x /= 1024.0;
            i++;
        }
        if (i == 0 && f == 1)
            snprintf(buf, cap, "%lldB", (long long)v);
        else
            two_places(buf, cap, x, suf[i]);
    } else if (k == U_NANOS) {
        static const struct { double f; const char *s; } t[] = {
            {3.6e12, "hrs"}, {6e10, "mins"}, {1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};
        size_t i = 0;
        while (i < 5 && ax < t[i].f)
            i++;
        two_places(buf, cap, x / t[i].f, t[i].s);
    } else if (ax < 10000) {
        snprintf(buf, cap, "%lld", (long long)v);
    } else {
        static const struct { double f; const char *s; } t[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
        size_t i = 0;
        while (i < 3 && ax < t[i].f)
            i++;
        two_places(buf, cap, x / t[i].f, t[i].s);
    }
}

void drip__fmt_pct(char *buf, size_t cap, int64_t v, int64_t total)
{
    double r = total ? fabs((double)v / (double)total) * 100 : 0;
    if (r >= 99.95 && r <= 100.05)
        snprintf(buf, cap, "  100%%");
    else if (r >= 1.0)
        snprintf(buf, cap, "%5.2f%%", r);
    else
        snprintf(buf, cap, "%5.2g%%", r); /* C's %g matches Go's here, exponent included */
}

void drip__fmt_time(char *buf, size_t cap, int64_t nanos)
{
    time_t t = (time_t)(nanos / 1000000000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, cap, "%b %-d, %Y at %-I:%M%P (%Z)", &tm);
}
