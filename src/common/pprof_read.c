/* pprof_read.c — see pprof_read.h.
 *
 * Layers, bottom up:
 *   input   a window of decoded bytes over a file descriptor or a memory block, inflated with
 *           zlib when the data starts 1f 8b (several gzip members are read as one stream);
 *   fields  protobuf primitives over a bounded cursor (varint, key, length-delimited, skip);
 *   decode  one decoder per message (Profile's top-level fields arrive one at a time from the
 *           window, so a field must fit in memory, the file need not);
 *   resolve once everything is read: string indices -> strings, ids -> indices, every sample
 *           checked against the location table. Only then is the profile handed out.
 *
 * References inside the proto (string indices, mapping/function/location ids) may point forward
 * (Go writes the string table last), so they are kept raw in side arrays until resolve().
 * Samples go to a byte arena as varints (location ids, then zigzag values) and are turned into
 * indices by the iterator; that keeps a large profile at about the size of its own samples.
 */
#include "pprof_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { WINDOW0 = 1 << 20, READ_CHUNK = 256 << 10 };

/* ---- growable arrays ---------------------------------------------------------------------- */

/* Makes room for one more element in *pp (capacity *cap, count n); 0 or -1 (ENOMEM). */
static int grow(void *pp, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*(void **)pp, nc * elem);
    if (!q)
        return -1;
    *(void **)pp = q;
    *cap = nc;
    return 0;
}

#define PUSH(r, arr, n, cap, val)                                                                  \
    (grow(&(arr), &(cap), (n), sizeof *(arr)) ? oom(r) : ((arr)[(n)++] = (val), 0))

/* id -> index: a dense table when ids are small (Go and drip number from 1), else hashing. */
struct idmap {
    uint32_t *dense;
    size_t ndense;
    uint64_t *keys; /* open addressing; key 0 is "empty" (ids are nonzero) */
    uint32_t *vals;
    size_t mask;
};

struct drip__pprof_priv {
    unsigned char *arena; /* samples: varint n, n varint ids, varint nv, nv zigzag values */
    size_t alen, acap;
    char *strbuf; /* string_table bytes, each NUL-terminated */
    size_t slen, scap;
    struct idmap locmap;
};

/* ---- the reader's state ----------------------------------------------------------------------- */

struct rd {
    const char *name;
    char *err;
    size_t errlen;
    int failed;

    /* input */
    int fd;
    const unsigned char *mem;
    size_t memlen, mempos;
    int gz, zinit, zdone, src_eof;
    z_stream z;
    unsigned char *zin;
    unsigned char *buf; /* decoded window [lo, hi) */
    size_t cap, lo, hi;
    int own_buf, eof;
    uint64_t off;       /* stream offset of buf[lo] */

    /* where the field being decoded starts (for messages) */
    const unsigned char *base;
    uint64_t base_off;
    int seen_core; /* a sample_type or string_table entry was decoded: this is pprof data */

    struct drip_pprof *p;
    struct drip__pprof_priv *pv;
    size_t cap_st, cap_cm, cap_map, cap_loc, cap_fn, cap_ln;
    size_t *stroff;
    size_t nstr, cap_str;
    /* raw references, resolved at the end */
    uint64_t *st_str; /* 2 per sample type */
    size_t cap_st_str;
    int64_t *cm_str;
    size_t cap_cm_str;
    uint64_t *map_str; /* 2 per mapping: file, build id */
    size_t cap_map_str;
    uint64_t *fn_str; /* 3 per function: name, system name, filename */
    size_t cap_fn_str;
    uint64_t *loc_map; /* mapping id per location */
    size_t cap_loc_map;
    uint64_t *ln_fn; /* function id per line */
    size_t cap_ln_fn;
    uint64_t pt_str[2];
    int64_t dst, drop, keep;
    /* scratch for one sample */
    uint64_t *ids;
    size_t nids, cap_ids;
    int64_t *vals;
    size_t nvals, cap_vals;
};

