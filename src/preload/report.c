/* report.c — the exit report: groups the classified blocks by (kind, allocation stack), merges
 * groups whose symbolized stacks are identical, applies suppressions, and writes the text report
 * (valgrind's shape, on stderr or log_path) and the JSON report.
 * Runs once, at exit, with the reentrancy guard set: it may use libc's allocator (untracked),
 * stdio and libdw.
 */
#include "scan.h"
#include "../common/suppress.h"
#include "../common/symbolize.h"
#include "../common/writer.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct group {
    uint8_t kind;
    uint32_t site;
    uint64_t bytes, blocks;
    struct drip_frame *frames;
    int nframes;
    int suppressed;   /* index of the matching suppression, or -1 */
    int merged;       /* folded into another group with the same symbolized stack */
    uint32_t ioff_min, ioff_max;   /* possible: where the interior pointers point, over the blocks */
};

struct totals { uint64_t bytes, blocks; };
enum { MAX_SUSPECTS_ = 20 };

struct report {
    struct group *g;
    size_t n, cap;
    struct totals kind[5], suppressed;
    struct drip_symbolizer *sym;
    struct drip_suppressions supp;
    int threads_running, threads_unjoined;
    int oom;
    struct drip__suspect suspects[MAX_SUSPECTS_];
    int nsuspects;
};

static const char *kind_name[] = {"unreached", "reachable", "possible", "indirect", "definite"};
static const char *kind_text[] = {"", "still reachable", "possibly lost", "indirectly lost", "definitely lost"};

/* ---- grouping ---------------------------------------------------------------------------- */
static int group_blocks(struct report *r, const struct drip__scan *sc)
{
    /* at most one group per (site, kind): sized by the sites, not by the blocks (a map of 2 x
     * 5M blocks took 128 MiB of the exit's peak for a handful of groups) */
    size_t groups = ((size_t)drip__depot_count() + 1) * 5, cap = 1024;
    if (groups > sc->n)
        groups = sc->n;
    while (cap < groups * 2)
        cap *= 2;
    size_t *map = malloc(cap * sizeof *map);   /* group index + 1; 0 = empty */
    if (!map)
        return -1;
    memset(map, 0, cap * sizeof *map);
    for (size_t i = 0; i < sc->n; i++) {
        const struct drip__block *b = &sc->blocks[i];
        uint64_t key = ((uint64_t)b->kind << 32) | b->site;
        size_t h = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
        while (map[h] && !(r->g[map[h] - 1].kind == b->kind && r->g[map[h] - 1].site == b->site))
            h = (h + 1) & (cap - 1);
        if (!map[h]) {
            if (r->n == r->cap) {
                size_t nc = r->cap ? r->cap * 2 : 256;
                struct group *ng = realloc(r->g, nc * sizeof *ng);
                if (!ng) {
                    free(map);
                    return -1;
                }
                r->g = ng;
                r->cap = nc;
            }
            r->g[r->n] = (struct group){.kind = b->kind, .site = b->site, .suppressed = -1,
                                        .ioff_min = b->ioff, .ioff_max = b->ioff};
            map[h] = ++r->n;
        }
        struct group *g = &r->g[map[h] - 1];
        g->ioff_min = b->ioff < g->ioff_min ? b->ioff : g->ioff_min;
        g->ioff_max = b->ioff > g->ioff_max ? b->ioff : g->ioff_max;
        g->bytes += b->size;
        g->blocks++;
    }
    free(map);
    return 0;
}

/* Frames below main (libc's start-up code) say nothing about a leak; valgrind hides them too. */
static int cut_below_main(const struct drip_frame *f, int n)
{
    for (int k = 0; k < n; k++)
        if (f[k].function && !strcmp(f[k].function, "main"))
            return k + 1;
    return n;
}

/* A site's frames, symbolized (the first `max` of them; max <= 0: all) and cut below main, in
 * a calloc'd array the caller frees. *n = 0 and *out = NULL when the site has no stack. */
