/* render.c — see render.h. */
#include "render.h"
#include "suppress_vg.h"
#include "writer.h"
#include "pprof_write.h"
#include "report.h"
#include "retention.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int write_pprof(const struct drip_raw *r, const struct drip_symbols *sym, int fd, int text)
{
    struct drip_pprof_sample *s = calloc(r->nsamples ? r->nsamples : 1, sizeof *s);
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct drip_raw_site *site = drip__raw_site_of(r, r->samples[i].site);
        s[i].frames = site ? site->frames : NULL;
        s[i].nframes = site ? site->n : 0;
        memcpy(s[i].values, r->samples[i].v, sizeof s[i].values);
        s[i].block_size = r->samples[i].block_size;
    }
    struct drip_pprof_meta meta = {
        .default_alloc_space = r->want_allocs,
        .period = r->period > 0 ? r->period : 1,
        .time_nanos = r->time_nanos,
        .duration_nanos = r->duration_nanos,
        .raw = r,
    };
    int rc;
    if (text) {
        struct drip_writer w;
        drip__writer_fd(&w, fd);
        drip__pprof_write_text(&w, s, r->nsamples, &meta, sym);
        rc = -drip__flush(&w);
    } else {
        rc = drip__pprof_write(fd, s, r->nsamples, &meta, sym);
    }
    free(s);
    return rc;
}

/* One line per address: address, function, file, line, module, tab-separated ("" unknown). */
static int write_names(const struct drip_raw *r, const struct drip_symbols *sym, int fd)
{
    struct drip_writer w;
    drip__writer_fd(&w, fd);
    for (size_t i = 0; i < r->naddrs; i++) {
        struct drip_frame f;
        sym->frame(sym->ctx, r->addrs[i], 1, &f);
        drip__printf(&w, "%lx\t%s\t%s\t%d\t%s\n", (unsigned long)r->addrs[i], f.function ? f.function : "",
                     f.file ? f.file : "", f.line, f.module ? f.module : "");
    }
    return -drip__flush(&w);
}

int drip__render(const struct drip_raw *r, const struct drip_symbols *sym, const struct drip_render_out *o, int *leaked)
{
    *leaked = 0;
    if (!strcmp(r->want, "pprof") || !strcmp(r->want, "pprof_text"))
        return write_pprof(r, sym, o->out_fd, !strcmp(r->want, "pprof_text"));
    if (!strcmp(r->want, "names"))
        return write_names(r, sym, o->out_fd);
    if (!strcmp(r->want, "retainers"))   /* /debug/drip/retainers */
        return drip__retention_write_json(r, sym, o->out_fd);
    if (!strcmp(r->want, "retained"))    /* /debug/pprof/retained */
        return drip__retention_write_pprof(r, sym, o->out_fd);
    if (!strcmp(r->want, "suspects")) {
        struct drip_writer w;
        drip__writer_fd(&w, o->out_fd);
        drip__report_suspects_json(&w, r, sym);
        return -drip__flush(&w);
    }
    int rc = 0;
    struct drip_writer tw, jw;
    if (o->text_fd >= 0)
        drip__writer_fd(&tw, o->text_fd);
    if (o->json_fd >= 0)
        drip__writer_fd(&jw, o->json_fd);
    if (o->text_fd >= 0 || o->json_fd >= 0)
        *leaked = drip__report_write(r, sym, o->text_fd >= 0 ? &tw : NULL, o->json_fd >= 0 ? &jw : NULL, o->note);
    if (o->text_fd >= 0 && (rc = -drip__flush(&tw)) != 0)
        return rc;
    if (o->json_fd >= 0 && (rc = -drip__flush(&jw)) != 0)
        return rc;
    if (o->profile_fd >= 0 && r->has_pprof)
        rc = write_pprof(r, sym, o->profile_fd, 0);
    return rc;
}

/* A record's suppression in valgrind's format (suppress_vg.h). drip's stack starts in the allocating function's caller: a leading `...` stands for valgrind's
 * allocation frame (it matches it under valgrind, nothing under drip; drip's own leading
 * allocator frames, operator new's in libstdc++, are left out). Inlined calls as frames of their
 * own before their caller's, as valgrind lists them. Named frames as fun:,
 * with valgrind's name (the symbol table's: mangled, with its version; drip__vg_frame_name),
 * others as obj:. */
void drip__vg_supp_write(struct drip_writer *w, const char *kind, const struct drip_frame *frames, int n)
{
    drip__printf(w, "{\n   <insert_a_suppression_name_here>\n   Memcheck:Leak\n   match-leak-kinds: %s\n   ...\n", kind);
    int k = 0;
    while (k < n && drip__vg_is_operator_new(&frames[k]))
        k++;   /* operator new's own frames (libstdc++'s): `...` stands for valgrind's */
    for (; k < n; k++) {
        const struct drip_frame *f = &frames[k];
        /* the calls inlined there first, innermost first, as valgrind lists them */
        for (const char *in = f->inlined, *end; in && *in; in = end ? end + 1 : NULL) {
            end = strchr(in, '\x1f');
            int len = end ? (int)(end - in) : (int)strlen(in);
            drip__printf(w, "   fun:%.*s\n", len, in);
        }
        const char *name = drip__vg_frame_name(f);
        if (name && *name)
            drip__printf(w, "   fun:%s\n", name);
        else if (f->module && *f->module)
            drip__printf(w, "   obj:%s\n", f->module);
        else
            drip__puts(w, "   obj:*\n");
        const char *wrapper = drip__vg_wrapped(frames, (size_t)k, (size_t)n);
        if (wrapper)   /* memcheck's wrapper of it, a frame of its own */
            drip__printf(w, "   fun:%s\n", wrapper);
    }
    drip__puts(w, "}\n");
}
