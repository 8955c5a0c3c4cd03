/* raw.c — see raw.h: escaping, the option dump, the parser and module+offset naming.
 * Allocates through libc: in a traced process, call it with drip's guard set. */
#include "raw.h"
#include "fastfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const drip_raw_kind_names[5] = {"unreached", "reachable", "possible", "indirect", "definite"};

/* ---- writing ------------------------------------------------------------------------------- */
void drip__raw_put_str(struct drip_writer *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char buf[256];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (n > sizeof buf - 4) {
            drip__write(w, buf, n);
            n = 0;
        }
        if (*p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '=') {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        } else {
            buf[n++] = (char)*p;
        }
    }
    drip__write(w, buf, n);
}

void drip__raw_put_kv(struct drip_writer *w, const char *key, const char *s)
{
    drip__printf(w, " %s=", key);
    drip__raw_put_str(w, s);
}

void drip__raw_put_options(struct drip_writer *w, const struct drip_options *o)
{
    /* the table gives each option's type; the struct holds them in table order */
#define DRIP_RAW_OPT_BOOL(n) drip__printf(w, "opt name=%s value=%d\n", #n, o->n);
#define DRIP_RAW_OPT_INT(n) drip__printf(w, "opt name=%s value=%ld\n", #n, (long)o->n);
#define DRIP_RAW_OPT_SIZE(n) drip__printf(w, "opt name=%s value=%llu\n", #n, (unsigned long long)o->n);
#define DRIP_RAW_OPT_DURATION(n) drip__printf(w, "opt name=%s value=%llums\n", #n, (unsigned long long)o->n);
#define DRIP_RAW_OPT_STR(n) do { drip__printf(w, "opt name=%s", #n); drip__raw_put_kv(w, "value", o->n); drip__puts(w, "\n"); } while (0);
#define DRIP_RAW_OPT(name, type, def, help) DRIP_RAW_OPT_##type(name)
    DRIP_OPTION_TABLE(DRIP_RAW_OPT)
#undef DRIP_RAW_OPT
}