static void site_frames(struct drip_symbolizer *sym, uint32_t site, int max, struct drip_frame **out, int *n)
{
    struct drip__site *s = drip__depot_get(site);
    *n = s ? (int)s->depth : 0;
    if (max > 0 && *n > max)
        *n = max;
    *out = *n ? calloc((size_t)*n, sizeof **out) : NULL;
    if (!*out)
        *n = 0;
    for (int k = 0; k < *n; k++) {
        if (sym)
            drip_symbolize(sym, s->frames[k], &(*out)[k]);
        else
            (*out)[k].addr = s->frames[k];
    }
    *n = cut_below_main(*out, *n);
}

static void symbolize_groups(struct report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct group *g = &r->g[i];
        /* a reachable record's summary line names only the allocating function */
        int max = (g->kind == DRIP_REACHABLE && !drip__opt.show_reachable && !drip__opt.json[0]) ? 1 : 0;
        site_frames(r->sym, g->site, max, &g->frames, &g->nframes);
    }
}

static int str_eq(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int same_stack(const struct group *a, const struct group *b)
{
    if (a->kind != b->kind || a->nframes != b->nframes)
        return 0;
    for (int k = 0; k < a->nframes; k++) {
        const struct drip_frame *x = &a->frames[k], *y = &b->frames[k];
        if (!x->function || !y->function) {
            if (x->addr != y->addr)
                return 0;
        } else if (!str_eq(x->function, y->function) || !str_eq(x->file, y->file) || x->line != y->line) {
            return 0;
        }
    }
    return 1;
}

static uint64_t stack_hash(const struct group *g)
{
    uint64_t h = 1469598103934665603ULL ^ g->kind;
    for (int k = 0; k < g->nframes; k++) {
        const struct drip_frame *f = &g->frames[k];
        if (f->function) {
            for (const char *c = f->function; *c; c++)
                h = (h ^ (unsigned char)*c) * 1099511628211ULL;
            h = (h ^ (uint64_t)f->line) * 1099511628211ULL;
        } else {
            h = (h ^ f->addr) * 1099511628211ULL;
        }
    }
    return h;
}

/* A compiler may turn one source line into several call sites: merge records whose symbolized
 * stacks are identical. */
static void merge_groups(struct report *r)
{
    size_t cap = 1024;
    while (cap < r->n * 2)
        cap *= 2;
    size_t *map = calloc(cap, sizeof *map);
    if (!map)
        return;
    for (size_t i = 0; i < r->n; i++) {
        struct group *g = &r->g[i];
        size_t h = (size_t)stack_hash(g) & (cap - 1);
        while (map[h] && !same_stack(&r->g[map[h] - 1], g))
            h = (h + 1) & (cap - 1);
        if (!map[h]) {
            map[h] = i + 1;
            continue;
        }
        struct group *into = &r->g[map[h] - 1];
        into->bytes += g->bytes;
        into->blocks += g->blocks;
        into->ioff_min = g->ioff_min < into->ioff_min ? g->ioff_min : into->ioff_min;
        into->ioff_max = g->ioff_max > into->ioff_max ? g->ioff_max : into->ioff_max;
        g->merged = 1;
    }
    free(map);
}

static int by_kind_then_bytes(const void *pa, const void *pb)
{
    const struct group *a = pa, *b = pb;
    if (a->merged != b->merged)
        return a->merged - b->merged;
    if (a->kind != b->kind)
        return b->kind - a->kind;   /* definite first */
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    return a->site < b->site ? -1 : a->site > b->site;
}

/* Threads the report lists: not main, not the one writing the report, and either still running
 * or finished without anyone joining or detaching them. */
static struct drip_frame start_routine(struct report *r, const struct drip__scan_thread *t)
{
    struct drip_frame f = {0};
    if (r->sym)
        drip_symbolize(r->sym, t->start_routine + 1, &f);   /* an entry point, not a return address */
    return f;
}

/* ---- text ----------------------------------------------------------------------------------- */
static const char *base_name(const char *p)
{
    const char *b = p;
    for (; p && *p; p++)
        if (*p == '/')
            b = p + 1;
    return b;
}

static void text_frame(struct drip_writer *w, int pid, const struct drip_frame *f, int first)
{
    drip_printf(w, "==%d==    %s 0x%lx: ", pid, first ? "at" : "by", (unsigned long)f->addr);
    drip_puts(w, f->function ? f->function : "???");
    if (f->file)
        drip_printf(w, " (%s:%d)\n", base_name(f->file), f->line);
    else if (f->module)
        drip_printf(w, " (in %s)\n", f->module);
    else
        drip_puts(w, "\n");
}

static void text_size(struct drip_writer *w, uint64_t bytes, uint64_t blocks)
{
    drip_put_count(w, bytes);
    drip_puts(w, " bytes in ");
    drip_put_count(w, blocks);
    drip_puts(w, " blocks");
}

static void write_thread_stack(struct drip_writer *w, struct report *r, int pid, uint32_t site, int json);
static void write_suspects_text(struct drip_writer *w, struct drip_symbolizer *sym, const struct drip__suspect *s, int n);
static void write_untraced_execs(struct drip_writer *w, int pid);

/* valgrind's lines under "still reachable": the blocks reachable only via a heuristic */
static void write_heuristics_text(struct drip_writer *w, int pid, const struct drip__scan *sc)
{
    int any = 0;
    for (int h = 1; h < DRIP_HEUR_COUNT; h++)
        any |= sc->heur[h].blocks != 0;
    if (!any)
        return;
    drip_printf(w, "==%d==                       of which reachable via heuristic:\n", pid);
    for (int h = 1; h < DRIP_HEUR_COUNT; h++)
        if (sc->heur[h].blocks) {
            drip_printf(w, "==%d==                         %-19s: ", pid, drip__heur_name[h]);
            text_size(w, sc->heur[h].bytes, sc->heur[h].blocks);
            drip_puts(w, "\n");
        }
}

static void write_text(struct drip_writer *w, struct report *r, const struct drip__scan *sc)
{
    int pid = getpid();
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < r->n && !r->g[i].merged; i++)
        if (r->g[i].suppressed < 0 && (r->g[i].kind != DRIP_POSSIBLE || drip__opt.show_possible))
            total++;
    drip_printf(w, "==%d== drip: leak report for process %d\n", pid, pid);
    long per_kind = 0;
    uint8_t last_kind = 0;
    for (size_t i = 0; i < r->n && !r->g[i].merged; i++) {
        struct group *g = &r->g[i];
        if (g->suppressed >= 0 || (g->kind == DRIP_POSSIBLE && !drip__opt.show_possible))
            continue;
        if (g->kind != last_kind)
            per_kind = 0;
        last_kind = g->kind;
        shown++;
        if (drip__opt.max_records && ++per_kind > drip__opt.max_records)
            continue;
        drip_printf(w, "==%d== ", pid);
        text_size(w, g->bytes, g->blocks);
        drip_printf(w, " are %s in loss record %zu of %zu", kind_text[g->kind], shown, total);
        if (g->kind == DRIP_REACHABLE && !drip__opt.show_reachable) {
            const struct drip_frame *f = g->nframes ? &g->frames[0] : NULL;
            drip_puts(w, ", allocated in ");
            drip_puts(w, f && f->function ? f->function : "???");
            if (f && f->file)
                drip_printf(w, " (%s:%d)", base_name(f->file), f->line);
            drip_puts(w, "\n");
            continue;
        }
        drip_puts(w, "\n");
        for (int k = 0; k < g->nframes; k++)
            text_frame(w, pid, &g->frames[k], k == 0);
        if (!g->nframes)
            drip_printf(w, "==%d==    (no stack)\n", pid);
        if (g->kind == DRIP_POSSIBLE && g->ioff_min == g->ioff_max)
            drip_printf(w, "==%d==  the interior pointer points at offset %u into the block\n", pid, g->ioff_min);
        else if (g->kind == DRIP_POSSIBLE)
            drip_printf(w, "==%d==  the interior pointers point at offsets %u..%u into the blocks\n", pid,
                        g->ioff_min, g->ioff_max);
        drip_printf(w, "==%d==\n", pid);
    }
    /* threads */
    for (size_t i = 0; i < sc->nthreads; i++) {
        const struct drip__scan_thread *t = &sc->threads[i];
        int running = t->running;
        struct drip_frame start = start_routine(r, t);
        drip_printf(w, "==%d== thread %d (start routine %s) %s, created at:\n", pid, t->os_tid,
                    start.function ? start.function : "???",
                    !running ? "finished but was never joined or detached"
                    : t->os_tid ? "is still running at exit" : "was created but had not started at exit");
        write_thread_stack(w, r, pid, t->create_site, 0);
        drip_printf(w, "==%d==\n", pid);
    }
    write_suspects_text(w, r->sym, r->suspects, r->nsuspects);
    drip_printf(w, "==%d== LEAK SUMMARY:\n", pid);
    static const int order[] = {DRIP_DEFINITE, DRIP_INDIRECT, DRIP_POSSIBLE, DRIP_REACHABLE};
    for (int k = 0; k < 4; k++) {
        drip_printf(w, "==%d==    %15s: ", pid, kind_text[order[k]]);
        text_size(w, r->kind[order[k]].bytes, r->kind[order[k]].blocks);
        drip_puts(w, "\n");
    }
    write_heuristics_text(w, pid, sc);
    drip_printf(w, "==%d==         suppressed: ", pid);
    text_size(w, r->suppressed.bytes, r->suppressed.blocks);
    drip_puts(w, "\n");
    if (r->threads_running || r->threads_unjoined)
        drip_printf(w, "==%d==    threads: %d still running at exit, %d finished but never joined\n", pid,
                    r->threads_running, r->threads_unjoined);
    write_untraced_execs(w, pid);
    if (sc->threads_unstopped)
        drip_printf(w, "==%d==    note: %d thread(s) did not pause for the scan; their whole stacks were read\n",
                    pid, sc->threads_unstopped);
    if (r->kind[DRIP_REACHABLE].blocks && !drip__opt.show_reachable)
        drip_printf(w, "==%d== Reachable blocks are shown by allocating function; rerun with --show-reachable for their stacks.\n", pid);
    if (r->oom)
        drip_printf(w, "==%d== drip: out of memory while scanning: this report is incomplete\n", pid);
    uint64_t lost_b = r->kind[DRIP_DEFINITE].bytes + r->kind[DRIP_INDIRECT].bytes;
    uint64_t lost_n = r->kind[DRIP_DEFINITE].blocks + r->kind[DRIP_INDIRECT].blocks;
    drip_puts(w, "SUMMARY: drip: ");
    drip_put_count(w, lost_b);
    drip_puts(w, " bytes leaked in ");
    drip_put_count(w, lost_n);
    drip_puts(w, " blocks; ");
    drip_put_count(w, r->kind[DRIP_POSSIBLE].bytes);
    drip_puts(w, " bytes possibly lost; ");
    drip_put_count(w, r->kind[DRIP_REACHABLE].bytes);
    drip_printf(w, " bytes still reachable; %d thread(s) still running; %d growth suspect(s)\n", r->threads_running,
                r->nsuspects);
}