static int fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rd *r, const char *fmt, ...)
{
    if (r->failed)
        return -1;
    r->failed = 1;
    int n = snprintf(r->err, r->errlen, "%s: ", r->name);
    if (n < 0 || (size_t)n >= r->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct rd *r) { return fail(r, "out of memory reading the profile"); }

/* A decode error at stream offset `off`: "not a pprof profile" until the data has shown it is
 * one (a sample type or string was decoded), "corrupt profile" after. */
static int bad(struct rd *r, uint64_t off, const char *what)
{
    if (!r->seen_core)
        return fail(r, "not a pprof profile (protobuf error at byte %llu: %s)", (unsigned long long)off,
                    what);
    return fail(r, "corrupt profile (at byte %llu: %s)", (unsigned long long)off, what);
}

/* ---- input ---------------------------------------------------------------------------------- */

/* Reads more compressed bytes into z.next_in; sets src_eof at the end. -1 on a read error. */
static int feed(struct rd *r)
{
    if (r->mem) {
        if (r->mempos == r->memlen) {
            r->src_eof = 1;
            return 0;
        }
        size_t n = r->memlen - r->mempos;
        if (n > (uInt)-1)
            n = (uInt)-1;
        r->z.next_in = (Bytef *)(r->mem + r->mempos);
        r->z.avail_in = (uInt)n;
        r->mempos += n;
        return 0;
    }
    ssize_t n;
    do
        n = read(r->fd, r->zin, READ_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return fail(r, "read error: %s", strerror(errno));
    if (n == 0)
        r->src_eof = 1;
    r->z.next_in = r->zin;
    r->z.avail_in = (uInt)n;
    return 0;
}

/* Appends decoded bytes to buf[hi..cap). Sets eof when the stream is over. */
static int produce(struct rd *r)
{
    if (!r->gz) {
        ssize_t n;
        do
            n = read(r->fd, r->buf + r->hi, r->cap - r->hi);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return fail(r, "read error: %s", strerror(errno));
        if (n == 0)
            r->eof = 1;
        r->hi += (size_t)n;
        return 0;
    }
    for (;;) {
        if (r->zdone) {
            /* a finished member: more members may follow (gzip allows concatenation) */
            if (r->z.avail_in == 0 && !r->src_eof && feed(r))
                return -1;
            if (r->z.avail_in == 0) {
                r->eof = 1;
                return 0;
            }
            if (r->z.avail_in < 2 || r->z.next_in[0] != 0x1f || r->z.next_in[1] != 0x8b)
                return fail(r, "corrupt gzip data (garbage after the end of the gzip stream)");
            inflateReset(&r->z);
            r->zdone = 0;
        }
        if (r->z.avail_in == 0 && !r->src_eof && feed(r))
            return -1;
        r->z.next_out = r->buf + r->hi;
        r->z.avail_out = (uInt)(r->cap - r->hi > (uInt)-1 ? (uInt)-1 : r->cap - r->hi);
        uInt before = r->z.avail_out;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        r->hi += before - r->z.avail_out;
        if (zr == Z_STREAM_END) {
            r->zdone = 1;
            if (before != r->z.avail_out)
                return 0;
            continue;
        }
        if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR)
            return fail(r, "corrupt gzip data (%s)", r->z.msg ? r->z.msg : "bad stream");
        if (zr == Z_MEM_ERROR)
            return oom(r);
        if (before != r->z.avail_out)
            return 0;
        if (r->z.avail_in == 0 && r->src_eof)
            return fail(r, "truncated gzip data (the file ends inside the compressed stream)");
    }
}

/* Makes at least `need` bytes available at buf[lo] unless the stream ends first; 0 or -1. */
static int fill(struct rd *r, size_t need)
{
    while (r->hi - r->lo < need && !r->eof) {
        if (!r->own_buf) {
            r->eof = 1;
            break;
        }
        if (r->lo && (r->cap - r->hi < READ_CHUNK || r->cap - r->lo < need)) {
            memmove(r->buf, r->buf + r->lo, r->hi - r->lo);
            r->hi -= r->lo;
            r->lo = 0;
        }
        /* grow with the data that arrives, never with the length a field claims */
        while (r->cap - r->hi < 4096) {
            if (r->cap > SIZE_MAX / 2)
                return oom(r);
            unsigned char *nb = realloc(r->buf, r->cap * 2);
            if (!nb)
                return oom(r);
            r->buf = nb;
            r->cap *= 2;
        }
        if (produce(r))
            return -1;
    }
    return 0;
}

/* ---- protobuf fields ------------------------------------------------------------------------ */

struct cur {
    const unsigned char *p, *end;
};

struct field {
    uint32_t num;
    int wt;
    uint64_t v;                 /* wire types 0, 1, 5 */
    const unsigned char *data;  /* wire type 2 */
    size_t len;
};

static uint64_t offset_of(struct rd *r, const unsigned char *p) { return r->base_off + (uint64_t)(p - r->base); }

/* 0 ok, 1 ran out of bytes, 2 overlong varint */
static int varint(struct cur *c, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p == c->end)
            return 1;
        unsigned b = *c->p++;
        if (shift == 63 && b > 1)
            return 2;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return 2;
}

