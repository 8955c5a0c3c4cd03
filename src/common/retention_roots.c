/* retention_roots.c — the names of retention roots, as a user names them: a global or static
 * variable (symbol, file:line of its definition, module; module+offset when stripped), a TLS
 * variable (the same, found by module and offset in its static TLS block, with its thread), a
 * stack frame (thread, function, line of its call), a register, an anonymous mapping (its range
 * and size, and the function that mmap'd it when the traced process saw the call). Naming a
 * variable reads the module's symbols and DWARF (the symbolizer's data, data_where and tls);
 * each root is named on first use. Shared with retention.c through retention_int.h.
 */
#include "retention_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct drip_raw_module *drip__raw_module_of_data(const struct drip_raw *r, uintptr_t addr)
{
    for (size_t i = 0; i < r->nmods; i++)
        for (int k = 0; k < r->mods[i].nw; k++)
            if (addr >= r->mods[i].w[k].lo && addr < r->mods[i].w[k].hi && !r->mods[i].unloaded)
                return &r->mods[i];
    return NULL;
}

static const char *const json_kind[] = {"global", "mapping", "stack", "tls", "register"};


/* A TLS root: the loaded module whose static TLS block holds it (by load bias), and the
 * variable at its offset there (o->d; symbol NULL: stripped, named by module+offset). 0: no
 * such module in the report. */
static int tls_name(struct drip_retention *t, const struct drip_raw_root *x, struct root *o)
{
    const struct drip_raw_module *m = NULL;
    for (size_t k = 0; k < t->raw->nmods && !m; k++)
        if (t->raw->mods[k].bias == x->tls_bias && !t->raw->mods[k].unloaded)
            m = &t->raw->mods[k];
    if (!m)
        return 0;
    if (x->has_tls == 2 || !t->sym->tls || t->sym->tls(t->sym->ctx, m, x->tls_off, &o->d) != 0) {
        memset(&o->d, 0, sizeof o->d);
        o->d.module = m->path;
        o->d.tls = m;
        return 1;
    }
    o->base = x->addr - (x->tls_off - o->d.start);   /* offsets from the variable's start */
    return 1;
}

static void name_root(struct drip_retention *t, size_t i)
{
    const struct drip_raw_root *x = &t->rt->roots[i];
    struct root *o = &t->roots[i];
    char buf[512];
    o->base = x->addr;
    if (x->start)
        t->sym->frame(t->sym->ctx, x->start + 1, 0, &o->thread);   /* an entry point, not a return address */
    switch (x->kind) {
    case 1:
        o->kind = K_STACK;
        if (x->ret)
            t->sym->frame(t->sym->ctx, x->ret, 1, &o->fn);
        snprintf(buf, sizeof buf, "stack %d %s", x->tid, o->fn.function ? o->fn.function : "?");
        break;
    case 2:
        o->kind = K_TLS;
        if (x->has_tls && tls_name(t, x, o))
            snprintf(buf, sizeof buf, "tls %d %s %s %lx", x->tid, o->d.module, o->d.symbol ? o->d.symbol : x->has_tls == 2 ? "dtv" : "",
                     (unsigned long)(o->d.symbol ? o->d.start : x->tls_off));
        else
            snprintf(buf, sizeof buf, "tls %d", x->tid);
        break;
    case 3:
        o->kind = K_REGISTER;
        snprintf(buf, sizeof buf, "%s %d", json_kind[o->kind], x->tid);
        break;
    default:
        if (t->sym->data && t->sym->data(t->sym->ctx, x->addr, &o->d) == 0) {
            o->kind = K_GLOBAL;
            o->base = o->d.start;
            snprintf(buf, sizeof buf, "global %s %s", o->d.module ? o->d.module : "", o->d.symbol);
        } else if (drip__raw_module_of_data(t->raw, x->addr)) {
            /* a module's data with no symbol (stripped): by module and offset from its load bias */
            const struct drip_raw_module *m = drip__raw_module_of_data(t->raw, x->addr);
            o->kind = K_GLOBAL;
            o->d.module = m->path;
            o->d.start = m->bias;   /* d.symbol stays NULL: the offset is printed from here */
            snprintf(buf, sizeof buf, "global %s %lx", o->d.module, (unsigned long)(x->addr - m->bias));
        } else {
            o->kind = K_MAPPING;
            if (x->map_site)
                o->mapper = drip__retention_site_top(t, x->map_site);
            snprintf(buf, sizeof buf, "mapping %lx-%lx", (unsigned long)x->lo, (unsigned long)x->hi);
        }
    }
    o->key = strdup(buf);
}