/* Children that ran a program drip did not follow (exec.c counts them): say so, and how to. */
static void write_untraced_execs(struct drip_writer *w, int pid)
{
    const char *first;
    unsigned n = drip__untraced_execs(&first);
    if (n)
        drip_printf(w, "==%d==   not traced: %u child process(es) ran a program drip did not follow (the first: %s); "
                       "rerun with --follow-exec to trace them\n", pid, n, first[0] ? first : "?");
}

/* ---- JSON ----------------------------------------------------------------------------------- */
static void json_frame(struct drip_writer *w, const struct drip_frame *f)
{
    drip_puts(w, "{\"function\": ");
    if (f->function)
        drip_put_json_str(w, f->function);
    else
        drip_puts(w, "null");
    drip_puts(w, ", \"file\": ");
    if (f->file)
        drip_put_json_str(w, f->file);
    else
        drip_puts(w, "null");
    drip_printf(w, ", \"line\": %d, \"address\": \"0x%lx\", \"module\": ", f->line, (unsigned long)f->addr);
    if (f->module)
        drip_put_json_str(w, f->module);
    else
        drip_puts(w, "null");
    drip_puts(w, "}");
}

static void json_stack(struct drip_writer *w, const struct drip_frame *f, int n)
{
    drip_puts(w, "[");
    for (int k = 0; k < n; k++) {
        if (k)
            drip_puts(w, ", ");
        json_frame(w, &f[k]);
    }
    drip_puts(w, "]");
}