/* Reads one field of a message held whole in memory; -1 with the error set. */
static int next_field(struct rd *r, struct cur *c, struct field *f)
{
    const unsigned char *at = c->p;
    uint64_t key;
    int e = varint(c, &key);
    if (e)
        return bad(r, offset_of(r, at), e == 1 ? "message ends inside a field key" : "bad varint");
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return bad(r, offset_of(r, at), "field number 0");
    switch (f->wt) {
    case 0:
        if ((e = varint(c, &f->v)))
            return bad(r, offset_of(r, at), e == 1 ? "message ends inside a varint" : "bad varint");
        return 0;
    case 1:
    case 5: {
        size_t n = f->wt == 1 ? 8 : 4;
        if ((size_t)(c->end - c->p) < n)
            return bad(r, offset_of(r, at), "message ends inside a fixed-size field");
        f->v = 0;
        for (size_t i = 0; i < n; i++)
            f->v |= (uint64_t)c->p[i] << (8 * i);
        c->p += n;
        return 0;
    }
    case 2: {
        uint64_t len;
        if ((e = varint(c, &len)))
            return bad(r, offset_of(r, at), e == 1 ? "message ends inside a length" : "bad varint");
        if (len > (uint64_t)(c->end - c->p))
            return bad(r, offset_of(r, at), "field length runs past the end of its message");
        f->data = c->p;
        f->len = (size_t)len;
        c->p += len;
        return 0;
    }
    default: {
        char what[64];
        snprintf(what, sizeof what, "unsupported wire type %d in field %u", f->wt, f->num);
        return bad(r, offset_of(r, at), what);
    }
    }
}

static int want(struct rd *r, const struct field *f, int wt, const char *msg, const unsigned char *at)
{
    if (f->wt == wt)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "field %u of %s has wire type %d, expected %d", f->num, msg, f->wt, wt);
    return bad(r, offset_of(r, at), what);
}

