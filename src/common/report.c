/* report.c — see report.h. The traced process grouped its blocks by (kind, allocation stack);
 * here the groups' stacks are named, groups whose named stacks are identical are merged (a
 * compiler may turn one source line into several call sites), suppressions are applied and the
 * text and JSON reports are written. No locks: everything is the caller's.
 */
#include "report.h"
#include "suppress.h"
#include "suppress_vg.h"
#include "options.h"
#include "retention.h"
#include "jframes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct group {
    uint8_t kind;
    uint32_t site;
    uint64_t bytes, blocks;
    struct drip_frame *frames;
    int nframes;
    int suppressed;   /* index of the matching suppression, or -1 */
    int merged;       /* folded into another group with the same symbolized stack */
    uint32_t ioff_min, ioff_max;   /* possible: where the interior pointers point, over the blocks */
    uint32_t sites[8];   /* its site and those of the groups merged into it: who holds them */
    int nsites;
};

struct totals { uint64_t bytes, blocks; };

struct report {
    const struct drip_raw *raw;
    const struct drip_symbols *sym;
    struct group *g;
    size_t n;
    struct totals kind[5], suppressed;
    struct drip_suppressions supp;
    int threads_running, threads_unjoined;
    int oom;
    struct drip_retention *ret;   /* retention paths and retainers; NULL: none recorded */
};

enum { DEFINITE = DRIP_RAW_DEFINITE, INDIRECT = DRIP_RAW_INDIRECT, POSSIBLE = DRIP_RAW_POSSIBLE, REACHABLE = DRIP_RAW_REACHABLE };
static const char *kind_text[] = {"", "still reachable", "possibly lost", "indirectly lost", "definitely lost"};

/* Frames below main (libc's start-up code) say nothing about a leak; valgrind hides them too. */
static int cut_below_main(const struct drip_frame *f, int n)
{
    for (int k = 0; k < n; k++)
        if (f[k].function && !strcmp(f[k].function, "main"))
            return k + 1;
    return n;
}

/* A site's frames, named (the first `max` of them; max <= 0: all) and cut below main, in a
 * calloc'd array the caller frees. *n = 0 and *out = NULL when the site has no stack. lines = 0:
 * function names suffice (the reachable summary). */