/* Root i, named on first use: naming a global reads the module's symbol table, and a report that
 * prints no retention path (reachable summary lines, the default) must not pay it for every root
 * the scan recorded. Its file:line (DWARF: libc's compressed debug file costs ~30 ms to open) are
 * looked up only when printed (drip__retention_root_where): the retainers are grouped by name. */
struct root *drip__retention_root(struct drip_retention *t, size_t i)
{
    if (!t->roots[i].key)
        name_root(t, i);
    return &t->roots[i];
}

struct root *drip__retention_root_where(struct drip_retention *t, size_t i)
{
    struct root *o = drip__retention_root(t, i);
    if ((o->kind == K_GLOBAL || o->kind == K_TLS) && o->d.symbol && !o->d.where && t->sym->data_where)
        t->sym->data_where(t->sym->ctx, &o->d);
    o->d.where = 1;
    return o;
}

/* A mapping's size as a user reads it: 1 MiB, 256 KiB, else in bytes. */
static void put_size(struct drip_writer *w, uintptr_t n)
{
    if (n && n % (1024 * 1024) == 0)
        drip__printf(w, "%lu MiB", (unsigned long)(n >> 20));
    else if (n && n % 1024 == 0)
        drip__printf(w, "%lu KiB", (unsigned long)(n >> 10));
    else {
        drip__put_count(w, n);
        drip__puts(w, " bytes");
    }
}

static const char *thread_name(const struct root *o, char *buf, size_t cap, int tid)
{
    if (!o->thread.function && !o->thread.addr)
        snprintf(buf, cap, "thread %d (main thread)", tid);
    else
        snprintf(buf, cap, "thread %d (start routine %s)", tid, o->thread.function ? o->thread.function : "???");
    return buf;
}

/* How a user names the root: global `cache` (server.c:12), stack of thread ... in main (...). */
void drip__retention_root_text(struct drip_writer *w, struct drip_retention *t, size_t i)
{
    const struct root *o = drip__retention_root_where(t, i);
    const struct drip_raw_root *x = &t->rt->roots[i];
    char tb[256];
    switch (o->kind) {
    case K_GLOBAL:
        if (o->d.symbol)
            drip__printf(w, "global `%s`", o->d.symbol);
        else
            drip__printf(w, "global at %s+0x%lx", drip__retention_base(o->d.module), (unsigned long)(x->addr - o->d.start));
        if (o->d.file)
            drip__printf(w, " (%s:%d)", drip__retention_base(o->d.file), o->d.line);
        if (o->d.module)
            drip__printf(w, " in %s", drip__retention_base(o->d.module));
        break;
    case K_MAPPING:
        drip__printf(w, "anonymous mapping 0x%lx-0x%lx (", (unsigned long)x->lo, (unsigned long)x->hi);
        put_size(w, x->hi - x->lo);
        drip__puts(w, ")");
        if (o->mapper.function)
            drip__printf(w, " mapped at %s", o->mapper.function);
        else if (o->mapper.module)   /* a stripped module: where in it, as pprof would say */
            drip__printf(w, " mapped at %s+0x%lx", drip__retention_base(o->mapper.module), (unsigned long)o->mapper.offset);
        else if (o->mapper.addr)
            drip__printf(w, " mapped at 0x%lx", (unsigned long)o->mapper.addr);
        if (o->mapper.file)
            drip__printf(w, " (%s:%d)", drip__retention_base(o->mapper.file), o->mapper.line);
        break;
    case K_TLS:
        if (!o->d.tls) {
            drip__printf(w, "TLS of %s", thread_name(o, tb, sizeof tb, x->tid));
            break;
        }
        if (x->has_tls == 2) {   /* the DTV entry: the next hop is the module's block */
            drip__printf(w, "dynamic TLS of %s (module id %lu), %s", drip__retention_base(o->d.module), (unsigned long)x->tls_off,
                         thread_name(o, tb, sizeof tb, x->tid));
            break;
        }
        if (o->d.symbol)
            drip__printf(w, "tls `%s`", o->d.symbol);
        else
            drip__printf(w, "TLS of %s at offset 0x%lx", drip__retention_base(o->d.module), (unsigned long)x->tls_off);
        if (o->d.file)
            drip__printf(w, " (%s:%d)", drip__retention_base(o->d.file), o->d.line);
        if (o->d.symbol)
            drip__printf(w, " in %s", drip__retention_base(o->d.module));
        drip__printf(w, ", %s", thread_name(o, tb, sizeof tb, x->tid));
        break;
    case K_STACK:
        /* no return address below the slot: an innermost frame (or a stale word in it) */
        drip__printf(w, "stack of %s, frame of %s", thread_name(o, tb, sizeof tb, x->tid),
                     o->fn.function ? o->fn.function : x->ret ? "???" : "the innermost function");
        if (o->fn.file)
            drip__printf(w, " (%s:%d)", drip__retention_base(o->fn.file), o->fn.line);
        break;
    default:
        drip__printf(w, "%s of %s", o->kind == K_TLS ? "TLS" : "a register", thread_name(o, tb, sizeof tb, x->tid));
    }
}