static void write_thread_stack(struct drip_writer *w, struct report *r, int pid, uint32_t site, int json)
{
    struct drip_frame *f;
    int n;
    site_frames(r->sym, site, 0, &f, &n);
    if (json)
        json_stack(w, f, n);
    else
        for (int k = 0; k < n; k++)
            text_frame(w, pid, &f[k], k == 0);
    free(f);
}

/* ---- growth suspects ------------------------------------------------------------------------ */
enum { MAX_SUSPECTS = MAX_SUSPECTS_ };

static int gather_suspects(struct drip__suspect *s)
{
    int n = drip__growth_suspects(s, MAX_SUSPECTS);
    drip__growth_fill(s, n);
    return n;
}

void drip__write_suspects_json(struct drip_writer *w, struct drip_symbolizer *sym, const struct drip__suspect *s, int n)
{
    drip_puts(w, "[");
    for (int i = 0; i < n; i++) {
        struct drip_frame *f;
        int nf;
        site_frames(sym, s[i].site, 0, &f, &nf);
        drip_printf(w, "%s\n  {\"bytes_per_second\": %.1f, \"live_bytes\": %llu, \"live_objects\": %llu, "
                       "\"oldest_age_seconds\": %.3f, \"heap_growth_share\": %.3f, \"window_seconds\": %.3f, \"stack\": ",
                    i ? "," : "", s[i].bytes_per_second, (unsigned long long)s[i].live_bytes,
                    (unsigned long long)s[i].live_objects, s[i].oldest_age_seconds, s[i].heap_growth_share, s[i].window_seconds);
        json_stack(w, f, nf);
        drip_puts(w, "}");
        free(f);
    }
    drip_puts(w, "]");
}