static void site_frames(const struct drip_raw *r, const struct drip_symbols *sym, uint32_t site, int max, int lines,
                        struct drip_frame **out, int *n)
{
    const struct drip_raw_site *s = drip__raw_site_of(r, site);
    *n = s ? s->n : 0;
    if (max > 0 && *n > max)
        *n = max;
    *out = *n ? calloc((size_t)*n, sizeof **out) : NULL;
    if (!*out)
        *n = 0;
    for (int k = 0; k < *n; k++)
        sym->frame(sym->ctx, s->frames[k], lines, &(*out)[k]);
    *n = cut_below_main(*out, *n);
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
        if (into->nsites < 8)
            into->sites[into->nsites++] = g->site;
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

static struct drip_frame start_routine(const struct report *r, const struct drip_raw_thread *t)
{
    struct drip_frame f = {0};
    r->sym->frame(r->sym->ctx, t->start + 1, 0, &f);   /* an entry point, not a return address */
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

static void text_frame(struct drip_writer *w, int pid, const struct drip_frame *f, int first, int raw)
{
    drip__printf(w, "==%d==    %s 0x%lx: ", pid, first ? "at" : "by", (unsigned long)f->addr);
    drip__puts(w, f->function ? f->function : "???");
    if (f->file)
        drip__printf(w, " (%s:%d)\n", base_name(f->file), f->line);
    else if (f->module && raw)
        drip__printf(w, " (in %s +0x%lx)\n", f->module, (unsigned long)f->offset);
    else if (f->module)
        drip__printf(w, " (in %s)\n", f->module);
    else
        drip__puts(w, "\n");
}

static void text_size(struct drip_writer *w, uint64_t bytes, uint64_t blocks)
{
    drip__put_count(w, bytes);
    drip__puts(w, " bytes in ");
    drip__put_count(w, blocks);
    drip__puts(w, " blocks");
}

static void text_stack(struct drip_writer *w, const struct report *r, int pid, uint32_t site)
{
    struct drip_frame *f;
    int n;
    site_frames(r->raw, r->sym, site, 0, 1, &f, &n);
    for (int k = 0; k < n; k++)
        text_frame(w, pid, &f[k], k == 0, r->sym->raw);
    free(f);
}

static void write_suspects_text(struct drip_writer *w, const struct report *r)
{
    int pid = r->raw->pid, n = (int)r->raw->nsuspects;
    for (int i = 0; i < n; i++) {
        const struct drip_raw_suspect *s = &r->raw->suspects[i];
        char rate[32], live[32];
        drip__human_bytes(rate, sizeof rate, s->bps);
        drip__human_bytes(live, sizeof live, s->live_bytes);
        drip__printf(w, "==%d== growth suspect %d of %d: live bytes rising at %s/s over %.1f s (%.0f%% of the heap's growth); "
                       "now %s in %llu blocks, the oldest %.1f s old, allocated\n",
                    pid, i + 1, n, rate, s->window, 100 * s->share, live, (unsigned long long)s->live_objects, s->oldest);
        text_stack(w, r, pid, s->site);
        uint64_t blocks = 0;   /* who holds it: the path of the site's reachable blocks */
        for (size_t k = 0; k < r->n; k++)
            if (r->g[k].kind == REACHABLE && r->g[k].site == s->site)
                blocks += r->g[k].blocks;
        drip__retention_text(w, r->ret, pid, REACHABLE, &s->site, 1, blocks);
        drip__printf(w, "==%d==\n", pid);
    }
}

/* valgrind's lines under "still reachable": the blocks reachable only via a heuristic */
static void write_heuristics_text(struct drip_writer *w, const struct report *r)
{
    int any = 0, pid = r->raw->pid;
    for (size_t h = 0; h < r->raw->nheur; h++)
        any |= r->raw->heur[h].blocks != 0;
    if (!any)
        return;
    drip__printf(w, "==%d==                       of which reachable via heuristic:\n", pid);
    for (size_t h = 0; h < r->raw->nheur; h++)
        if (r->raw->heur[h].blocks) {
            drip__printf(w, "==%d==                         %-19s: ", pid, r->raw->heur[h].name);
            text_size(w, r->raw->heur[h].bytes, r->raw->heur[h].blocks);
            drip__puts(w, "\n");
        }
}

/* Who the report is for (valgrind's Command: line), and why frames are unnamed when they are. */
static void text_header(struct drip_writer *w, const struct report *r, const char *note)
{
    const struct drip_raw *raw = r->raw;
    int pid = raw->pid;
    drip__printf(w, "==%d== drip: leak report for process %d\n", pid, pid);
    if (raw->argc) {
        drip__printf(w, "==%d== Command:", pid);
        for (int i = 0; i < raw->argc; i++) {
            /* a control byte (python3 -c's newlines) is written as an escape, as valgrind does:
             * every line of the report keeps its ==PID== prefix */
            drip__puts(w, " ");
            for (const unsigned char *c = (const unsigned char *)raw->argv[i]; *c; c++) {
                if (*c >= 0x20 && *c != 0x7f)
                    drip__write(w, c, 1);
                else if (*c == '\n' || *c == '\t')
                    drip__puts(w, *c == '\n' ? "\\n" : "\\t");
                else
                    drip__printf(w, "\\x%02x", *c);
            }
        }
        drip__puts(w, "\n");
    }
    if (raw->exe && raw->exe[0] && !(raw->argc && !strcmp(raw->argv[0], raw->exe)))
        drip__printf(w, "==%d== Executable: %s\n", pid, raw->exe);
    if (raw->forked)
        drip__printf(w, "==%d== Parent PID: %d\n", pid, raw->ppid);
    if (note)
        drip__printf(w, "==%d== %s\n", pid, note);
}

/* A forked child lists only the blocks it allocated itself: what it inherited at fork is the
 * parent's, and the parent's report lists it. One line says how much was left out. */
static void write_inherited_text(struct drip_writer *w, const struct report *r)
{
    const struct drip_raw *raw = r->raw;
    int pid = raw->pid;
    if (!raw->has_inherited)
        return;
    if (!raw->nrecs) {
        drip__printf(w, "==%d== no blocks of its own: ", pid);
        text_size(w, raw->inherited_bytes, raw->inherited_blocks);
        drip__printf(w, " inherited from parent %d at fork (the parent reports them)\n", raw->inherited_parent);
    } else if (raw->inherited_blocks) {
        drip__printf(w, "==%d== ", pid);
        text_size(w, raw->inherited_bytes, raw->inherited_blocks);
        drip__printf(w, " inherited from parent %d at fork are not listed: the parent reports them\n",
                     raw->inherited_parent);
    }
    drip__printf(w, "==%d==\n", pid);
}

static void write_text(struct drip_writer *w, struct report *r, const char *note)
{
    const struct drip_options *o = &r->raw->opt;
    int pid = r->raw->pid;
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < r->n && !r->g[i].merged; i++)
        if (r->g[i].suppressed < 0 && (r->g[i].kind != POSSIBLE || o->show_possible))
            total++;
    text_header(w, r, note);
    long per_kind = 0;
    uint8_t last_kind = 0;
    for (size_t i = 0; i < r->n && !r->g[i].merged; i++) {
        struct group *g = &r->g[i];
        if (g->suppressed >= 0 || (g->kind == POSSIBLE && !o->show_possible))
            continue;
        if (g->kind != last_kind)
            per_kind = 0;
        last_kind = g->kind;
        shown++;
        if (o->max_records && ++per_kind > o->max_records)
            continue;
        drip__printf(w, "==%d== ", pid);
        text_size(w, g->bytes, g->blocks);
        drip__printf(w, " are %s in loss record %zu of %zu", kind_text[g->kind], shown, total);
        if (g->kind == REACHABLE && !o->show_reachable) {
            const struct drip_frame *f = g->nframes ? &g->frames[0] : NULL;
            drip__puts(w, ", allocated in ");
            drip__puts(w, f && f->function ? f->function : "???");
            if (f && f->file)
                drip__printf(w, " (%s:%d)", base_name(f->file), f->line);
            else if (f && f->module && r->sym->raw)
                drip__printf(w, " (in %s +0x%lx)", f->module, (unsigned long)f->offset);
            drip__puts(w, "\n");
            if (o->retainers)
                drip__retention_text(w, r->ret, pid, g->kind, g->sites, g->nsites, g->blocks);
            continue;
        }
        drip__puts(w, "\n");
        for (int k = 0; k < g->nframes; k++)
            text_frame(w, pid, &g->frames[k], k == 0, r->sym->raw);
        if (!g->nframes)
            drip__printf(w, "==%d==    (no stack)\n", pid);
        if (g->kind == POSSIBLE && g->ioff_min == g->ioff_max)
            drip__printf(w, "==%d==  the interior pointer points at offset %u into the block\n", pid, g->ioff_min);
        else if (g->kind == POSSIBLE)
            drip__printf(w, "==%d==  the interior pointers point at offsets %u..%u into the blocks\n", pid,
                         g->ioff_min, g->ioff_max);
        drip__retention_text(w, r->ret, pid, g->kind, g->sites, g->nsites, g->blocks);
        if (o->log_roots)
            drip__retention_why_text(w, r->ret, pid, g->kind, g->sites, g->nsites);
        char pat[512];
        if (o->gen_suppressions && !strcmp(o->gen_suppressions_format, "valgrind"))
            drip__vg_supp_write(w, drip_raw_kind_names[g->kind], g->frames, g->nframes);
        else if (o->gen_suppressions && drip__suppression_pattern(g->frames, (size_t)g->nframes, pat, sizeof pat) == 0)
            drip__printf(w, "leak:%s\n", pat);   /* bare, as valgrind prints its suppressions: ready to copy */
        drip__printf(w, "==%d==\n", pid);
    }
    for (size_t i = 0; i < r->raw->nthreads; i++) {
        const struct drip_raw_thread *t = &r->raw->threads[i];
        struct drip_frame start = start_routine(r, t);
        drip__printf(w, "==%d== thread %d (start routine %s) %s, created at:\n", pid, t->tid,
                     start.function ? start.function : "???",
                     !t->running ? "finished but was never joined or detached"
                     : t->tid ? "is still running at exit" : "was created but had not started at exit");
        text_stack(w, r, pid, t->site);
        drip__printf(w, "==%d==\n", pid);
    }
    write_suspects_text(w, r);
    drip__retention_retainers_text(w, r->ret, pid, 10);
    write_inherited_text(w, r);
    drip__printf(w, "==%d== LEAK SUMMARY:\n", pid);
    static const int order[] = {DEFINITE, INDIRECT, POSSIBLE, REACHABLE};
    for (int k = 0; k < 4; k++) {
        drip__printf(w, "==%d==    %15s: ", pid, kind_text[order[k]]);
        text_size(w, r->kind[order[k]].bytes, r->kind[order[k]].blocks);
        drip__puts(w, "\n");
    }
    write_heuristics_text(w, r);
    drip__printf(w, "==%d==         suppressed: ", pid);
    text_size(w, r->suppressed.bytes, r->suppressed.blocks);
    drip__puts(w, "\n");
    if (r->threads_running || r->threads_unjoined)
        drip__printf(w, "==%d==    threads: %d still running at exit, %d finished but never joined\n", pid,
                     r->threads_running, r->threads_unjoined);
    if (r->raw->untraced_execs && r->raw->opt.follow_exec)   /* followed, but none could be (exec.c) */
        drip__printf(w, "==%d==   not traced: %u child process(es) ran a program built with a sanitizer, whose "
                       "runtime must come first (the first: %s)\n", pid, r->raw->untraced_execs,
                    r->raw->untraced_first ? r->raw->untraced_first : "?");
    else if (r->raw->untraced_execs)   /* children that ran a program drip did not follow (exec.c) */
        drip__printf(w, "==%d==   not traced: %u child process(es) ran a program drip did not follow (the first: %s); "
                       "rerun with --follow-exec to trace them\n", pid, r->raw->untraced_execs,
                    r->raw->untraced_first ? r->raw->untraced_first : "?");
    if (r->raw->threads_unpaused)
        drip__printf(w, "==%d==    note: %d thread(s) did not pause for the scan; their whole stacks were read\n",
                     pid, r->raw->threads_unpaused);
    if (r->kind[REACHABLE].blocks && !o->show_reachable)
        drip__printf(w, "==%d== Reachable blocks are shown by allocating function; rerun with --show-reachable for their stacks.\n", pid);
    if (r->oom)
        drip__printf(w, "==%d== drip: out of memory while scanning: this report is incomplete\n", pid);
    uint64_t lost_b = r->kind[DEFINITE].bytes + r->kind[INDIRECT].bytes;
    uint64_t lost_n = r->kind[DEFINITE].blocks + r->kind[INDIRECT].blocks;
    drip__puts(w, "SUMMARY: drip: ");
    drip__put_count(w, lost_b);
    drip__puts(w, " bytes leaked in ");
    drip__put_count(w, lost_n);
    drip__puts(w, " blocks; ");
    drip__put_count(w, r->kind[POSSIBLE].bytes);
    drip__puts(w, " bytes possibly lost; ");
    drip__put_count(w, r->kind[REACHABLE].bytes);
    drip__printf(w, " bytes still reachable; %d thread(s) still running; %d growth suspect(s)\n", r->threads_running,
                 (int)r->raw->nsuspects);
}

/* ---- JSON ----------------------------------------------------------------------------------- */
static void json_str_or_null(struct drip_writer *w, const char *s)
{
    if (s)
        drip__put_json_str(w, s);
    else
        drip__puts(w, "null");
}

static void json_site(struct drip_writer *w, struct drip_jframes *c, const struct drip_raw *r, const struct drip_symbols *sym,
                      uint32_t site)
{
    struct drip_frame *f;
    int n;
    site_frames(r, sym, site, 0, 1, &f, &n);
    drip__json_stack(w, c, f, n, sym->raw);
    free(f);
}

void drip__report_suspects_json(struct drip_writer *w, const struct drip_raw *r, const struct drip_symbols *sym)
{
    /* who holds each suspect's blocks, when the document has retention paths (a leak check) */
    struct drip_retention *t = r->nsuspects ? drip__retention_new(r, sym) : NULL;
    drip__puts(w, "[");
    for (size_t i = 0; i < r->nsuspects; i++) {
        const struct drip_raw_suspect *s = &r->suspects[i];
        drip__printf(w, "%s\n  {\"bytes_per_second\": %.1f, \"live_bytes\": %llu, \"live_objects\": %llu, "
                       "\"oldest_age_seconds\": %.3f, \"heap_growth_share\": %.3f, \"window_seconds\": %.3f, ",
                    i ? "," : "", s->bps, (unsigned long long)s->live_bytes, (unsigned long long)s->live_objects,
                    s->oldest, s->share, s->window);
        drip__retention_json(w, t, REACHABLE, &s->site, 1);
        drip__puts(w, "\"stack\": ");
        json_site(w, NULL, r, sym, s->site);
        drip__puts(w, "}");
    }
    drip__puts(w, "]");
    drip__retention_free(t);
}

/* The process the report is for: the command line, the executable, the parent for a child. */
static void json_process(struct drip_writer *w, const struct drip_raw *r)
{
    drip__puts(w, "\"command\": [");
    for (int i = 0; i < r->argc; i++) {
        if (i)
            drip__puts(w, ", ");
        drip__put_json_str(w, r->argv[i]);
    }
    drip__puts(w, "], \"executable\": ");
    json_str_or_null(w, r->exe && r->exe[0] ? r->exe : NULL);
    drip__printf(w, ", \"ppid\": %d, ", r->ppid);
}

static void write_json(struct drip_writer *w, struct report *r)
{
    const struct drip_raw *raw = r->raw;
    struct drip_jframes jc = {NULL, 0, 0, NULL};
    drip__printf(w, "{\"pid\": %d, \"complete\": %s, ", raw->pid, r->oom ? "false" : "true");
    json_process(w, raw);
    if (r->sym->raw)
        drip__puts(w, "\"symbolized\": false, ");
    drip__puts(w, "\"summary\": {");
    static const int order[] = {DEFINITE, INDIRECT, POSSIBLE, REACHABLE};
    for (int k = 0; k < 4; k++)
        drip__printf(w, "\"%s\": {\"bytes\": %llu, \"blocks\": %llu}, ", drip_raw_kind_names[order[k]],
                     (unsigned long long)r->kind[order[k]].bytes, (unsigned long long)r->kind[order[k]].blocks);
    drip__printf(w, "\"suppressed\": {\"bytes\": %llu, \"blocks\": %llu}},\n ",
                 (unsigned long long)r->suppressed.bytes, (unsigned long long)r->suppressed.blocks);
    if (raw->has_inherited)   /* a forked child: left out of its leaks (the parent reports them) */
        drip__printf(w, "\"inherited\": {\"bytes\": %llu, \"blocks\": %llu, \"parent\": %d},\n ",
                     (unsigned long long)raw->inherited_bytes, (unsigned long long)raw->inherited_blocks,
                     raw->inherited_parent);
    drip__puts(w, "\"leaks\": [");
    int first = 1;
    for (size_t i = 0; i < r->n && !r->g[i].merged; i++) {
        struct group *g = &r->g[i];
        drip__printf(w, "%s\n  {\"kind\": \"%s\", \"bytes\": %llu, \"blocks\": %llu, ", first ? "" : ",",
                     drip_raw_kind_names[g->kind], (unsigned long long)g->bytes, (unsigned long long)g->blocks);
        first = 0;
        if (g->suppressed >= 0) {
            drip__puts(w, "\"suppressed_by\": ");
            drip__put_json_str(w, r->supp.patterns[g->suppressed]);
            drip__puts(w, ", ");
        }
        if (g->kind == POSSIBLE)
            drip__printf(w, "\"interior_offset\": {\"min\": %u, \"max\": %u}, ", g->ioff_min, g->ioff_max);
        if (g->kind == REACHABLE || g->kind == POSSIBLE)
            drip__retention_json(w, r->ret, g->kind, g->sites, g->nsites);
        drip__puts(w, "\"stack\": ");
        drip__json_stack(w, &jc, g->frames, g->nframes, r->sym->raw);
        drip__puts(w, "}");
    }
    drip__puts(w, "],\n \"reachable_via_heuristic\": {");
    for (size_t h = 0; h < raw->nheur; h++)
        drip__printf(w, "%s\"%s\": {\"bytes\": %llu, \"blocks\": %llu}", h ? ", " : "", raw->heur[h].name,
                     (unsigned long long)raw->heur[h].bytes, (unsigned long long)raw->heur[h].blocks);
    drip__puts(w, "},\n \"threads\": [");
    for (size_t i = 0; i < raw->nthreads; i++) {
        const struct drip_raw_thread *t = &raw->threads[i];
        struct drip_frame start = start_routine(r, t);
        drip__printf(w, "%s\n  {\"state\": \"%s\", \"tid\": %d, \"start_routine\": ", i ? "," : "",
                     t->running ? "running" : "unjoined", t->tid);
        json_str_or_null(w, start.function);
        drip__puts(w, ", \"stack\": ");
        json_site(w, &jc, raw, r->sym, t->site);
        drip__puts(w, "}");
    }
    drip__puts(w, "],\n ");
    drip__retention_retainers_json(w, r->ret);
    drip__puts(w, "\n \"suspects\": ");
    drip__report_suspects_json(w, raw, r->sym);
    drip__printf(w, ",\n \"threads_unpaused\": %d, \"paused_us\": %lld}\n", raw->threads_unpaused, raw->paused_us);
    drip__jframes_free(&jc);
}

/* Sampling mode records one allocation in many: a block it did not record may hold the only
 * pointer to one it did, so no classification can be trusted. Say so instead of guessing. */
static void write_unclassified(const struct drip_raw *r, struct drip_writer *text, struct drip_writer *json)
{
    if (text)
        drip__printf(text, "==%d== drip: sampling mode (sample=%llu bytes): leak classification is unavailable; "
                          "use the heap profile (--profile, /debug/pprof/heap) for estimates\n", r->pid, r->sampling);
    if (json)
        drip__printf(json, "{\"pid\": %d, \"complete\": false, \"sampling\": %llu, \"classification\": \"unavailable\", "
                          "\"summary\": null, \"leaks\": [], \"threads\": [], \"suspects\": []}\n", r->pid, r->sampling);
}

int drip__report_write(const struct drip_raw *raw, const struct drip_symbols *sym, struct drip_writer *text,
                       struct drip_writer *json, const char *note)
{
    if (raw->sampling) {
        write_unclassified(raw, text, json);
        return 0;
    }
    struct report r = {.raw = raw, .sym = sym, .oom = raw->oom};
    const struct drip_options *o = &raw->opt;
    if (o->suppressions[0]) {
        char err[512];
        if (drip__suppressions_load(&r.supp, o->suppressions, err, sizeof err) != 0)
            fprintf(stderr, "drip: %s\n", err);
    }
    r.g = calloc(raw->nrecs ? raw->nrecs : 1, sizeof *r.g);
    if (!r.g)
        r.oom = 1;
    for (size_t i = 0; r.g && i < raw->nrecs; i++) {
        const struct drip_raw_rec *x = &raw->recs[i];
        struct group *g = &r.g[r.n++];
        *g = (struct group){.kind = (uint8_t)x->kind, .site = x->site, .bytes = x->bytes, .blocks = x->blocks,
                            .suppressed = -1, .ioff_min = x->ioff_min, .ioff_max = x->ioff_max,
                            .sites = {x->site}, .nsites = 1};
        /* a reachable record's summary line names only the allocating function (unless a
         * valgrind suppression may match its whole stack) */
        int summary = g->kind == REACHABLE && !o->show_reachable && !o->json[0] && !drip__suppressions_have_vg(&r.supp);
        site_frames(raw, sym, g->site, summary ? 1 : 0, !summary, &g->frames, &g->nframes);
    }
    merge_groups(&r);
    r.ret = drip__retention_new(raw, sym);
    for (size_t i = 0; i < r.n; i++) {
        struct group *g = &r.g[i];
        if (g->merged)
            continue;
        static const unsigned kind_bit[] = {[DEFINITE] = DRIP_SUPP_DEFINITE, [INDIRECT] = DRIP_SUPP_INDIRECT,
                                            [POSSIBLE] = DRIP_SUPP_POSSIBLE, [REACHABLE] = DRIP_SUPP_REACHABLE};
        if (r.supp.n)
            g->suppressed = drip__suppressions_match_kind(&r.supp, kind_bit[g->kind], g->frames, (size_t)g->nframes);
        if (g->suppressed >= 0) {
            r.supp.hits[g->suppressed] += g->blocks;
            r.suppressed.bytes += g->bytes;
            r.suppressed.blocks += g->blocks;
        } else {
            r.kind[g->kind].bytes += g->bytes;
            r.kind[g->kind].blocks += g->blocks;
        }
    }
    if (r.n)
        qsort(r.g, r.n, sizeof *r.g, by_kind_then_bytes);
    for (size_t i = 0; i < raw->nthreads; i++)
        *(raw->threads[i].running ? &r.threads_running : &r.threads_unjoined) += 1;
    if (text)
        write_text(text, &r, note);
    if (json)
        write_json(json, &r);
    /* the kinds that make error_exitcode the status (valgrind's --errors-for-leak-kinds) */
    unsigned error_kinds = 1u << DEFINITE | 1u << INDIRECT;
    drip__parse_error_kinds(o->error_kinds, strlen(o->error_kinds), &error_kinds);
    int leaked = 0;
    for (int k = REACHABLE; k <= DEFINITE; k++)
        leaked |= (error_kinds >> k & 1) && r.kind[k].blocks > 0;
    for (size_t i = 0; i < r.n; i++)
        free(r.g[i].frames);
    free(r.g);
    drip__retention_free(r.ret);
    drip__suppressions_free(&r.supp);
    return leaked;
}
