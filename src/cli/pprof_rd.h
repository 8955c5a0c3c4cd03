/* pprof_rd.h — the pprof reader's private state, shared by its three layers:
 *   pprof_input.c   input (a window over a file or memory, inflated with zlib) and protobuf fields;
 *   pprof_decode.c  one decoder per message, and the top-level field loop;
 *   pprof_read.c    resolve (indices, ids, checks) and the entry points of pprof_read.h.
 * Not for other files: the public view of a profile is pprof_read.h. No locks: one reader per
 * call, on the caller's thread.
 */
#ifndef DRIP_CLI_PPROF_RD_H
#define DRIP_CLI_PPROF_RD_H

#include "pprof_read.h"

#include <zlib.h>

enum { WINDOW0 = 1 << 20, READ_CHUNK = 256 << 10 };

/* ---- growable arrays ---------------------------------------------------------------------- */

/* Makes room for one more element in *pp (capacity *cap, count n); 0 or -1 (ENOMEM). */
int drip__pprof_grow(void *pp, size_t *cap, size_t n, size_t elem);

#define PUSH(r, arr, n, cap, val)                                                                  \
    (drip__pprof_grow(&(arr), &(cap), (n), sizeof *(arr)) ? drip__pprof_oom(r) : ((arr)[(n)++] = (val), 0))

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

static inline uint64_t offset_of(struct rd *r, const unsigned char *p) { return r->base_off + (uint64_t)(p - r->base); }

/* The first error wins: writes "NAME: message" into the caller's buffer; always returns -1. */
int drip__pprof_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int drip__pprof_oom(struct rd *r);
/* A decode error at stream offset `off`: "not a pprof profile" until the data has shown it is
 * one (a sample type or string was decoded), "corrupt profile" after. */
int drip__pprof_bad(struct rd *r, uint64_t off, const char *what);
/* Makes at least `need` bytes available at buf[lo] unless the stream ends first; 0 or -1. */
int drip__pprof_fill(struct rd *r, size_t need);
/* 0 ok, 1 ran out of bytes, 2 overlong varint */
int drip__pprof_varint(struct cur *c, uint64_t *v);
/* Reads one field of a message held whole in memory; -1 with the error set. */
int drip__pprof_field(struct rd *r, struct cur *c, struct field *f);
/* 0 when f has wire type wt, else -1 with the error set (msg names the message). */
int drip__pprof_want(struct rd *r, const struct field *f, int wt, const char *msg, const unsigned char *at);
/* Feeds a repeated scalar (packed or not) to cb, one value at a time. */
int drip__pprof_scalars(struct rd *r, const struct field *f, const unsigned char *at, int (*cb)(struct rd *, uint64_t));
/* Reads the whole stream field by field (pprof_decode.c). */
int drip__pprof_parse(struct rd *r);

#endif