static void write_suspects_text(struct drip_writer *w, struct drip_symbolizer *sym, const struct drip__suspect *s, int n)
{
    int pid = getpid();
    for (int i = 0; i < n; i++) {
        char rate[32], live[32];
        drip_human_bytes(rate, sizeof rate, s[i].bytes_per_second);
        drip_human_bytes(live, sizeof live, (double)s[i].live_bytes);
        drip_printf(w, "==%d== growth suspect %d of %d: live bytes rising at %s/s over %.1f s (%.0f%% of the heap's growth); "
                       "now %s in %llu blocks, the oldest %.1f s old, allocated\n",
                    pid, i + 1, n, rate, s[i].window_seconds, 100 * s[i].heap_growth_share, live,
                    (unsigned long long)s[i].live_objects, s[i].oldest_age_seconds);
        struct drip_frame *f;
        int nf;
        site_frames(sym, s[i].site, 0, &f, &nf);
        for (int k = 0; k < nf; k++)
            text_frame(w, pid, &f[k], k == 0);
        drip_printf(w, "==%d==\n", pid);
        free(f);
    }
}

static void write_json(struct drip_writer *w, struct report *r, const struct drip__scan *sc)
{
    drip_printf(w, "{\"pid\": %d, \"complete\": %s, \"summary\": {", getpid(), r->oom ? "false" : "true");
    static const int order[] = {DRIP_DEFINITE, DRIP_INDIRECT, DRIP_POSSIBLE, DRIP_REACHABLE};
    for (int k = 0; k < 4; k++)
        drip_printf(w, "\"%s\": {\"bytes\": %llu, \"blocks\": %llu}, ", kind_name[order[k]],
                    (unsigned long long)r->kind[order[k]].bytes, (unsigned long long)r->kind[order[k]].blocks);
    drip_printf(w, "\"suppressed\": {\"bytes\": %llu, \"blocks\": %llu}},\n \"leaks\": [",
                (unsigned long long)r->suppressed.bytes, (unsigned long long)r->suppressed.blocks);
    int first = 1;
    for (size_t i = 0; i < r->n && !r->g[i].merged; i++) {
        struct group *g = &r->g[i];
        drip_printf(w, "%s\n  {\"kind\": \"%s\", \"bytes\": %llu, \"blocks\": %llu, ", first ? "" : ",",
                    kind_name[g->kind], (unsigned long long)g->bytes, (unsigned long long)g->blocks);
        first = 0;
        if (g->suppressed >= 0) {
            drip_puts(w, "\"suppressed_by\": ");
            drip_put_json_str(w, r->supp.patterns[g->suppressed]);
            drip_puts(w, ", ");
        }
        if (g->kind == DRIP_POSSIBLE)
            drip_printf(w, "\"interior_offset\": {\"min\": %u, \"max\": %u}, ", g->ioff_min, g->ioff_max);
        drip_puts(w, "\"stack\": ");
        json_stack(w, g->frames, g->nframes);
        drip_puts(w, "}");
    }
    drip_puts(w, "],\n \"reachable_via_heuristic\": {");
    for (int h = 1; h < DRIP_HEUR_COUNT; h++)
        drip_printf(w, "%s\"%s\": {\"bytes\": %llu, \"blocks\": %llu}", h > 1 ? ", " : "", drip__heur_name[h],
                    (unsigned long long)sc->heur[h].bytes, (unsigned long long)sc->heur[h].blocks);
    drip_puts(w, "},\n \"threads\": [");
    first = 1;
    for (size_t i = 0; i < sc->nthreads; i++) {
        const struct drip__scan_thread *t = &sc->threads[i];
        int running = t->running;
        struct drip_frame start = start_routine(r, t);
        drip_printf(w, "%s\n  {\"state\": \"%s\", \"tid\": %d, \"start_routine\": ", first ? "" : ",",
                    running ? "running" : "unjoined", t->os_tid);
        first = 0;
        if (start.function)
            drip_put_json_str(w, start.function);
        else
            drip_puts(w, "null");
        drip_puts(w, ", \"stack\": ");
        write_thread_stack(w, r, 0, t->create_site, 1);
        drip_puts(w, "}");
    }
    drip_puts(w, "],\n \"suspects\": ");
    drip__write_suspects_json(w, r->sym, r->suspects, r->nsuspects);
    drip_printf(w, ",\n \"threads_unpaused\": %d, \"paused_us\": %lld}\n", sc->threads_unstopped, sc->paused_us);
}