/* Feeds a repeated scalar (packed or not) to cb, one value at a time. */
static int scalars(struct rd *r, const struct field *f, const unsigned char *at,
                   int (*cb)(struct rd *, uint64_t))
{
    if (f->wt == 0)
        return cb(r, f->v);
    if (f->wt != 2)
        return want(r, f, 0, "a repeated scalar", at);
    struct cur c = {f->data, f->data + f->len};
    while (c.p < c.end) {
        uint64_t v;
        const unsigned char *vp = c.p;
        if (varint(&c, &v))
            return bad(r, offset_of(r, vp), "bad packed varint");
        if (cb(r, v))
            return -1;
    }
    return 0;
}

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
        if (next_field(r, &c, &f))
            return -1;
        if ((f.num == 1 || f.num == 2) && !want(r, &f, 0, "ValueType", at))
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
            return oom(r);
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
        if (next_field(r, &c, &f))
            return -1;
        if (f.num == 1 && scalars(r, &f, at, add_id))
            return -1;
        if (f.num == 2 && scalars(r, &f, at, add_val))
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
        if (next_field(r, &c, &f))
            return -1;
        if (f.num > 10)
            continue;
        if (want(r, &f, 0, "Mapping", at))
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
        if (next_field(r, &c, &f))
            return -1;
        if (f.num > 3)
            continue;
        if (want(r, &f, 0, "Line", at))
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
        return fail(r, "profile too large (more than 2^32 lines)");
    l.first_line = (uint32_t)p->nlines;
    struct cur c = {pf->data, pf->data + pf->len};
    while (c.p < c.end) {
        struct field f;
        const unsigned char *at = c.p;
        if (next_field(r, &c, &f))
            return -1;
        if (f.num == 4) {
            if (want(r, &f, 2, "Location", at))
                return -1;
            uint64_t fn;
            struct drip_pprof_line ln = {DRIP_PPROF_NONE, 0};
            if (dec_line(r, &f, &fn, &ln.line))
                return -1;
            size_t k = p->nlines;
            if (PUSH(r, r->ln_fn, k, r->cap_ln_fn, fn) || PUSH(r, p->lines, p->nlines, r->cap_ln, ln))
                return -1;
            if (p->nlines - l.first_line > UINT32_MAX - 1)
                return fail(r, "profile too large (a location with 2^32 lines)");
            continue;
        }
        if (f.num > 5)
            continue;
        if (want(r, &f, 0, "Location", at))
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
        return fail(r, "profile too large (more than 2^32 locations)");
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
        if (next_field(r, &c, &f))
            return -1;
        if (f.num > 5)
            continue;
        if (want(r, &f, 0, "Function", at))
            return -1;
        if (f.num == 1)
            fn.id = f.v;
        else if (f.num == 5)
            fn.start_line = (int64_t)f.v;
        else
            s[f.num - 2] = f.v;
    }
    if (r->p->nfunctions >= UINT32_MAX - 1)
        return fail(r, "profile too large (more than 2^32 functions)");
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
            return oom(r);
        char *q = realloc(pv->strbuf, nc);
        if (!q)
            return oom(r);
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
        if (want(r, f, 2, "Profile", at) || dec_vtype(r, f, vt))
            return -1;
        size_t k = 2 * p->nsample_types;
        struct drip_pprof_vtype t = {"", ""};
        if (PUSH(r, r->st_str, k, r->cap_st_str, vt[0]) || PUSH(r, r->st_str, k, r->cap_st_str, vt[1]) ||
            PUSH(r, p->sample_types, p->nsample_types, r->cap_st, t))
            return -1;
        r->seen_core = 1;
        return 0;
    }
    case 2: return want(r, f, 2, "Profile", at) || dec_sample(r, f);
    case 3: return want(r, f, 2, "Profile", at) || dec_mapping(r, f);
    case 4: return want(r, f, 2, "Profile", at) || dec_location(r, f);
    case 5: return want(r, f, 2, "Profile", at) || dec_function(r, f);
    case 6:
        if (want(r, f, 2, "Profile", at) || dec_string(r, f))
            return -1;
        r->seen_core = 1;
        return 0;
    case 11: return want(r, f, 2, "Profile", at) || dec_vtype(r, f, r->pt_str);
    case 13: return scalars(r, f, at, add_comment);
    case 7: case 8: case 9: case 10: case 12: case 14: case 15:
        if (want(r, f, 0, "Profile", at))
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
        return bad(r, r->off, what);
    return fail(r, "truncated profile (%s)", what);
}

