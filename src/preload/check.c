/* check.c — leak assertions for tests: the API behind drip_check_begin/drip_check_end.
 *
 * A scope is a generation number: drip_check_begin bumps drip__generation and every block
 * allocated from then on carries the new value in its record (as does every thread created), so
 * drip_check_end finds what the scope left behind with one pass over the live table, without
 * keeping any list of its own. A record keeps 16 bits of its generation, so left alone the
 * counter would come round, after 65,536 begins, to the value of a block allocated before them
 * all, and a scope would take that block for its own leak. Every GEN_AGE_EVERY begins, records
 * more than GEN_WINDOW generations old are aged to exactly GEN_WINDOW old (the map frozen, as for
 * a scan): no record is then ever 65,536 or more behind the counter, and the comparisons below
 * are exact for a scope that stays open for up to GEN_WINDOW begins of other scopes. A forked
 * child's inherited blocks (table.h: drip__inherited) are aged with drip__fork_gen so that they
 * stay older than it. A thread keeps all 32 bits.
 */
#include "internal.h"
#include "lock.h"
#include "depot.h"
#include "export.h"
#include "table.h"
#include "threads.h"
#include "drip/drip.h"
#include "suppress.h"
#include "symbolize.h"
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { CHECK_STARTED = 0x64726970 };

struct leak_site {
    uint32_t site;
    uint64_t bytes, blocks;
};

struct gather {
    uint32_t g0;
    struct leak_site *s;
    size_t n, cap;
};

static int in_scope(uint32_t gen, uint32_t g0, uint32_t now)
{
    return (uint16_t)(gen - g0) <= (uint16_t)(now - g0);
}

static int thread_in_scope(uint32_t gen, uint32_t g0, uint32_t now) { return gen - g0 <= now - g0; }

enum { GEN_WINDOW = 1 << 15, GEN_AGE_EVERY = 1 << 14 };

struct ager {
    uint32_t now;
    uint16_t floor;       /* the oldest generation a record keeps */
    uint16_t inh;         /* a forked child: what its inherited records become */
    bool child;
};

static uint16_t age_one(uint16_t gen, void *arg)
{
    const struct ager *a = arg;
    if (a->child && drip__inherited(gen))
        return a->inh;
    return (uint16_t)(a->now - gen) > (uint16_t)(a->now - a->floor) ? a->floor : gen;
}

/* Ages every record more than GEN_WINDOW generations behind `now` (see the top of the file). */
static void age_generations(uint32_t now)
{
    struct drip__entry e = drip__enter();
    drip__lock_world();   /* the map frozen; no scan reads drip__fork_gen meanwhile */
    struct ager a = {.now = now, .floor = (uint16_t)(now - GEN_WINDOW)};
    uint32_t base = now - GEN_WINDOW;
    if (drip__fork_parent) {   /* inherited records stay just below drip__fork_gen, itself kept recent */
        a.child = true;
        if (now - drip__fork_gen < GEN_WINDOW)
            base = drip__fork_gen;
        a.floor = (uint16_t)base;
        a.inh = (uint16_t)(base - 1);
    }
    drip__table_regen(age_one, &a);
    if (drip__fork_parent)
        drip__fork_gen = base;
    drip__unlock_world();
    drip__leave(e);
}

static void gather_cb(const struct drip__rec *r, void *arg)
{
    struct gather *g = arg;
    uint32_t now = atomic_load_explicit(&drip__generation, memory_order_relaxed);
    if (!in_scope((uint32_t)r->gen, g->g0, now))
        return;
    for (size_t i = 0; i < g->n; i++)
        if (g->s[i].site == r->site) {
            g->s[i].bytes += r->size;
            g->s[i].blocks++;
            return;
        }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        struct leak_site *ns = realloc(g->s, cap * sizeof *ns);
        if (!ns)
            return;
        g->s = ns;
        g->cap = cap;
    }
    g->s[g->n++] = (struct leak_site){r->site, r->size, 1};
}

DRIP_EXPORT int drip_api_check_begin(drip_check_t *c)
{
    if (!atomic_load(&drip__g.initialised))
        return -ENOSYS;
    c->generation = atomic_fetch_add(&drip__generation, 1) + 1;
    if (c->generation % GEN_AGE_EVERY == 0)
        age_generations(c->generation);
    c->started = CHECK_STARTED;
    return 0;
}

/* Threads started in the scope: running and finished-but-unjoined. */
static void count_threads(uint32_t g0, uint64_t *running, uint64_t *unjoined)
{
    uint32_t now = atomic_load(&drip__generation);
    *running = *unjoined = 0;
    drip__threads_lock();
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next) {
        if (t->is_main || !thread_in_scope(t->gen, g0, now))
            continue;
        if (atomic_load(&t->state) == DRIP_THREAD_RUNNING)
            (*running)++;
        else if (!t->joined && !t->detached)
            (*unjoined)++;
    }
    drip__threads_unlock();
}

/* The names of every address the check prints, asked of the symbolizer at once. */
struct names_table {
    struct drip__names names;
    int ok;
};

static struct drip_frame name_of(const struct names_table *t, uintptr_t a)
{
    for (size_t i = 0; t->ok && i < t->names.n; i++)
        if (t->names.f[i].addr == a)
            return t->names.f[i];
    return (struct drip_frame){.addr = a};
}

