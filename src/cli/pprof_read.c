/* pprof_read.c — see pprof_read.h. This file: resolve and the entry points; the layers below live
 * in pprof_input.c and pprof_decode.c (pprof_rd.h).
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
#include "pprof_rd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- resolve ---------------------------------------------------------------------------------- */

static int str_at(struct rd *r, uint64_t idx, const char **out, const char *what)
{
    if (idx >= r->nstr)
        return drip__pprof_fail(r, "corrupt profile (%s refers to string %llu; the string table has %zu)", what,
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
            return drip__pprof_fail(r, "corrupt profile (a %s has id 0)", what);
        if (id > max)
            max = id;
    }
    if (max <= 4 * (uint64_t)n + 1024) {
        m->ndense = (size_t)max + 1;
        m->dense = malloc(m->ndense * sizeof *m->dense);
        if (!m->dense)
            return drip__pprof_oom(r);
        memset(m->dense, 0xff, m->ndense * sizeof *m->dense);
    } else {
        size_t cap = 16;
        while (cap < 2 * n)
            cap *= 2;
        m->mask = cap - 1;
        m->keys = calloc(cap, sizeof *m->keys);
        m->vals = malloc(cap * sizeof *m->vals);
        if (!m->keys || !m->vals)
            return drip__pprof_oom(r);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t id = *(const uint64_t *)((const char *)first + i * stride);
        if (idmap_get(m, id) != DRIP_PPROF_NONE)
            return drip__pprof_fail(r, "corrupt profile (two %ss have id %llu)", what, (unsigned long long)id);
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
        return drip__pprof_fail(r, "not a pprof profile (it has no sample types)");
    if (r->nstr == 0 || pv->strbuf[r->stroff[0]] != 0)
        return drip__pprof_fail(r, "not a pprof profile (string_table[0] must be the empty string)");
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
            return drip__pprof_oom(r);
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
                drip__pprof_fail(r, "corrupt profile (location %llu refers to missing mapping %llu)",
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
                drip__pprof_fail(r, "corrupt profile (a location refers to missing function %llu)", (unsigned long long)fid);
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
                drip__pprof_fail(r, "corrupt profile (sample %zu refers to missing location %llu)", s + 1,
                                 (unsigned long long)id);
                goto out;
            }
        }
        uint64_t nv = arena_get(&a);
        if (nv != p->nsample_types) {
            drip__pprof_fail(r, "corrupt profile (sample %zu has %llu values for %zu sample types)", s + 1,
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
        return drip__pprof_oom(r);
    }
    r->p->priv = r->pv;
    int rc = -1;
    if (drip__pprof_fill(r, 2))
        goto done;
    if (r->hi - r->lo >= 2 && r->buf[r->lo] == 0x1f && r->buf[r->lo + 1] == 0x8b) {
        /* gzip: from here on the window holds inflated bytes */
        if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
            drip__pprof_oom(r);
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
            drip__pprof_oom(r);
            goto done;
        }
        r->cap = WINDOW0;
        r->lo = r->hi = 0;
        r->eof = 0;
        if (drip__pprof_fill(r, 1))
            goto done;
    }
    if (r->hi == r->lo) {
        drip__pprof_fail(r, r->gz ? "not a pprof profile (the gzip data is empty)" : "not a pprof profile (the file is empty)");
        goto done;
    }
    if (drip__pprof_fill(r, 32))
        goto done;
    const char *legacy = legacy_kind(r->buf + r->lo, r->hi - r->lo);
    if (legacy) {
        drip__pprof_fail(r, "a legacy text profile ('%s'): drip reads profile.proto; convert it with "
                "go tool pprof -proto PROGRAM FILE > FILE.pb.gz", legacy);
        goto done;
    }
    if (drip__pprof_parse(r) || resolve(r))
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
        return drip__pprof_fail(&r, "%s", strerror(errno));
    r.buf = malloc(WINDOW0);
    if (!r.buf) {
        close(r.fd);
        return drip__pprof_oom(&r);
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