/* Reads the whole stream field by field. */
static int parse(struct rd *r)
{
    char what[160];
    for (;;) {
        if (fill(r, 20))
            return -1;
        size_t avail = r->hi - r->lo;
        if (!avail)
            return 0;
        const unsigned char *b = r->buf + r->lo;
        struct cur c = {b, b + avail};
        uint64_t key, v;
        size_t need = 0;
        int e = varint(&c, &key);
        if (!e) {
            switch (key & 7) {
            case 0: e = varint(&c, &v); need = (size_t)(c.p - b); break;
            case 1: need = (size_t)(c.p - b) + 8; break;
            case 5: need = (size_t)(c.p - b) + 4; break;
            case 2:
                e = varint(&c, &v);
                if (!e && v > SIZE_MAX / 4)
                    return bad(r, r->off, "field length out of range");
                need = (size_t)(c.p - b) + (size_t)v;
                break;
            default: need = (size_t)(c.p - b); break; /* next_field reports the wire type */
            }
        }
        if (e == 2)
            return bad(r, r->off, "bad varint");
        if (e == 1) {
            snprintf(what, sizeof what, "the data ends inside a field at byte %llu", (unsigned long long)r->off);
            return truncated(r, what);
        }
        if (fill(r, need))
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
        if (next_field(r, &fc, &f) || dec_top(r, &f, b))
            return -1;
        r->lo += need;
        r->off += need;
    }
}

/* ---- resolve ---------------------------------------------------------------------------------- */

static int str_at(struct rd *r, uint64_t idx, const char **out, const char *what)
{
    if (idx >= r->nstr)
        return fail(r, "corrupt profile (%s refers to string %llu; the string table has %zu)", what,
                    (unsigned long long)idx, r->nstr);
    *out = r->pv->strbuf + r->stroff[idx];
    return 0;
}

static void idmap_free(struct idmap *m)
{
    free(m->dense);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static uint32_t idmap_get(const struct idmap *m, uint64_t id)
{
    if (m->dense)
        return id < m->ndense ? m->dense[id] : DRIP_PPROF_NONE;
    if (!m->keys || id == 0)
        return DRIP_PPROF_NONE;
    for (size_t h = (size_t)(id * 0x9E3779B97F4A7C15ull) & m->mask;; h = (h + 1) & m->mask) {
        if (m->keys[h] == id)
            return m->vals[h];
        if (m->keys[h] == 0)
            return DRIP_PPROF_NONE;
    }
}

/* Builds the map for n ids read at stride `stride` bytes from `first`. -1 on zero/duplicate ids. */
static int idmap_build(struct rd *r, struct idmap *m, const void *first, size_t stride, size_t n,
                       const char *what)
{
    uint64_t max = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = *(const uint64_t *)((const char *)first + i * stride);
        if (id == 0)
            return fail(r, "corrupt profile (a %s has id 0)", what);
        if (id > max)
            max = id;
    }
    if (max <= 4 * (uint64_t)n + 1024) {
        m->ndense = (size_t)max + 1;
        m->dense = malloc(m->ndense * sizeof *m->dense);
        if (!m->dense)
            return oom(r);
        memset(m->dense, 0xff, m->ndense * sizeof *m->dense);
    } else {
        size_t cap = 16;
        while (cap < 2 * n)
            cap *= 2;
        m->mask = cap - 1;
        m->keys = calloc(cap, sizeof *m->keys);
        m->vals = malloc(cap * sizeof *m->vals);
        if (!m->keys || !m->vals)
            return oom(r);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t id = *(const uint64_t *)((const char *)first + i * stride);
        if (idmap_get(m, id) != DRIP_PPROF_NONE)
            return fail(r, "corrupt profile (two %ss have id %llu)", what, (unsigned long long)id);
        if (m->dense) {
            m->dense[id] = (uint32_t)i;
        } else {
            size_t h = (size_t)(id * 0x9E3779B97F4A7C15ull) & m->mask;
            while (m->keys[h])
                h = (h + 1) & m->mask;
            m->keys[h] = id;
            m->vals[h] = (uint32_t)i;
        }
    }
    return 0;
}