/* ---- reading ------------------------------------------------------------------------------- */
static int unhex(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

/* Decodes an escaped value of n bytes into a new string (NULL when out of memory). */
static char *unescape(const char *s, size_t n)
{
    char *d = malloc(n + 1), *o = d;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
            *o++ = (char)(unhex(s[i + 1]) * 16 + unhex(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return d;
}

struct field { const char *k, *v; size_t klen, vlen; };
enum { MAX_FIELDS = 32 };

static int split(const char *line, size_t len, struct field *f)
{
    int n = 0;
    size_t i = 0;
    while (i < len && line[i] != ' ')
        i++;   /* the tag */
    while (i < len && n < MAX_FIELDS) {
        while (i < len && line[i] == ' ')
            i++;
        size_t s = i;
        while (i < len && line[i] != ' ')
            i++;
        const char *eq = memchr(line + s, '=', i - s);
        if (!eq)
            continue;
        f[n++] = (struct field){line + s, eq + 1, (size_t)(eq - (line + s)), (size_t)(line + i - (eq + 1))};
    }
    return n;
}

static const struct field *get(const struct field *f, int n, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < n; i++)
        if (f[i].klen == kl && !memcmp(f[i].k, key, kl))
            return &f[i];
    return NULL;
}

static unsigned long long num(const struct field *f, int n, const char *key, int base)
{
    const struct field *x = get(f, n, key);
    return x ? drip__num_scan(x->v, x->vlen, base) : 0;
}

static double dbl(const struct field *f, int n, const char *key)
{
    const struct field *x = get(f, n, key);
    return x ? strtod(x->v, NULL) : 0;
}

static char *str(const struct field *f, int n, const char *key)
{
    const struct field *x = get(f, n, key);
    return x ? unescape(x->v, x->vlen) : strdup("");
}

/* Appends one zeroed element to a growable array; NULL when out of memory. */
static void *grow(void *arrp, size_t *n, size_t size)
{
    void **arr = arrp;
    if ((*n & (*n - 1)) == 0 || *n == 0) {   /* capacity is the next power of two */
        size_t cap = *n ? *n * 2 : 8;
        void *p = realloc(*arr, cap * size);
        if (!p)
            return NULL;
        *arr = p;
    }
    void *e = (char *)*arr + *n * size;
    memset(e, 0, size);
    (*n)++;
    return e;
}

/* A comma-separated list of hex numbers. */
static uintptr_t *hex_list(const struct field *x, int *count)
{
    *count = 0;
    if (!x || !x->vlen)
        return NULL;
    size_t n = 1;
    for (size_t i = 0; i < x->vlen; i++)
        n += x->v[i] == ',';
    uintptr_t *a = malloc(n * sizeof *a);
    if (!a)
        return NULL;
    for (const char *p = x->v, *end = x->v + x->vlen; p < end && *count < (int)n;)
        a[(*count)++] = drip__hex_next(&p, end);
    return a;
}

static int by_site_id(const void *a, const void *b)
{
    uint32_t x = ((const struct drip_raw_site *)a)->id, y = ((const struct drip_raw_site *)b)->id;
    return x < y ? -1 : x > y;
}

static int line_is(const char *line, size_t len, const char *tag)
{
    size_t n = strlen(tag);
    return len >= n && !memcmp(line, tag, n) && (len == n || line[n] == ' ');
}

const char *const drip_raw_root_kinds[4] = {"memory", "stack", "tls", "register"};

static int kind_of(const struct field *k, const char *const *names, int nnames)
{
    for (int i = 0; k && i < nnames; i++)
        if (k->vlen == strlen(names[i]) && !memcmp(k->v, names[i], k->vlen))
            return i;
    return 0;
}

/* "A-B" into *lo, *hi; absent: lo > hi. */
static void span(const struct field *f, int n, const char *key, uint32_t *lo, uint32_t *hi)
{
    const struct field *x = get(f, n, key);
    char *q;
    *lo = 1;
    *hi = 0;
    if (x) {
        *lo = (uint32_t)strtoul(x->v, &q, 10);
        *hi = *q == '-' ? (uint32_t)strtoul(q + 1, NULL, 10) : *lo;
    }
}

/* The retention lines (raw.h): 1 when `line` was one, -1 when out of memory, 0 when not one. */
static int parse_retain(struct drip_raw_retain *t, const char *line, size_t ll, const struct field *f, int n)
{
    if (line_is(line, ll, "retain")) {
        static const char *const dom[] = {"off", "done", "over_budget", "oom"};
        t->has = 1;
        t->dom = kind_of(get(f, n, "dom"), dom, 4);
        t->dom_us = (long long)num(f, n, "dom_us", 10);
        t->budget_ms = (long long)num(f, n, "budget_ms", 10);
        t->nodes = num(f, n, "nodes", 10);
        t->edges = num(f, n, "edges", 10);
    } else if (line_is(line, ll, "root")) {
        struct drip_raw_root *x = grow(&t->roots, &t->nroots, sizeof *x);
        if (!x)
            return -1;
        x->kind = kind_of(get(f, n, "kind"), drip_raw_root_kinds, 4);
        x->tid = (int)num(f, n, "tid", 10);
        x->addr = (uintptr_t)num(f, n, "addr", 16);
        x->ret = (uintptr_t)num(f, n, "ret", 16);
        x->start = (uintptr_t)num(f, n, "start", 16);
        x->lo = (uintptr_t)num(f, n, "lo", 16);
        x->hi = (uintptr_t)num(f, n, "hi", 16);
        x->has_tls = get(f, n, "tls_off") ? 1 + (num(f, n, "tls_dtv", 10) != 0) : 0, x->map_site = (uint32_t)num(f, n, "map_site", 10);
        x->tls_bias = (uintptr_t)num(f, n, "tls_bias", 16), x->tls_off = (uintptr_t)num(f, n, "tls_off", 16);
    } else if (line_is(line, ll, "path")) {
        struct drip_raw_path *x = grow(&t->paths, &t->npaths, sizeof *x);
        if (!x)
            return -1;
        x->prev = (uint32_t)num(f, n, "prev", 10);
        x->from_root = (int)num(f, n, "root", 10);
        x->elided = (int)num(f, n, "elided", 10);
        x->site = (uint32_t)num(f, n, "site", 10);
        x->bytes = num(f, n, "bytes", 10);
        x->blocks = num(f, n, "blocks", 10);
        span(f, n, "in", &x->in_min, &x->in_max);
        span(f, n, "self", &x->self_min, &x->self_max);
    } else if (line_is(line, ll, "held") || line_is(line, ll, "rsite")) {
        int site = line[0] == 'r';
        struct drip_raw_held *x = site ? grow(&t->rsites, &t->nrsites, sizeof *x) : grow(&t->held, &t->nheld, sizeof *x);
        if (!x)
            return -1;
        x->kind = kind_of(get(f, n, "kind"), drip_raw_kind_names, 5);
        x->path = (uint32_t)num(f, n, site ? "site" : "path", 10);
        x->bytes = num(f, n, "bytes", 10);
        x->blocks = num(f, n, "blocks", 10);
    } else if (line_is(line, ll, "retained")) {
        struct drip_raw_retained *x = grow(&t->retained, &t->nretained, sizeof *x);
        if (!x)
            return -1;
        x->lo = (uint32_t)num(f, n, "lo", 10);
        x->hi = (uint32_t)num(f, n, "hi", 10);
        x->bytes = num(f, n, "bytes", 10);
        x->blocks = num(f, n, "blocks", 10);
    } else if (line_is(line, ll, "why")) {
        struct drip_raw_why *x = grow(&t->why, &t->nwhy, sizeof *x);
        if (!x)
            return -1;
        x->kind = kind_of(get(f, n, "kind"), drip_raw_kind_names, 5);
        x->site = (uint32_t)num(f, n, "site", 10);
        x->root = (uint32_t)num(f, n, "root", 10);
        const struct field *c = get(f, n, "chain");
        const char *q = c ? c->v : "", *end = c ? c->v + c->vlen : q;
        while (q < end) {
            size_t cnt = (size_t)x->n * 2;
            uintptr_t *a = grow(&x->chain, &cnt, sizeof *a), *o = a ? grow(&x->chain, &cnt, sizeof *o) : NULL;
            if (!o)
                return -1;
            char *e;
            x->chain[2 * x->n] = (uintptr_t)strtoull(q, &e, 16);
            x->chain[2 * x->n + 1] = *e == '+' ? (uintptr_t)strtoull(e + 1, &e, 10) : 0;
            x->n++;
            q = e < end && *e == ',' ? e + 1 : end;
        }
    } else {
        return 0;
    }
    return 1;
}

    int lineno = 0, ended = 0, oom = 0, rt;
int drip__raw_parse(struct drip_raw *r, const char *text, size_t len, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    drip__options_defaults(&r->opt);
    const char *p = text, *end = text + len;
    int lineno = 0, ended = 0, oom = 0;
    struct field f[MAX_FIELDS];
    while (p < end && !ended && !oom) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        const char *line = p;
        size_t ll = (size_t)(nl - p);
        p = nl + 1;
        lineno++;
        if (lineno == 1) {
            int v;
            if (ll < 9 || memcmp(line, "drip-raw ", 9) || (v = atoi(line + 9)) < 1) {
                snprintf(err, errlen, "not a drip raw report (it must start with 'drip-raw %d')", DRIP_RAW_VERSION);
                return -1;
            }
            if (v > DRIP_RAW_VERSION) {
                snprintf(err, errlen, "raw report version %d is newer than this drip's (%d)", v, DRIP_RAW_VERSION);
                return -1;
            }
            continue;
        }
        int n = split(line, ll, f);
        if (line_is(line, ll, "end")) {
            ended = 1;
        } else if (line_is(line, ll, "proc")) {
            r->pid = (int)num(f, n, "pid", 10);
            r->ppid = (int)num(f, n, "ppid", 10);
            r->forked = (int)num(f, n, "forked", 10);
            free(r->exe);
            free(r->cwd);
            r->exe = str(f, n, "exe");
            r->cwd = str(f, n, "cwd");
        } else if (line_is(line, ll, "arg")) {
            char **na = realloc(r->argv, ((size_t)r->argc + 2) * sizeof *na);
            if (!na) {
                oom = 1;
                break;
            }
            r->argv = na;
            r->argv[r->argc++] = str(f, n, "s");
            r->argv[r->argc] = NULL;
        } else if (line_is(line, ll, "opt")) {
            const struct field *k = get(f, n, "name");
            char *v = str(f, n, "value");
            char e[128];
            if (k && v)   /* an option this drip does not know, or now refuses, keeps its default */
                drip__options_set(&r->opt, k->v, k->vlen, v, strlen(v), e, sizeof e);
            free(v);
        } else if (line_is(line, ll, "want")) {
            const struct field *w = get(f, n, "what");
            snprintf(r->want, sizeof r->want, "%.*s", w ? (int)w->vlen : 0, w ? w->v : "");
            r->want_allocs = (int)num(f, n, "allocs", 10);
        } else if (line_is(line, ll, "module")) {
            struct drip_raw_module *m = grow(&r->mods, &r->nmods, sizeof *m);
            if (!m) {
                oom = 1;
                break;
            }
            m->id = (uint32_t)num(f, n, "id", 10);
            m->bias = (uintptr_t)num(f, n, "bias", 16);
            m->path = str(f, n, "path");
            m->build_id = str(f, n, "build_id");
            m->unloaded = (int)num(f, n, "unloaded", 10);
            for (int i = 0; i < n; i++) {
                if (f[i].klen != 1 || (f[i].k[0] != 'x' && f[i].k[0] != 'w'))
                    continue;
                int *nr = f[i].k[0] == 'x' ? &m->nx : &m->nw;
                size_t cnt = (size_t)*nr;
                struct drip_raw_range *x = grow(f[i].k[0] == 'x' ? &m->x : &m->w, &cnt, sizeof *x);
                if (!x)
                    break;
                char *q;
                x->lo = (uintptr_t)strtoull(f[i].v, &q, 16);
                x->hi = *q == '-' ? (uintptr_t)strtoull(q + 1, NULL, 16) : x->lo;
                *nr = (int)cnt;
            }
        } else if (line_is(line, ll, "kept")) {
            size_t k = r->nkept, k2 = r->nkept;
            uintptr_t *a = grow(&r->kept_addr, &k, sizeof *a);
            uint32_t *m = grow(&r->kept_mod, &k2, sizeof *m);
            if (!a || !m) {
                oom = 1;
                break;
            }
            *a = (uintptr_t)num(f, n, "addr", 16);
            *m = (uint32_t)num(f, n, "module", 10);
            r->nkept = k;
        } else if (line_is(line, ll, "site")) {
            struct drip_raw_site *s = grow(&r->sites, &r->nsites, sizeof *s);
            if (!s) {
                oom = 1;
                break;
            }
            s->id = (uint32_t)num(f, n, "id", 10);
            s->frames = hex_list(get(f, n, "frames"), &s->n);
        } else if (line_is(line, ll, "rec")) {
            struct drip_raw_rec *x = grow(&r->recs, &r->nrecs, sizeof *x);
            if (!x) {
                oom = 1;
                break;
            }
            const struct field *k = get(f, n, "kind");
            for (int i = 0; k && i < 5; i++)
                if (k->vlen == strlen(drip_raw_kind_names[i]) && !memcmp(k->v, drip_raw_kind_names[i], k->vlen))
                    x->kind = i;
            x->site = (uint32_t)num(f, n, "site", 10);
            x->bytes = num(f, n, "bytes", 10);
            x->blocks = num(f, n, "blocks", 10);
            x->ioff_min = (uint32_t)num(f, n, "ioff_min", 10);
            x->ioff_max = (uint32_t)num(f, n, "ioff_max", 10);
        } else if (line_is(line, ll, "heur")) {
            struct drip_raw_heur *h = grow(&r->heur, &r->nheur, sizeof *h);
            if (!h || !(h->name = str(f, n, "name"))) {
                oom = 1;
                break;
            }
            h->bytes = num(f, n, "bytes", 10);
            h->blocks = num(f, n, "blocks", 10);
        } else if (line_is(line, ll, "inherited")) {
            r->has_inherited = 1;
            r->inherited_bytes = num(f, n, "bytes", 10);
            r->inherited_blocks = num(f, n, "blocks", 10);
            r->inherited_parent = (int)num(f, n, "parent", 10);
        } else if (line_is(line, ll, "thread")) {
            struct drip_raw_thread *t = grow(&r->threads, &r->nthreads, sizeof *t);
            if (!t) {
                oom = 1;
                break;
            }
            const struct field *s = get(f, n, "state");
            t->tid = (int)num(f, n, "tid", 10);
            t->running = s && s->vlen == 7 && !memcmp(s->v, "running", 7);
            t->start = (uintptr_t)num(f, n, "start", 16);
            t->site = (uint32_t)num(f, n, "site", 10);
        } else if (line_is(line, ll, "suspect")) {
            struct drip_raw_suspect *s = grow(&r->suspects, &r->nsuspects, sizeof *s);
            if (!s) {
                oom = 1;
                break;
            }
            s->site = (uint32_t)num(f, n, "site", 10);
            s->bps = dbl(f, n, "bps");
            s->live_bytes = dbl(f, n, "live_bytes");
            s->live_objects = dbl(f, n, "live_objects");
            s->oldest = dbl(f, n, "oldest");
            s->share = dbl(f, n, "share");
            s->window = dbl(f, n, "window");
        } else if (line_is(line, ll, "sample")) {
            struct drip_raw_sample *s = grow(&r->samples, &r->nsamples, sizeof *s);
            if (!s) {
                oom = 1;
                break;
            }
            s->site = (uint32_t)num(f, n, "site", 10);
            s->block_size = (int64_t)num(f, n, "block_size", 10);
            const struct field *v = get(f, n, "v");
            const char *q = v ? v->v : "";
            for (int i = 0; v && i < 4; i++) {
                char *e;
                s->v[i] = strtoll(q, &e, 10);
                q = *e == ',' ? e + 1 : e;
            }
        } else if (line_is(line, ll, "pprof")) {
            r->has_pprof = 1;
            r->period = (int64_t)num(f, n, "period", 10);
            r->time_nanos = (int64_t)num(f, n, "time", 10);
            r->duration_nanos = (int64_t)num(f, n, "duration", 10);
            r->maps_key = (unsigned)num(f, n, "maps_key", 10);
        } else if (line_is(line, ll, "maps")) {
            char **m = grow(&r->maps, &r->nmaps, sizeof *m);
            if (!m || !(*m = str(f, n, "line"))) {
                oom = 1;
                break;
            }
        } else if (line_is(line, ll, "addr")) {
            uintptr_t *a = grow(&r->addrs, &r->naddrs, sizeof *a);
            if (!a) {
                oom = 1;
                break;
            }
            *a = (uintptr_t)num(f, n, "a", 16);
        } else if ((rt = parse_retain(&r->ret, line, ll, f, n)) != 0) {
            if (rt < 0) {
                oom = 1;
                break;
            }
        } else if (line_is(line, ll, "info")) {
            /* several info lines may come, each with some of the fields */
            if (get(f, n, "threads_unpaused"))
                r->threads_unpaused = (int)num(f, n, "threads_unpaused", 10);
            if (get(f, n, "oom"))
                r->oom = (int)num(f, n, "oom", 10);
            if (get(f, n, "paused_us"))
                r->paused_us = (long long)num(f, n, "paused_us", 10);
            if (get(f, n, "untraced_execs"))
                r->untraced_execs = (unsigned)num(f, n, "untraced_execs", 10);
            if (get(f, n, "untraced_first")) {
                free(r->untraced_first);
                r->untraced_first = str(f, n, "untraced_first");
            }
            if (get(f, n, "sampling"))
                r->sampling = num(f, n, "sampling", 10);
        }
    }
    if (oom) {
        snprintf(err, errlen, "out of memory reading the raw report");
        return -1;
    }
    if (!ended) {
        snprintf(err, errlen, lineno ? "the raw report is cut short (no 'end' line after line %d)" : "empty raw report", lineno);
        return -1;
    }
    if (r->nsites)
        qsort(r->sites, r->nsites, sizeof *r->sites, by_site_id);
    return 0;
}

void drip__raw_free(struct drip_raw *r)
{
    free(r->exe);
    free(r->cwd);
    for (int i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
    for (size_t i = 0; i < r->nmods; i++) {
        free(r->mods[i].path);
        free(r->mods[i].build_id);
        free(r->mods[i].x);
        free(r->mods[i].w);
    }
    free(r->mods);
    free(r->kept_addr);
    free(r->kept_mod);
    for (size_t i = 0; i < r->nsites; i++)
        free(r->sites[i].frames);
    free(r->sites);
    free(r->recs);
    for (size_t i = 0; i < r->nheur; i++)
        free(r->heur[i].name);
    free(r->heur);
    free(r->threads);
    free(r->suspects);
    free(r->samples);
    for (size_t i = 0; i < r->nmaps; i++)
        free(r->maps[i]);
    free(r->maps);
    free(r->addrs);
    free(r->untraced_first);
    free(r->ret.roots);
    free(r->ret.paths);
    free(r->ret.held);
    free(r->ret.retained);
    free(r->ret.rsites);
    for (size_t i = 0; i < r->ret.nwhy; i++)
        free(r->ret.why[i].chain);
    free(r->ret.why);
    memset(r, 0, sizeof *r);
}

const struct drip_raw_site *drip__raw_site_of(const struct drip_raw *r, uint32_t id)
{
    size_t a = 0, b = r->nsites;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (r->sites[m].id < id)
            a = m + 1;
        else
            b = m;
    }
    return a < r->nsites && r->sites[a].id == id ? &r->sites[a] : NULL;
}

static const struct drip_raw_module *module_by_id(const struct drip_raw *r, uint32_t id)
{
    for (size_t i = 0; i < r->nmods; i++)
        if (r->mods[i].id == id)
            return &r->mods[i];
    return NULL;
}

const struct drip_raw_module *drip__raw_module_of(const struct drip_raw *r, uintptr_t addr, uintptr_t *offset)
{
    const struct drip_raw_module *m = NULL;
    for (size_t i = 0; i < r->nkept && !m; i++)
        if (r->kept_addr[i] == addr)
            m = module_by_id(r, r->kept_mod[i]);
    /* the address inside the call instruction: a call that ends a segment still belongs to it */
    uintptr_t pc = addr ? addr - 1 : 0;
    for (size_t i = 0; i < r->nmods && !m; i++) {
        if (r->mods[i].unloaded)
            continue;
        for (int k = 0; k < r->mods[i].nx; k++)
            if (pc >= r->mods[i].x[k].lo && pc < r->mods[i].x[k].hi)
                m = &r->mods[i];
    }
    if (offset)
        *offset = m ? addr - m->bias : 0;
    return m;
}

static void raw_frame(void *ctx, uintptr_t addr, int lines, struct drip_frame *f)
{
    (void)lines;
    uintptr_t off;
    const struct drip_raw_module *m = drip__raw_module_of(ctx, addr, &off);
    memset(f, 0, sizeof *f);
    f->addr = addr;
    if (m) {
        f->module = m->path;
        f->build_id = m->build_id;
        f->offset = off;
    }
}

struct drip_symbols drip__raw_symbols(const struct drip_raw *r)
{
    return (struct drip_symbols){raw_frame, (void *)r, 1, NULL, NULL, NULL};
}
