/* pprof_decode.c — the pprof reader's decoders (see pprof_rd.h): one per message of
 * profile.proto, and the loop over Profile's top-level fields, which arrive one at a time from
 * the input window (a field must fit in memory, the file need not). References (string indices,
 * ids) are kept raw in side arrays until pprof_read.c resolves them; samples go to a byte arena
 * as varints. No locks.
 */
#include "pprof_rd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_id(struct rd *r, uint64_t v) { return PUSH(r, r->ids, r->nids, r->cap_ids, v); }
static int add_val(struct rd *r, uint64_t v) { return PUSH(r, r->vals, r->nvals, r->cap_vals, (int64_t)v); }
static int add_comment(struct rd *r, uint64_t v)
{
    size_t n = r->p->ncomments;
    if (PUSH(r, r->cm_str, n, r->cap_cm_str, (int64_t)v))
        return -1;
    r->p->ncomments = n;
    return 0;
}

/* ---- message decoders --------------------------------------------------------------------------- */

static int dec_vtype(struct rd *r, const struct field *pf, uint64_t out[2])
{
    struct cur c = {pf->data, pf->data + pf->len};
    out[0] = out[1] = 0;
    while (c.p < c.end) {
        struct field f;
        const unsigned char *at = c.p;
        if (drip__pprof_field(r, &c, &f))
            return -1;
        if ((f.num == 1 || f.num == 2) && !drip__pprof_want(r, &f, 0, "ValueType", at))
            out[f.num - 1] = f.v;
        else if (r->failed)
            return -1;
    }
    return 0;
}