/* ---- the whole report ----------------------------------------------------------------------- */
static int open_out(const char *pattern, const char *suffix_for_child)
{
    char path[DRIP_OPT_STR_MAX + 32];
    size_t o = 0;
    for (const char *p = pattern; *p && o < sizeof path - 24; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(path + o, sizeof path - o, "%d", getpid());
            p++;
        } else {
            path[o++] = *p;
        }
    }
    path[o] = 0;
    if (suffix_for_child)
        snprintf(path + o, sizeof path - o, ".%d", getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fprintf(stderr, "drip: cannot write report %s: %s\n", path, strerror(errno));
    return fd;
}

int drip__is_root_process(void);

/* Sampling mode records one allocation in many: a block it did not record may hold the only
 * pointer to one it did, so no classification can be trusted. Say so instead of guessing. */
static void write_unclassified(int text_fd, int json_fd)
{
    struct drip_writer w;
    unsigned long long rate = drip__opt.sample;
    if (text_fd >= 0) {
        drip_writer_fd(&w, text_fd);
        drip_printf(&w, "==%d== drip: sampling mode (sample=%llu bytes): leak classification is unavailable; "
                        "use the heap profile (--profile, /debug/pprof/heap) for estimates\n", getpid(), rate);
        drip_flush(&w);
    }
    if (json_fd >= 0) {
        drip_writer_fd(&w, json_fd);
        drip_printf(&w, "{\"pid\": %d, \"complete\": false, \"sampling\": %llu, \"classification\": \"unavailable\", "
                        "\"summary\": null, \"leaks\": [], \"threads\": [], \"suspects\": []}\n", getpid(), rate);
        drip_flush(&w);
    }
}