/* Decodes one varint from the arena (already validated when written). */
static inline uint64_t arena_get(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        unsigned b = *p++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            break;
    }
    *pp = p;
    return v;
}

static int resolve(struct rd *r)
{
    struct drip_pprof *p = r->p;
    struct drip__pprof_priv *pv = r->pv;
    if (p->nsample_types == 0)
        return fail(r, "not a pprof profile (it has no sample types)");
    if (r->nstr == 0 || pv->strbuf[r->stroff[0]] != 0)
        return fail(r, "not a pprof profile (string_table[0] must be the empty string)");
    for (size_t i = 0; i < p->nsample_types; i++)
        if (str_at(r, r->st_str[2 * i], &p->sample_types[i].type, "a sample type") ||
            str_at(r, r->st_str[2 * i + 1], &p->sample_types[i].unit, "a sample type"))
            return -1;
    if (str_at(r, r->pt_str[0], &p->period_type.type, "the period type") ||
        str_at(r, r->pt_str[1], &p->period_type.unit, "the period type") ||
        str_at(r, (uint64_t)r->drop, &p->drop_frames, "drop_frames") ||
        str_at(r, (uint64_t)r->keep, &p->keep_frames, "keep_frames"))
        return -1;
    if (r->dst) {
        if (str_at(r, (uint64_t)r->dst, &p->default_sample_type, "default_sample_type"))
            return -1;
        if (!*p->default_sample_type)
            p->default_sample_type = NULL;
    }
    if (p->ncomments) {
        p->comments = malloc(p->ncomments * sizeof *p->comments);
        if (!p->comments)
            return oom(r);
        for (size_t i = 0; i < p->ncomments; i++)
            if (str_at(r, (uint64_t)r->cm_str[i], &p->comments[i], "a comment"))
                return -1;
    }
    for (size_t i = 0; i < p->nmappings; i++)
        if (str_at(r, r->map_str[2 * i], &p->mappings[i].file, "a mapping") ||
            str_at(r, r->map_str[2 * i + 1], &p->mappings[i].build_id, "a mapping"))
            return -1;
    for (size_t i = 0; i < p->nfunctions; i++)
        if (str_at(r, r->fn_str[3 * i], &p->functions[i].name, "a function") ||
            str_at(r, r->fn_str[3 * i + 1], &p->functions[i].system_name, "a function") ||
            str_at(r, r->fn_str[3 * i + 2], &p->functions[i].filename, "a function"))
            return -1;

    struct idmap mm = {0}, fm = {0};
    int rc = -1;
    if (idmap_build(r, &mm, p->mappings ? &p->mappings[0].id : NULL, sizeof *p->mappings, p->nmappings, "mapping") ||
        idmap_build(r, &fm, p->functions ? &p->functions[0].id : NULL, sizeof *p->functions, p->nfunctions, "function"))
        goto out;
    for (size_t i = 0; i < p->nlocations; i++) {
        uint64_t mid = r->loc_map[i];
        if (mid) {
            p->locations[i].mapping = idmap_get(&mm, mid);
            if (p->locations[i].mapping == DRIP_PPROF_NONE) {
                fail(r, "corrupt profile (location %llu refers to missing mapping %llu)",
                     (unsigned long long)p->locations[i].id, (unsigned long long)mid);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < p->nlines; i++) {
        uint64_t fid = r->ln_fn[i];
        if (fid) {
            p->lines[i].function = idmap_get(&fm, fid);
            if (p->lines[i].function == DRIP_PPROF_NONE) {
                fail(r, "corrupt profile (a location refers to missing function %llu)", (unsigned long long)fid);
                goto out;
            }
        }
    }
    if (idmap_build(r, &pv->locmap, p->locations ? &p->locations[0].id : NULL, sizeof *p->locations,
                    p->nlocations, "location"))
        goto out;
    /* every sample: known locations, one value per sample type */
    const unsigned char *a = pv->arena, *end = pv->arena ? pv->arena + pv->alen : NULL;
    for (size_t s = 0; a < end; s++) {
        uint64_t n = arena_get(&a);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t id = arena_get(&a);
            if (idmap_get(&pv->locmap, id) == DRIP_PPROF_NONE) {
                fail(r, "corrupt profile (sample %zu refers to missing location %llu)", s + 1,
                     (unsigned long long)id);
                goto out;
            }
        }
        uint64_t nv = arena_get(&a);
        if (nv != p->nsample_types) {
            fail(r, "corrupt profile (sample %zu has %llu values for %zu sample types)", s + 1,
                 (unsigned long long)nv, p->nsample_types);
            goto out;
        }
        for (uint64_t i = 0; i < nv; i++)
            arena_get(&a);
    }
    rc = 0;
out:
    idmap_free(&mm);
    idmap_free(&fm);
    return rc;
}

/* ---- entry points ----------------------------------------------------------------------------- */

void drip__pprof_free(struct drip_pprof *p)
{
    if (!p)
        return;
    if (p->priv) {
        free(p->priv->arena);
        free(p->priv->strbuf);
        idmap_free(&p->priv->locmap);
        free(p->priv);
    }
    free(p->sample_types);
    free(p->comments);
    free(p->mappings);
    free(p->locations);
    free(p->functions);
    free(p->lines);
    free(p);
}

static const char *legacy_kind(const unsigned char *b, size_t n)
{
    static const char *const heads[] = {"heap profile:", "heap_v2/", "--- heapz", "heap_v2",
                                        "--- contention", "--- threadz", "goroutine profile:",
                                        "threadcreate profile:"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        size_t k = strlen(heads[i]);
        if (n >= k && !memcmp(b, heads[i], k))
            return heads[i];
    }
    return NULL;
}

static int read_stream(struct rd *r, struct drip_pprof **out)
{
    *out = NULL;
    r->p = calloc(1, sizeof *r->p);
    r->pv = calloc(1, sizeof *r->pv);
    if (!r->p || !r->pv) {
        free(r->p);
        free(r->pv);
        return oom(r);
    }
    r->p->priv = r->pv;
    int rc = -1;
    if (fill(r, 2))
        goto done;
    if (r->hi - r->lo >= 2 && r->buf[r->lo] == 0x1f && r->buf[r->lo + 1] == 0x8b) {
        /* gzip: from here on the window holds inflated bytes */
        if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
            oom(r);
            goto done;
        }
        r->zinit = 1;
        r->gz = 1;
        if (r->mem) {
            r->mempos = 0;
            r->buf = malloc(WINDOW0);
            r->own_buf = 1;
        } else {
            size_t have = r->hi - r->lo;
            r->zin = malloc(have > READ_CHUNK ? have : READ_CHUNK);
            unsigned char *nb = malloc(WINDOW0);
            if (r->zin && nb)
                memcpy(r->zin, r->buf + r->lo, r->hi - r->lo);
            r->z.next_in = r->zin;
            r->z.avail_in = (uInt)(r->hi - r->lo);
            free(r->buf);
            r->buf = nb;
        }
        if (!r->buf || (!r->mem && !r->zin)) {
            oom(r);
            goto done;
        }
        r->cap = WINDOW0;
        r->lo = r->hi = 0;
        r->eof = 0;
        if (fill(r, 1))
            goto done;
    }
    if (r->hi == r->lo) {
        fail(r, r->gz ? "not a pprof profile (the gzip data is empty)" : "not a pprof profile (the file is empty)");
        goto done;
    }
    if (fill(r, 32))
        goto done;
    const char *legacy = legacy_kind(r->buf + r->lo, r->hi - r->lo);
    if (legacy) {
        fail(r, "a legacy text profile ('%s'): drip reads profile.proto; convert it with "
                "go tool pprof -proto PROGRAM FILE > FILE.pb.gz", legacy);
        goto done;
    }
    if (parse(r) || resolve(r))
        goto done;
    *out = r->p;
    r->p = NULL;
    rc = 0;
done:
    drip__pprof_free(r->p);
    if (r->zinit)
        inflateEnd(&r->z);
    if (r->own_buf)
        free(r->buf);
    free(r->zin);
    free(r->stroff);
    free(r->st_str);
    free(r->cm_str);
    free(r->map_str);
    free(r->fn_str);
    free(r->loc_map);
    free(r->ln_fn);
    free(r->ids);
    free(r->vals);
    return rc;
}