static void print_frames(struct drip_writer *w, const struct names_table *sym, const uintptr_t *f, int n)
{
    for (int k = 0; k < n; k++) {
        struct drip_frame fr = name_of(sym, f[k]);
        drip__printf(w, "    %s %s", k ? "by" : "at", fr.function ? fr.function : "???");
        if (fr.file)
            drip__printf(w, " (%s:%d)", fr.file, fr.line);
        drip__puts(w, "\n");
        if (fr.function && !strcmp(fr.function, "main"))
            break;
    }
}

static int ignored(const struct names_table *sym, const struct drip__site *s, const char *const *pats)
{
    for (uint32_t k = 0; pats && sym->ok && k < s->depth; k++) {
        struct drip_frame fr = name_of(sym, s->frames[k]);
        for (const char *const *p = pats; *p; p++)
            if (drip__template_match(*p, fr.function))
                return 1;
    }
    return 0;
}

DRIP_EXPORT int drip_api_check_end(drip_check_t *c, const struct drip_check_options *o, drip_check_result_t *out,
                                   size_t size)
{
    if (!atomic_load(&drip__g.initialised))
        return -ENOSYS;
    if (c->started != CHECK_STARTED)
        return -EINVAL;
    struct drip_check_options def = {.thread_wait_ms = 1000};
    if (!o)
        o = &def;
    drip_check_result_t r;
    memset(&r, 0, sizeof r);
    /* goleak's patience: threads the scope started get a bounded time to finish */
    int waited = 0, limit = o->thread_wait_ms > 0 ? o->thread_wait_ms : 0;
    for (;;) {
        count_threads(c->generation, &r.threads_running, &r.threads_unjoined);
        if (!r.threads_running || waited >= limit)
            break;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        waited += 10;
    }
    struct drip__entry e = drip__enter();
    struct gather g = {.g0 = c->generation};
    drip__table_foreach(gather_cb, &g);
    struct names_table table = {0}, *sym = &table;
    if (g.n || r.threads_running || r.threads_unjoined) {
        size_t na = 0, cap = 64;
        uintptr_t *addrs = malloc(cap * sizeof *addrs);
        uint32_t now = atomic_load(&drip__generation);
        for (size_t i = 0; addrs && i < g.n; i++) {
            struct drip__site *s = drip__depot_get(g.s[i].site);
            for (uint32_t k = 0; s && k < s->depth; k++) {
                if (na == cap && !(addrs = realloc(addrs, (cap *= 2) * sizeof *addrs)))
                    break;
                addrs[na++] = s->frames[k];
            }
        }
        drip__threads_lock();
        for (struct drip__thread *t = drip__threads_list(); addrs && t; t = t->next) {
            if (t->is_main || !thread_in_scope(t->gen, c->generation, now))
                continue;
            struct drip__site *s = drip__depot_get(t->create_site);
            for (uint32_t k = 0; addrs && k <= (s ? s->depth : 0); k++) {
                if (na == cap && !(addrs = realloc(addrs, (cap *= 2) * sizeof *addrs)))
                    break;
                addrs[na++] = k ? s->frames[k - 1] : t->start_routine + 1;
            }
        }
        drip__threads_unlock();
        table.ok = addrs && drip__names(addrs, na, &table.names) == 0;
        free(addrs);
    }
    struct drip_writer w;
    drip__writer_fd(&w, 2);
    for (size_t i = 0; i < g.n; i++) {
        struct drip__site *s = drip__depot_get(g.s[i].site);
        if (s && ignored(sym, s, o->ignore)) {
            r.ignored_bytes += g.s[i].bytes;
            r.ignored_blocks += g.s[i].blocks;
            continue;
        }
        r.leaked_bytes += g.s[i].bytes;
        r.leaked_blocks += g.s[i].blocks;
        if (o->quiet)
            continue;
        drip__puts(&w, "drip: leak check: ");
        drip__put_count(&w, g.s[i].bytes);
        drip__puts(&w, " bytes in ");
        drip__put_count(&w, g.s[i].blocks);
        drip__puts(&w, " blocks allocated in the scope are still live, allocated\n");
        if (s)
            print_frames(&w, sym, s->frames, (int)s->depth);
    }
    if (!o->quiet && (r.threads_running || r.threads_unjoined)) {
        uint32_t now = atomic_load(&drip__generation);
        drip__threads_lock();
        for (struct drip__thread *t = drip__threads_list(); t; t = t->next) {
            int running = atomic_load(&t->state) == DRIP_THREAD_RUNNING;
            if (t->is_main || !thread_in_scope(t->gen, c->generation, now) || (!running && (t->joined || t->detached)))
                continue;
            struct drip_frame start = name_of(sym, t->start_routine + 1);
            drip__printf(&w, "drip: leak check: a thread started in the scope (start routine %s) %s, created\n",
                         start.function ? start.function : "???",
                         running ? "is still running" : "finished but was never joined or detached");
            struct drip__site *s = drip__depot_get(t->create_site);
            if (s)
                print_frames(&w, sym, s->frames, (int)s->depth);
        }
        drip__threads_unlock();
    }
    drip__flush(&w);
    if (table.ok)
        drip__names_free(&table.names);
    free(g.s);
    drip__leave(e);
    memcpy(out, &r, size < sizeof r ? size : sizeof r);
    c->started = 0;
    return (r.leaked_blocks || r.threads_running || r.threads_unjoined) ? 1 : 0;
}