static int arena_varint(struct rd *r, uint64_t v)
{
    struct drip__pprof_priv *pv = r->pv;
    if (pv->acap - pv->alen < 10) {
        size_t nc = pv->acap ? pv->acap * 2 : 1 << 16;
        unsigned char *q = realloc(pv->arena, nc);
        if (!q)
            return drip__pprof_oom(r);
        pv->arena = q;
        pv->acap = nc;
    }
    while (v >= 0x80) {
        pv->arena[pv->alen++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    pv->arena[pv->alen++] = (unsigned char)v;
    return 0;
}

static int dec_sample(struct rd *r, const struct field *pf)
{
    struct cur c = {pf->data, pf->data + pf->len};
    r->nids = r->nvals = 0;
    while (c.p < c.end) {
        struct field f;
        const unsigned char *at = c.p;
        if (drip__pprof_field(r, &c, &f))
            return -1;
        if (f.num == 1 && drip__pprof_scalars(r, &f, at, add_id))
            return -1;
        if (f.num == 2 && drip__pprof_scalars(r, &f, at, add_val))
            return -1;
        /* 3: labels, skipped */
    }
    if (arena_varint(r, r->nids))
        return -1;
    for (size_t i = 0; i < r->nids; i++)
        if (arena_varint(r, r->ids[i]))
            return -1;
    if (arena_varint(r, r->nvals))
        return -1;
    for (size_t i = 0; i < r->nvals; i++) {
        int64_t v = r->vals[i];
        if (arena_varint(r, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)))
            return -1;
    }
    if (r->nids > r->p->max_depth)
        r->p->max_depth = r->nids;
    r->p->nsamples++;
    return 0;
}

static int dec_mapping(struct rd *r, const struct field *pf)
{
    struct drip_pprof_mapping m = {0};
    uint64_t s[2] = {0, 0};
    struct cur c = {pf->data, pf->data + pf->len};
    while (c.p < c.end) {
        struct field f;
        const unsigned char *at = c.p;
        if (drip__pprof_field(r, &c, &f))
            return -1;
        if (f.num > 10)
            continue;
        if (drip__pprof_want(r, &f, 0, "Mapping", at))
            return -1;
        switch (f.num) {
        case 1: m.id = f.v; break;
        case 2: m.start = f.v; break;
        case 3: m.limit = f.v; break;
        case 4: m.offset = f.v; break;
        case 5: s[0] = f.v; break;
        case 6: s[1] = f.v; break;
        case 7: m.has_functions = f.v != 0; break;
        case 8: m.has_filenames = f.v != 0; break;
        case 9: m.has_line_numbers = f.v != 0; break;
        case 10: m.has_inline_frames = f.v != 0; break;
        }
    }
    size_t n = r->p->nmappings, k = 2 * n;
    if (PUSH(r, r->map_str, k, r->cap_map_str, s[0]) || PUSH(r, r->map_str, k, r->cap_map_str, s[1]))
        return -1;
    return PUSH(r, r->p->mappings, r->p->nmappings, r->cap_map, m);
}

static int dec_line(struct rd *r, const struct field *pf, uint64_t *fn, int64_t *line)
{
    struct cur c = {pf->data, pf->data + pf->len};
    *fn = 0;
    *line = 0;
    while (c.p < c.end) {
        struct field f;
        const unsigned char *at = c.p;
        if (drip__pprof_field(r, &c, &f))
            return -1;
        if (f.num > 3)
            continue;
        if (drip__pprof_want(r, &f, 0, "Line", at))
            return -1;
        if (f.num == 1)
            *fn = f.v;
        else if (f.num == 2)
            *line = (int64_t)f.v;
    }
    return 0;
}

static int dec_location(struct rd *r, const struct field *pf)
{
    struct drip_pprof *p = r->p;
    struct drip_pprof_location l = {0};
    uint64_t mapping = 0;
    if (p->nlines > UINT32_MAX - 1)
        return drip__pprof_fail(r, "profile too large (more than 2^32 lines)");
    l.first_line = (uint32_t)p->nlines;
    struct cur c = {pf->data, pf->data + pf->len};
    while (c.p < c.end) {
        struct field f;
        const unsigned char *at = c.p;
        if (drip__pprof_field(r, &c, &f))
            return -1;
        if (f.num == 4) {
            if (drip__pprof_want(r, &f, 2, "Location", at))
                return -1;
            uint64_t fn;
            struct drip_pprof_line ln = {DRIP_PPROF_NONE, 0};
            if (dec_line(r, &f, &fn, &ln.line))
                return -1;
            size_t k = p->nlines;
            if (PUSH(r, r->ln_fn, k, r->cap_ln_fn, fn) || PUSH(r, p->lines, p->nlines, r->cap_ln, ln))
                return -1;
            if (p->nlines - l.first_line > UINT32_MAX - 1)
                return drip__pprof_fail(r, "profile too large (a location with 2^32 lines)");
            continue;
        }
        if (f.num > 5)
            continue;
        if (drip__pprof_want(r, &f, 0, "Location", at))
            return -1;
        if (f.num == 1)
            l.id = f.v;
        else if (f.num == 2)
            mapping = f.v;
        else if (f.num == 3)
            l.address = f.v;
    }
    /* Lines must be contiguous per location: a Line field was decoded above only between this
     * location's own fields, so they are. */
    l.nlines = (uint32_t)(p->nlines - l.first_line);
    l.mapping = DRIP_PPROF_NONE;
    if (p->nlocations >= UINT32_MAX - 1)
        return drip__pprof_fail(r, "profile too large (more than 2^32 locations)");
    size_t k = p->nlocations;
    if (PUSH(r, r->loc_map, k, r->cap_loc_map, mapping))
        return -1;
    return PUSH(r, p->locations, p->nlocations, r->cap_loc, l);
}

static int dec_function(struct rd *r, const struct field *pf)
{
    struct drip_pprof_function fn = {0};
    uint64_t s[3] = {0, 0, 0};
    struct cur c = {pf->data, pf->data + pf->len};
    while (c.p < c.end) {
        struct field f;
        const unsigned char *at = c.p;
        if (drip__pprof_field(r, &c, &f))
            return -1;
        if (f.num > 5)
            continue;
        if (drip__pprof_want(r, &f, 0, "Function", at))
            return -1;
        if (f.num == 1)
            fn.id = f.v;
        else if (f.num == 5)
            fn.start_line = (int64_t)f.v;
        else
            s[f.num - 2] = f.v;
    }
    if (r->p->nfunctions >= UINT32_MAX - 1)
        return drip__pprof_fail(r, "profile too large (more than 2^32 functions)");
    size_t k = 3 * r->p->nfunctions;
    for (int i = 0; i < 3; i++)
        if (PUSH(r, r->fn_str, k, r->cap_fn_str, s[i]))
            return -1;
    return PUSH(r, r->p->functions, r->p->nfunctions, r->cap_fn, fn);
}

static int dec_string(struct rd *r, const struct field *f)
{
    struct drip__pprof_priv *pv = r->pv;
    while (pv->scap - pv->slen < f->len + 1) {
        size_t nc = pv->scap ? pv->scap * 2 : 1 << 16;
        if (nc < pv->scap)
            return drip__pprof_oom(r);
        char *q = realloc(pv->strbuf, nc);
        if (!q)
            return drip__pprof_oom(r);
        pv->strbuf = q;
        pv->scap = nc;
    }
    size_t at = pv->slen;
    memcpy(pv->strbuf + at, f->data, f->len);
    pv->strbuf[at + f->len] = 0;
    pv->slen += f->len + 1;
    return PUSH(r, r->stroff, r->nstr, r->cap_str, at);
}

/* Decodes one top-level Profile field whose bytes are in memory. */
static int dec_top(struct rd *r, const struct field *f, const unsigned char *at)
{
    struct drip_pprof *p = r->p;
    switch (f->num) {
    case 1: { /* sample_type */
        uint64_t vt[2];
        if (drip__pprof_want(r, f, 2, "Profile", at) || dec_vtype(r, f, vt))
            return -1;
        size_t k = 2 * p->nsample_types;
        struct drip_pprof_vtype t = {"", ""};
        if (PUSH(r, r->st_str, k, r->cap_st_str, vt[0]) || PUSH(r, r->st_str, k, r->cap_st_str, vt[1]) ||
            PUSH(r, p->sample_types, p->nsample_types, r->cap_st, t))
            return -1;
        r->seen_core = 1;
        return 0;
    }
    case 2: return drip__pprof_want(r, f, 2, "Profile", at) || dec_sample(r, f);
    case 3: return drip__pprof_want(r, f, 2, "Profile", at) || dec_mapping(r, f);
    case 4: return drip__pprof_want(r, f, 2, "Profile", at) || dec_location(r, f);
    case 5: return drip__pprof_want(r, f, 2, "Profile", at) || dec_function(r, f);
    case 6:
        if (drip__pprof_want(r, f, 2, "Profile", at) || dec_string(r, f))
            return -1;
        r->seen_core = 1;
        return 0;
    case 11: return drip__pprof_want(r, f, 2, "Profile", at) || dec_vtype(r, f, r->pt_str);
    case 13: return drip__pprof_scalars(r, f, at, add_comment);
    case 7: case 8: case 9: case 10: case 12: case 14: case 15:
        if (drip__pprof_want(r, f, 0, "Profile", at))
            return -1;
        switch (f->num) {
        case 7: r->drop = (int64_t)f->v; break;
        case 8: r->keep = (int64_t)f->v; break;
        case 9: p->time_nanos = (int64_t)f->v; break;
        case 10: p->duration_nanos = (int64_t)f->v; break;
        case 12: p->period = (int64_t)f->v; break;
        case 14: r->dst = (int64_t)f->v; break;
        }
        return 0;
    default:
        return 0; /* unknown field: skipped */
    }
}

/* The stream ended inside a field: a truncated profile, or not a profile at all. */
static int truncated(struct rd *r, const char *what)
{
    if (!r->seen_core)
        return drip__pprof_bad(r, r->off, what);
    return drip__pprof_fail(r, "truncated profile (%s)", what);
}

/* Reads the whole stream field by field. */
int drip__pprof_parse(struct rd *r)
{
    char what[160];
    for (;;) {
        if (drip__pprof_fill(r, 20))
            return -1;
        size_t avail = r->hi - r->lo;
        if (!avail)
            return 0;
        const unsigned char *b = r->buf + r->lo;
        struct cur c = {b, b + avail};
        uint64_t key, v;
        size_t need = 0;
        int e = drip__pprof_varint(&c, &key);
        if (!e) {
            switch (key & 7) {
            case 0: e = drip__pprof_varint(&c, &v); need = (size_t)(c.p - b); break;
            case 1: need = (size_t)(c.p - b) + 8; break;
            case 5: need = (size_t)(c.p - b) + 4; break;
            case 2:
                e = drip__pprof_varint(&c, &v);
                if (!e && v > SIZE_MAX / 4)
                    return drip__pprof_bad(r, r->off, "field length out of range");
                need = (size_t)(c.p - b) + (size_t)v;
                break;
            default: need = (size_t)(c.p - b); break; /* next_field reports the wire type */
            }
        }
        if (e == 2)
            return drip__pprof_bad(r, r->off, "bad varint");
        if (e == 1) {
            snprintf(what, sizeof what, "the data ends inside a field at byte %llu", (unsigned long long)r->off);
            return truncated(r, what);
        }
        if (drip__pprof_fill(r, need))
            return -1;
        if (r->hi - r->lo < need) {
            snprintf(what, sizeof what, "field %llu at byte %llu needs %zu bytes, %zu left",
                     (unsigned long long)(key >> 3), (unsigned long long)r->off, need, r->hi - r->lo);
            return truncated(r, what);
        }
        b = r->buf + r->lo; /* fill may have moved the window */
        r->base = b;
        r->base_off = r->off;
        struct cur fc = {b, b + need};
        struct field f;
        if (drip__pprof_field(r, &fc, &f) || dec_top(r, &f, b))
            return -1;
        r->lo += need;
        r->off += need;
    }
}

