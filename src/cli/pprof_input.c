/* pprof_input.c — the pprof reader's lower layers (see pprof_rd.h): errors, the input window
 * over a file descriptor or a memory block, inflated with zlib when the data starts 1f 8b
 * (several gzip members are read as one stream), and protobuf primitives over a bounded cursor
 * (varint, key, length-delimited, skip). No locks.
 */
#include "pprof_rd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int drip__pprof_grow(void *pp, size_t *cap, size_t n, size_t elem)
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

int drip__pprof_fail(struct rd *r, const char *fmt, ...)
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

int drip__pprof_oom(struct rd *r) { return drip__pprof_fail(r, "out of memory reading the profile"); }

int drip__pprof_bad(struct rd *r, uint64_t off, const char *what)
{
    if (!r->seen_core)
        return drip__pprof_fail(r, "not a pprof profile (protobuf error at byte %llu: %s)", (unsigned long long)off,
                                what);
    return drip__pprof_fail(r, "corrupt profile (at byte %llu: %s)", (unsigned long long)off, what);
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
        return drip__pprof_fail(r, "read error: %s", strerror(errno));
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
            return drip__pprof_fail(r, "read error: %s", strerror(errno));
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
                return drip__pprof_fail(r, "corrupt gzip data (garbage after the end of the gzip stream)");
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
            return drip__pprof_fail(r, "corrupt gzip data (%s)", r->z.msg ? r->z.msg : "bad stream");
        if (zr == Z_MEM_ERROR)
            return drip__pprof_oom(r);
        if (before != r->z.avail_out)
            return 0;
        if (r->z.avail_in == 0 && r->src_eof)
            return drip__pprof_fail(r, "truncated gzip data (the file ends inside the compressed stream)");
    }
}

int drip__pprof_fill(struct rd *r, size_t need)
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
                return drip__pprof_oom(r);
            unsigned char *nb = realloc(r->buf, r->cap * 2);
            if (!nb)
                return drip__pprof_oom(r);
            r->buf = nb;
            r->cap *= 2;
        }
        if (produce(r))
            return -1;
    }
    return 0;
}

int drip__pprof_varint(struct cur *c, uint64_t *v)
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

int drip__pprof_field(struct rd *r, struct cur *c, struct field *f)
{
    const unsigned char *at = c->p;
    uint64_t key;
    int e = drip__pprof_varint(c, &key);
    if (e)
        return drip__pprof_bad(r, offset_of(r, at), e == 1 ? "message ends inside a field key" : "bad varint");
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return drip__pprof_bad(r, offset_of(r, at), "field number 0");
    switch (f->wt) {
    case 0:
        if ((e = drip__pprof_varint(c, &f->v)))
            return drip__pprof_bad(r, offset_of(r, at), e == 1 ? "message ends inside a varint" : "bad varint");
        return 0;
    case 1:
    case 5: {
        size_t n = f->wt == 1 ? 8 : 4;
        if ((size_t)(c->end - c->p) < n)
            return drip__pprof_bad(r, offset_of(r, at), "message ends inside a fixed-size field");
        f->v = 0;
        for (size_t i = 0; i < n; i++)
            f->v |= (uint64_t)c->p[i] << (8 * i);
        c->p += n;
        return 0;
    }
    case 2: {
        uint64_t len;
        if ((e = drip__pprof_varint(c, &len)))
            return drip__pprof_bad(r, offset_of(r, at), e == 1 ? "message ends inside a length" : "bad varint");
        if (len > (uint64_t)(c->end - c->p))
            return drip__pprof_bad(r, offset_of(r, at), "field length runs past the end of its message");
        f->data = c->p;
        f->len = (size_t)len;
        c->p += len;
        return 0;
    }
    default: {
        char what[64];
        snprintf(what, sizeof what, "unsupported wire type %d in field %u", f->wt, f->num);
        return drip__pprof_bad(r, offset_of(r, at), what);
    }
    }
}

int drip__pprof_want(struct rd *r, const struct field *f, int wt, const char *msg, const unsigned char *at)
{
    if (f->wt == wt)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "field %u of %s has wire type %d, expected %d", f->num, msg, f->wt, wt);
    return drip__pprof_bad(r, offset_of(r, at), what);
}

int drip__pprof_scalars(struct rd *r, const struct field *f, const unsigned char *at,
                               int (*cb)(struct rd *, uint64_t))
{
    if (f->wt == 0)
        return cb(r, f->v);
    if (f->wt != 2)
        return drip__pprof_want(r, f, 0, "a repeated scalar", at);
    struct cur c = {f->data, f->data + f->len};
    while (c.p < c.end) {
        uint64_t v;
        const unsigned char *vp = c.p;
        if (drip__pprof_varint(&c, &v))
            return drip__pprof_bad(r, offset_of(r, vp), "bad packed varint");
        if (cb(r, v))
            return -1;
    }
    return 0;
}
