/* jframes.c — see jframes.h. No locks: a cache belongs to the one JSON document being written. */
#include "jframes.h"

#include <stdlib.h>
#include <string.h>

struct jframe {
    uintptr_t addr;
    const char *function, *file, *module;   /* the names it was formatted from */
    int line;
    size_t len;
    char *json;   /* NULL: empty slot */
};

static void json_str_or_null(struct drip_writer *w, const char *s)
{
    if (s)
        drip__put_json_str(w, s);
    else
        drip__puts(w, "null");
}

void drip__json_frame(struct drip_writer *w, const struct drip_frame *f, int raw)
{
    drip__puts(w, "{\"function\": ");
    json_str_or_null(w, f->function);
    drip__puts(w, ", \"file\": ");
    json_str_or_null(w, f->file);
    drip__printf(w, ", \"line\": %d, \"address\": \"0x%lx\", \"module\": ", f->line, (unsigned long)f->addr);
    json_str_or_null(w, f->module);
    if (raw && f->module) {
        drip__printf(w, ", \"offset\": \"0x%lx\", \"build_id\": ", (unsigned long)f->offset);
        json_str_or_null(w, f->build_id);
    }
    drip__puts(w, "}");
}

void drip__jframes_free(struct drip_jframes *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->e[i].json);
    free(c->e);
    free(c->m);
    memset(c, 0, sizeof *c);
}

static int grow(struct drip_jframes *c)
{
    if (!c->m && !(c->m = malloc(sizeof *c->m)))
        return -1;
    size_t cap = c->cap ? c->cap * 2 : 4096;
    struct jframe *e = calloc(cap, sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->e[i].json)
            continue;
        size_t h = (size_t)((c->e[i].addr * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
        while (e[h].json)
            h = (h + 1) & (cap - 1);
        e[h] = c->e[i];
    }
    free(c->e);
    c->e = e;
    c->cap = cap;
    return 0;
}

static void frame_cached(struct drip_writer *w, struct drip_jframes *c, const struct drip_frame *f, int raw)
{
    if (!c || (c->n + 1) * 2 > c->cap) {
        if (!c || grow(c) != 0) {
            drip__json_frame(w, f, raw);
            return;
        }
    }
    size_t h = (size_t)((f->addr * 0x9e3779b97f4a7c15ULL) >> 20) & (c->cap - 1);
    while (c->e[h].json && c->e[h].addr != f->addr)
        h = (h + 1) & (c->cap - 1);
    struct jframe *e = &c->e[h];
    if (e->json && e->function == f->function && e->file == f->file && e->module == f->module && e->line == f->line) {
        drip__write(w, e->json, e->len);
        return;
    }
    /* formatted in a writer with nowhere to drain to: a frame longer than its buffer is written
     * directly and not kept */
    struct drip_writer *m = c->m;
    m->fd = -1;
    m->len = 0;
    m->err = 0;
    drip__json_frame(m, f, raw);
    if (m->err) {
        drip__json_frame(w, f, raw);
        return;
    }
    drip__write(w, m->buf, m->len);
    char *copy = malloc(m->len);
    if (!copy)
        return;
    memcpy(copy, m->buf, m->len);
    if (e->json)
        free(e->json);   /* the same address named differently (with its line): the newer kept */
    else
        c->n++;
    *e = (struct jframe){f->addr, f->function, f->file, f->module, f->line, m->len, copy};
}

void drip__json_stack(struct drip_writer *w, struct drip_jframes *c, const struct drip_frame *f, int n, int raw)
{
    drip__puts(w, "[");
    for (int k = 0; k < n; k++) {
        if (k)
            drip__puts(w, ", ");
        frame_cached(w, c, &f[k], raw);
    }
    drip__puts(w, "]");
}