static void rd_init(struct rd *r, const char *name, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->name = name;
    r->err = err;
    r->errlen = errlen;
    r->fd = -1;
    if (errlen)
        err[0] = 0;
}

int drip__pprof_read_mem(const void *data, size_t len, const char *name, struct drip_pprof **out,
                        char *err, size_t errlen)
{
    struct rd r;
    rd_init(&r, name, err, errlen);
    r.mem = data;
    r.memlen = len;
    r.mempos = len;
    r.buf = (unsigned char *)(uintptr_t)data; /* read only: the window aliases the input */
    r.cap = r.hi = len;
    r.eof = 1;
    return read_stream(&r, out);
}

int drip__pprof_read_file(const char *path, struct drip_pprof **out, char *err, size_t errlen)
{
    struct rd r;
    rd_init(&r, path, err, errlen);
    *out = NULL;
    r.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0)
        return fail(&r, "%s", strerror(errno));
    r.buf = malloc(WINDOW0);
    if (!r.buf) {
        close(r.fd);
        return oom(&r);
    }
    r.cap = WINDOW0;
    r.own_buf = 1;
    int rc = read_stream(&r, out);
    close(r.fd);
    return rc;
}

int drip__pprof_find_type(const struct drip_pprof *p, const char *type)
{
    for (size_t i = 0; i < p->nsample_types; i++)
        if (!strcmp(p->sample_types[i].type, type))
            return (int)i;
    char *end;
    long i = strtol(type, &end, 10);
    if (*type && !*end && i >= 0 && (size_t)i < p->nsample_types)
        return (int)i;
    return -1;
}