void drip__retention_root_json(struct drip_writer *w, struct drip_retention *t, size_t i)
{
    const struct root *o = drip__retention_root_where(t, i);
    const struct drip_raw_root *x = &t->rt->roots[i];
    bool var = o->kind == K_GLOBAL || o->kind == K_TLS;   /* named by o->d */
    drip__printf(w, "{\"kind\": \"%s\", \"symbol\": ", json_kind[o->kind]);
    drip__retention_json_str(w, var ? o->d.symbol : o->kind == K_STACK ? o->fn.function : NULL);
    drip__puts(w, ", \"module\": ");
    drip__retention_json_str(w, var ? o->d.module : o->kind == K_STACK ? o->fn.module : NULL);
    drip__puts(w, ", \"file\": ");
    drip__retention_json_str(w, var ? o->d.file : o->kind == K_STACK ? o->fn.file : NULL);
    drip__printf(w, ", \"line\": %d, \"address\": \"0x%lx\"",
                var ? o->d.line : o->kind == K_STACK ? o->fn.line : 0, (unsigned long)x->addr);
    if (o->kind == K_TLS && o->d.tls)
        drip__printf(w, x->has_tls == 2 ? ", \"tls_module_id\": %lu" : ", \"tls_offset\": %lu", (unsigned long)x->tls_off);
    if (o->kind == K_MAPPING && (o->mapper.function || o->mapper.addr)) {
        drip__puts(w, ", \"mapped_at\": {\"function\": ");
        drip__retention_json_str(w, o->mapper.function);
        drip__puts(w, ", \"file\": ");
        drip__retention_json_str(w, o->mapper.file);
        drip__printf(w, ", \"line\": %d, \"module\": ", o->mapper.line);
        drip__retention_json_str(w, o->mapper.module);
        drip__printf(w, ", \"offset\": \"0x%lx\"}", (unsigned long)o->mapper.offset);
    }
    if (o->kind >= K_STACK) {
        drip__printf(w, ", \"tid\": %d, \"thread_start\": ", x->tid);
        drip__retention_json_str(w, o->thread.function);
    }
    if (o->kind == K_MAPPING)
        drip__printf(w, ", \"range\": \"0x%lx-0x%lx\"", (unsigned long)x->lo, (unsigned long)x->hi);
    drip__puts(w, "}");
}

/* After the first hop of a path from a DTV entry (a module's dynamic TLS block): the variable
 * at the offset of the pointers in that block, " (tls `NAME` (file:line))". */
void drip__retention_dtv_var(struct drip_writer *w, struct drip_retention *t, size_t root, uint32_t off_min, uint32_t off_max)
{
    const struct root *o = drip__retention_root(t, root);
    const struct drip_raw_root *x = &t->rt->roots[root];
    struct drip_data_name d;
    if (o->kind != K_TLS || x->has_tls != 2 || !o->d.tls || off_min > off_max || !t->sym->tls ||
        t->sym->tls(t->sym->ctx, o->d.tls, off_min, &d) != 0 || (d.size && off_max >= d.start + d.size))
        return;
    if (t->sym->data_where)
        t->sym->data_where(t->sym->ctx, &d);
    drip__printf(w, " (tls `%s`", d.symbol);
    if (d.file)
        drip__printf(w, " (%s:%d)", drip__retention_base(d.file), d.line);
    drip__puts(w, ")");
}
