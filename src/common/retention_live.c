/* retention_live.c — the live endpoints' documents from a raw report's retention lines
 * (retention.h): /debug/drip/retainers (JSON) and /debug/pprof/retained (pprof). Allocates
 * through libc; no locks.
 */
#include "retention_int.h"
#include "pprof_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int drip__retention_write_json(const struct drip_raw *r, const struct drip_symbols *sym, int fd)
{
    struct drip_writer w;
    drip__writer_fd(&w, fd);
    struct drip_retention *t = drip__retention_new(r, sym);
    drip__printf(&w, "{\"pid\": %d, ", r->pid);
    if (t)
        drip__retention_retainers_json(&w, t);
    else
        drip__puts(&w, "\"retained_sizes\": \"off\", \"retainers\": [], \"retained_sites\": [], ");
    drip__printf(&w, "\"complete\": %s, \"paused_us\": %lld}\n", r->oom ? "false" : "true", r->paused_us);
    drip__retention_free(t);
    return -drip__flush(&w);
}

static const char *file_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p ? p : "?";
}

/* The profile's frames: a record's and each hop's allocating function (real return addresses),
 * and under them the root, at an address no code has (below 4 KiB), named here. */
enum { FAKE_BASE = 0x100, FAKE_STEP = 4 };

struct fake_sym {
    struct drip_retention *t;
    const struct drip_symbols *real;
    char (*names)[256];
};

static void fake_frame(void *ctx, uintptr_t addr, int lines, struct drip_frame *f)
{
    struct fake_sym *fs = ctx;
    size_t n = fs->t->rt->nroots;
    if (addr >= FAKE_BASE + 1 && addr < FAKE_BASE + 1 + n * FAKE_STEP) {
        size_t i = (addr - FAKE_BASE - 1) / FAKE_STEP;
        const struct root *o = drip__retention_root_where(fs->t, i);
        memset(f, 0, sizeof *f);
        f->addr = addr;
        f->function = fs->names[i];
        f->file = o->kind == K_GLOBAL ? o->d.file : o->kind == K_STACK ? o->fn.file : NULL;
        f->line = o->kind == K_GLOBAL ? o->d.line : o->kind == K_STACK ? o->fn.line : 0;
        f->module = o->kind == K_GLOBAL ? o->d.module : NULL;
        return;
    }
    fs->real->frame(fs->real->ctx, addr, lines, f);
}

int drip__retention_write_pprof(const struct drip_raw *r, const struct drip_symbols *sym, int fd)
{
    struct drip_retention *t = drip__retention_new(r, sym);
    const struct drip_raw_retain *rt = t ? t->rt : NULL;
    size_t nh = rt ? rt->nheld : 0, nr = rt ? rt->nroots : 0;
    struct drip_pprof_sample *s = calloc(nh ? nh : 1, sizeof *s);
    uintptr_t *frames = calloc((nh ? nh : 1) * (MAX_HOPS + 1), sizeof *frames);
    struct fake_sym fs = {t, sym, calloc(nr ? nr : 1, sizeof *fs.names)};
    int rc = -ENOMEM;
    if (s && frames && fs.names) {
        for (size_t i = 0; i < nr; i++) {   /* how pprof names the root: "global g_cache" */
            const struct root *o = drip__retention_root(t, i);
            const struct drip_raw_root *x = &rt->roots[i];
            if (o->kind == K_GLOBAL && o->d.symbol)
                snprintf(fs.names[i], sizeof fs.names[i], "global %s", o->d.symbol);
            else if (o->kind == K_GLOBAL)   /* stripped: by module and offset, as the text report */
                snprintf(fs.names[i], sizeof fs.names[i], "global at %s+0x%lx", file_name(o->d.module),
                         (unsigned long)(x->addr - o->d.start));
            else if (o->kind == K_STACK)
                snprintf(fs.names[i], sizeof fs.names[i], "stack of thread %d: %s", x->tid,
                         o->fn.function ? o->fn.function : "???");
            else if (o->kind == K_MAPPING && o->mapper.function)
                snprintf(fs.names[i], sizeof fs.names[i], "mapping 0x%lx-0x%lx mapped at %s", (unsigned long)x->lo,
                         (unsigned long)x->hi, o->mapper.function);
            else if (o->kind == K_MAPPING)
                snprintf(fs.names[i], sizeof fs.names[i], "mapping 0x%lx-0x%lx", (unsigned long)x->lo, (unsigned long)x->hi);
            else if (o->kind == K_TLS && o->d.symbol)
                snprintf(fs.names[i], sizeof fs.names[i], "tls %s of thread %d", o->d.symbol, x->tid);
            else if (o->kind == K_TLS && o->d.tls && x->has_tls == 2)
                snprintf(fs.names[i], sizeof fs.names[i], "dynamic tls of %s of thread %d", file_name(o->d.module), x->tid);
            else if (o->kind == K_TLS && o->d.tls)
                snprintf(fs.names[i], sizeof fs.names[i], "tls at %s+0x%lx of thread %d", file_name(o->d.module),
                         (unsigned long)x->tls_off, x->tid);
            else
                snprintf(fs.names[i], sizeof fs.names[i], "%s of thread %d", o->kind == K_TLS ? "TLS" : "register", x->tid);
        }
        size_t ns = 0;
        for (size_t i = 0; i < nh; i++) {
            uint32_t c[MAX_HOPS], root;
            int n = drip__retention_chain(rt, rt->held[i].path, c, &root);
            if (!n)
                continue;
            uintptr_t *f = frames + ns * (MAX_HOPS + 1);
            int k = 0;
            for (int j = n - 1; j >= 0; j--) {   /* the held site first (the leaf), the root last */
                if (c[j] == GAP)
                    continue;
                const struct drip_raw_site *site = drip__raw_site_of(r, rt->paths[c[j]].site);
                if (site && site->n)
                    f[k++] = site->frames[0];
            }
            f[k++] = FAKE_BASE + 1 + root * FAKE_STEP;
            s[ns] = (struct drip_pprof_sample){f, k, {(int64_t)rt->held[i].blocks, (int64_t)rt->held[i].bytes,
                                                      (int64_t)rt->held[i].blocks, (int64_t)rt->held[i].bytes}, 0};
            ns++;
        }
        struct drip_pprof_meta meta = {.period = 1, .time_nanos = r->time_nanos, .raw = r};
        struct drip_symbols wrap = {fake_frame, &fs, sym->raw, NULL, NULL, NULL};
        rc = drip__pprof_write(fd, s, ns, &meta, &wrap);
    }
    free(s);
    free(frames);
    free(fs.names);
    drip__retention_free(t);
    return rc;
}