int drip__leak_report(int text_fd, int json_fd, int final)
{
    if (drip__opt.sample) {
        write_unclassified(text_fd, json_fd);
        if (final)
            atomic_store(&drip__g.tracking, 0);
        return 0;
    }
    struct drip__scan sc;
    struct report r;
    memset(&r, 0, sizeof r);
    r.oom = drip__scan_run(&sc, final) != 0;
    r.sym = drip__symbolizer_new();
    if (drip__opt.suppressions[0]) {
        char err[512];
        if (drip_suppressions_load(&r.supp, drip__opt.suppressions, err, sizeof err) != 0)
            fprintf(stderr, "drip: %s\n", err);
    }
    if (group_blocks(&r, &sc) != 0)
        r.oom = 1;
    symbolize_groups(&r);
    merge_groups(&r);
    for (size_t i = 0; i < r.n; i++) {
        struct group *g = &r.g[i];
        if (g->merged)
            continue;
        if (g->kind != DRIP_REACHABLE && r.supp.n)
            g->suppressed = drip_suppressions_match(&r.supp, g->frames, (size_t)g->nframes);
        if (g->suppressed >= 0) {
            r.supp.hits[g->suppressed] += g->blocks;
            r.suppressed.bytes += g->bytes;
            r.suppressed.blocks += g->blocks;
        } else {
            r.kind[g->kind].bytes += g->bytes;
            r.kind[g->kind].blocks += g->blocks;
        }
    }
    qsort(r.g, r.n, sizeof *r.g, by_kind_then_bytes);
    r.nsuspects = gather_suspects(r.suspects);
    drip__threads_lock();
    for (size_t i = 0; i < sc.nthreads; i++)
        *(sc.threads[i].running ? &r.threads_running : &r.threads_unjoined) += 1;
    struct drip_writer w;
    if (text_fd >= 0) {
        drip_writer_fd(&w, text_fd);
        write_text(&w, &r, &sc);
        if (drip_flush(&w) != 0 && text_fd != 2)
            fprintf(stderr, "drip: cannot write report %s: %s\n", drip__opt.log_path, strerror(w.err));
    }
    if (json_fd >= 0) {
        drip_writer_fd(&w, json_fd);
        write_json(&w, &r, &sc);
        if (drip_flush(&w) != 0 && final)
            fprintf(stderr, "drip: cannot write report %s: %s\n", drip__opt.json, strerror(w.err));
    }
    drip__threads_unlock();
    int leaked = r.kind[DRIP_DEFINITE].blocks + r.kind[DRIP_INDIRECT].blocks > 0;
    for (size_t i = 0; i < r.n; i++)
        free(r.g[i].frames);
    free(r.g);
    drip_suppressions_free(&r.supp);
    drip_symbolizer_free(r.sym);
    drip__scan_free(&sc);
    return leaked;
}

int drip__report(void)
{
    const char *own = drip__is_root_process() ? NULL : "child";   /* FILE.<pid> for the others */
    int text_fd = drip__opt.log_path[0] ? open_out(drip__opt.log_path, strstr(drip__opt.log_path, "%p") ? NULL : own) : 2;
    if (text_fd < 0)
        text_fd = 2;   /* the file cannot be written (said above): the report still goes somewhere */
    int json_fd = drip__opt.json[0] ? open_out(drip__opt.json, strstr(drip__opt.json, "%p") ? NULL : own) : -1;
    int leaked = drip__g.foreign ? drip__foreign_report(text_fd, json_fd) : drip__leak_report(text_fd, json_fd, 1);
    if (text_fd > 2)
        close(text_fd);
    if (json_fd >= 0)
        close(json_fd);
    if (drip__opt.profile[0]) {
        int fd = open_out(drip__opt.profile, strstr(drip__opt.profile, "%p") ? NULL : own);
        if (fd >= 0) {
            int rc = drip__profile_write(fd, 0, 0);
            if (rc)
                fprintf(stderr, "drip: cannot write profile %s: %s\n", drip__opt.profile, strerror(-rc));
            close(fd);
        }
    }
    return leaked;
}