int drip__pprof_default_type(const struct drip_pprof *p)
{
    if (p->default_sample_type) {
        int i = drip__pprof_find_type(p, p->default_sample_type);
        if (i >= 0)
            return i;
    }
    return (int)p->nsample_types - 1;
}

int drip__pprof_iter_init(struct drip_pprof_iter *it, const struct drip_pprof *p)
{
    memset(it, 0, sizeof *it);
    it->p = p;
    it->locs = malloc((p->max_depth + 1) * sizeof *it->locs);
    it->values = malloc((p->nsample_types + 1) * sizeof *it->values);
    if (!it->locs || !it->values) {
        drip__pprof_iter_done(it);
        return -1;
    }
    return 0;
}

int drip__pprof_next(struct drip_pprof_iter *it, struct drip_pprof_entry *s)
{
    const struct drip__pprof_priv *pv = it->p->priv;
    if (it->pos >= pv->alen)
        return 0;
    const unsigned char *a = pv->arena + it->pos;
    size_t n = (size_t)arena_get(&a);
    for (size_t i = 0; i < n; i++)
        it->locs[i] = idmap_get(&pv->locmap, arena_get(&a));
    size_t nv = (size_t)arena_get(&a);
    for (size_t i = 0; i < nv; i++) {
        uint64_t z = arena_get(&a);
        it->values[i] = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    }
    it->pos = (size_t)(a - pv->arena);
    s->locs = it->locs;
    s->nlocs = n;
    s->values = it->values;
    return 1;
}

void drip__pprof_iter_done(struct drip_pprof_iter *it)
{
    free(it->locs);
    free(it->values);
    it->locs = NULL;
    it->values = NULL;
}
