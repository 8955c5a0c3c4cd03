/* pprof_write.c — see pprof_write.h. A streaming protobuf encoder in the spirit of Go's
 * runtime/pprof/protobuf.go: varints and length-prefixed submessages into growable buffers, no
 * message tree. Field numbers are profile.proto's (github.com/google/pprof proto/profile.proto). */
#include "pprof_write.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifndef DRIP_NO_ZLIB
#include <zlib.h>
#endif

struct buf {
    uint8_t *p;
    size_t n, cap;
    int oom;
};

static void put(struct buf *b, const void *src, size_t n)
{
    /* an empty buffer (no functions when nothing is named) has src NULL: memcpy(_, NULL, 0) is
       undefined behaviour in C11, and UBSan stops unit_pprof's `unnamed` case on it */
    if (b->oom || n == 0)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void varint(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    int k = 0;
    do {
        tmp[k] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[k] |= 0x80;
        k++;
    } while (v);
    put(b, tmp, (size_t)k);
}

static void tag(struct buf *b, int field, int wire) { varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

static void field_u64(struct buf *b, int field, uint64_t v)
{
    if (!v)
        return;   /* proto3: zero is the default */
    tag(b, field, 0);
    varint(b, v);
}

static void field_bytes(struct buf *b, int field, const void *p, size_t n)
{
    tag(b, field, 2);
    varint(b, n);
    put(b, p, n);
}

static void field_msg(struct buf *b, int field, struct buf *m)
{
    field_bytes(b, field, m->p, m->n);
    if (m->oom)
        b->oom = 1;
    m->n = 0;
}

static void packed(struct buf *b, int field, const uint64_t *v, size_t n)
{
    struct buf tmp = {0};
    for (size_t i = 0; i < n; i++)
        varint(&tmp, v[i]);
    field_msg(b, field, &tmp);
    free(tmp.p);
}

/* ---- interning: strings, functions, locations ----------------------------------------------- */
struct strtab {
    char **s;
    size_t n, cap;
    size_t *map;   /* open addressing: index + 1 */
    size_t mcap;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int64_t intern(struct strtab *t, const char *s)
{
    if (!s)
        s = "";
    if (t->n * 2 >= t->mcap) {
        size_t mcap = t->mcap ? t->mcap * 2 : 1024;
        size_t *map = calloc(mcap, sizeof *map);
        if (!map)
            return 0;
        for (size_t i = 0; i < t->n; i++) {
            size_t h = hash_str(t->s[i]) & (mcap - 1);
            while (map[h])
                h = (h + 1) & (mcap - 1);
            map[h] = i + 1;
        }
        free(t->map);
        t->map = map;
        t->mcap = mcap;
    }
    size_t h = hash_str(s) & (t->mcap - 1);
    while (t->map[h]) {
        if (!strcmp(t->s[t->map[h] - 1], s))
            return (int64_t)(t->map[h] - 1);
        h = (h + 1) & (t->mcap - 1);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        char **ns = realloc(t->s, cap * sizeof *ns);
        if (!ns)
            return 0;
        t->s = ns;
        t->cap = cap;
    }
    t->s[t->n] = strdup(s);
    if (!t->s[t->n])
        return 0;
    t->map[h] = t->n + 1;
    return (int64_t)t->n++;
}

struct addrmap {   /* address -> id (1-based) */
    uintptr_t *key;
    uint64_t *val;
    size_t n, cap;
};

static uint64_t *addr_slot(struct addrmap *m, uintptr_t a, int *fresh)
{
    if (m->n * 2 >= m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        uintptr_t *k = calloc(cap, sizeof *k);
        uint64_t *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->val[i])
                continue;
            size_t h = (size_t)((m->key[i] * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
            while (v[h])
                h = (h + 1) & (cap - 1);
            k[h] = m->key[i];
            v[h] = m->val[i];
        }
        free(m->key);
        free(m->val);
        m->key = k;
        m->val = v;
        m->cap = cap;
    }
    size_t h = (size_t)((a * 0x9e3779b97f4a7c15ULL) >> 17) & (m->cap - 1);
    while (m->val[h] && m->key[h] != a)
        h = (h + 1) & (m->cap - 1);
    *fresh = !m->val[h];
    if (*fresh) {
        m->key[h] = a;
        m->n++;
    }
    return &m->val[h];
}

/* ---- mappings ------------------------------------------------------------------------------- */
struct mapping {
    uintptr_t lo, hi, off;
    char path[512];
};

/* The executable mappings of the raw report's /proc/PID/maps lines (caller frees). */
static size_t read_mappings(const struct drip_raw *raw, struct mapping **out)
{
    size_t n = 0;
    *out = raw && raw->nmaps ? malloc(raw->nmaps * sizeof **out) : NULL;
    for (size_t i = 0; *out && i < raw->nmaps; i++) {
        unsigned long lo, hi, off;
        char perms[8], file[512] = "";
        if (sscanf(raw->maps[i], "%lx-%lx %7s %lx %*s %*s %511[^\n]", &lo, &hi, perms, &off, file) < 4 || perms[2] != 'x')
            continue;
        char *del = strstr(file, " (deleted)");
        if (del)
            *del = 0;
        (*out)[n] = (struct mapping){lo, hi, off, ""};
        snprintf((*out)[n].path, sizeof (*out)[n].path, "%s", file);
        n++;
    }
    return n;
}

static uint64_t mapping_of(const struct mapping *m, size_t n, uintptr_t a)
{
    for (size_t i = 0; i < n; i++)
        if (a >= m[i].lo && a < m[i].hi)
            return i + 1;
    return 0;
}

/* ---- the profile ----------------------------------------------------------------------------- */
static const char *const type_names[4][2] = {
    {"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};

static void value_type(struct buf *out, int field, struct strtab *st, const char *type, const char *unit)
{
    struct buf m = {0};
    field_u64(&m, 1, (uint64_t)intern(st, type));
    field_u64(&m, 2, (uint64_t)intern(st, unit));
    field_msg(out, field, &m);
    free(m.p);
}

#ifdef DRIP_NO_ZLIB
/* Inside the traced process (no zlib there): the profile uncompressed, which pprof reads too. */
static int gzip_to_fd(int fd, const uint8_t *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        off += (size_t)w;
    }
    return 0;
}
#else
static int gzip_to_fd(int fd, const uint8_t *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    uint8_t out[65536];
    z.next_in = (uint8_t *)p;
    z.avail_in = (uInt)n;
    int rc = 0, zr;
    do {
        z.next_out = out;
        z.avail_out = sizeof out;
        zr = deflate(&z, Z_FINISH);
        size_t have = sizeof out - z.avail_out;
        for (size_t off = 0; off < have && !rc;) {
            ssize_t w = write(fd, out + off, have - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                rc = -errno;
            else
                off += (size_t)w;
        }
    } while (zr == Z_OK && !rc);
    if (!rc && zr != Z_STREAM_END)
        rc = -EIO;
    deflateEnd(&z);
    return rc;
}
#endif

int drip__pprof_write(int fd, const struct drip_pprof_sample *s, size_t n, const struct drip_pprof_meta *meta,
                      const struct drip_symbols *sym)
{
    struct buf out = {0}, m = {0}, sub = {0};
    struct strtab st = {0};
    struct addrmap locs = {0}, funcs_by_loc = {0};
    struct mapping *maps = NULL;
    size_t nmaps = read_mappings(meta->raw, &maps);
    intern(&st, "");
    for (int t = 0; t < 4; t++)
        value_type(&out, 1, &st, type_names[t][0], type_names[t][1]);

    /* functions are keyed by (name, file): interned "name\x01file" -> id */
    struct strtab fkeys = {0};
    intern(&fkeys, "");
    struct buf functions = {0}, locations = {0};
    uint64_t *ids = NULL;
    size_t ids_cap = 0;
    int64_t bytes_key = intern(&st, "bytes");
    for (size_t i = 0; i < n; i++) {
        if ((size_t)s[i].nframes > ids_cap) {
            ids_cap = (size_t)s[i].nframes * 2;
            uint64_t *ni = realloc(ids, ids_cap * sizeof *ni);
            if (!ni) {
                out.oom = 1;
                break;
            }
            ids = ni;
        }
        for (int k = 0; k < s[i].nframes; k++) {
            uintptr_t a = s[i].frames[k];
            int fresh;
            uint64_t *slot = addr_slot(&locs, a, &fresh);
            if (!slot) {
                out.oom = 1;
                break;
            }
            if (fresh) {
                *slot = locs.n;
                struct drip_frame f = {0};
                if (sym && !sym->raw)
                    sym->frame(sym->ctx, a, 1, &f);
                field_u64(&m, 1, *slot);
                field_u64(&m, 2, mapping_of(maps, nmaps, a));
                field_u64(&m, 3, a - 1);   /* inside the call instruction */
                if (f.function) {
                    char key[1024];
                    snprintf(key, sizeof key, "%s\x01%s", f.function, f.file ? f.file : "");
                    size_t before = fkeys.n;
                    uint64_t fid = (uint64_t)intern(&fkeys, key);
                    if (fkeys.n != before) {
                        field_u64(&sub, 1, fid);
                        field_u64(&sub, 2, (uint64_t)intern(&st, f.function));
                        field_u64(&sub, 3, (uint64_t)intern(&st, f.function));
                        field_u64(&sub, 4, (uint64_t)intern(&st, f.file));
                        field_msg(&functions, 5, &sub);
                    }
                    field_u64(&sub, 1, fid);
                    field_u64(&sub, 2, (uint64_t)(f.line > 0 ? f.line : 0));
                    field_msg(&m, 4, &sub);
                }
                field_msg(&locations, 4, &m);
            }
            ids[k] = *slot;
        }
        packed(&m, 1, ids, (size_t)s[i].nframes);
        uint64_t vals[4];
        for (int t = 0; t < 4; t++)
            vals[t] = (uint64_t)s[i].values[t];
        packed(&m, 2, vals, 4);
        if (s[i].block_size > 0) {
            field_u64(&sub, 1, (uint64_t)bytes_key);
            field_u64(&sub, 3, (uint64_t)s[i].block_size);
            field_msg(&m, 3, &sub);
        }
        field_msg(&out, 2, &m);
    }
    for (size_t i = 0; i < nmaps; i++) {
        const struct drip_raw_module *mod = meta->raw ? drip__raw_module_of(meta->raw, maps[i].lo + 1, NULL) : NULL;
        const char *id = mod && mod->build_id ? mod->build_id : "";
        int named = sym && !sym->raw;
        field_u64(&m, 1, i + 1);
        field_u64(&m, 2, maps[i].lo);
        field_u64(&m, 3, maps[i].hi);
        field_u64(&m, 4, maps[i].off);
        field_u64(&m, 5, (uint64_t)intern(&st, maps[i].path));
        field_u64(&m, 6, (uint64_t)intern(&st, id));
        field_u64(&m, 7, named);
        field_u64(&m, 8, named);
        field_u64(&m, 9, named);
        field_msg(&out, 3, &m);
    }
    put(&out, locations.p, locations.n);
    put(&out, functions.p, functions.n);
    field_u64(&out, 9, (uint64_t)meta->time_nanos);
    field_u64(&out, 10, (uint64_t)meta->duration_nanos);
    /* string table last: every string has been interned by now */
    value_type(&m, 0, &st, "space", "bytes");   /* interns them; the bytes are rebuilt below */
    m.n = 0;
    int64_t def = meta->default_alloc_space ? intern(&st, "alloc_space") : 0;
    for (size_t i = 0; i < st.n; i++)
        field_bytes(&out, 6, st.s[i], strlen(st.s[i]));
    value_type(&out, 11, &st, "space", "bytes");
    field_u64(&out, 12, (uint64_t)(meta->period > 0 ? meta->period : 1));
    field_u64(&out, 14, (uint64_t)def);

    int rc = (out.oom || locations.oom || functions.oom) ? -ENOMEM : gzip_to_fd(fd, out.p, out.n);
    free(out.p);
    free(m.p);
    free(sub.p);
    free(locations.p);
    free(functions.p);
    free(ids);
    free(maps);
    free(locs.key);
    free(locs.val);
    free(funcs_by_loc.key);
    free(funcs_by_loc.val);
    for (size_t i = 0; i < st.n; i++)
        free(st.s[i]);
    free(st.s);
    free(st.map);
    for (size_t i = 0; i < fkeys.n; i++)
        free(fkeys.s[i]);
    free(fkeys.s);
    free(fkeys.map);
    return rc;
}

void drip__pprof_write_text(struct drip_writer *w, const struct drip_pprof_sample *s, size_t n,
                            const struct drip_pprof_meta *m, const struct drip_symbols *sym)
{
    int64_t tot[4] = {0};
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < 4; t++)
            tot[t] += s[i].values[t];
    drip__printf(w, "heap profile: %" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @ heap/%" PRId64 "\n",
                 tot[2], tot[3], tot[0], tot[1], m->period > 1 ? 2 * m->period : 1);
    for (size_t i = 0; i < n; i++) {
        drip__printf(w, "%" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @", s[i].values[2], s[i].values[3],
                     s[i].values[0], s[i].values[1]);
        for (int k = 0; k < s[i].nframes; k++)
            drip__printf(w, " %#lx", (unsigned long)s[i].frames[k]);
        drip__puts(w, "\n");
        for (int k = 0; k < s[i].nframes && sym; k++) {
            struct drip_frame f;
            sym->frame(sym->ctx, s[i].frames[k], 1, &f);
            drip__printf(w, "#\t%#lx\t%s\t%s:%d\n", (unsigned long)(f.addr - 1), f.function ? f.function : "?",
                         f.file ? f.file : "?", f.line);
        }
    }
    /* pprof reads the mappings from this section to symbolize by itself */
    drip__puts(w, "\nMAPPED_LIBRARIES:\n");
    for (size_t i = 0; m->raw && i < m->raw->nmaps; i++) {
        drip__puts(w, m->raw->maps[i]);
        drip__puts(w, "\n");
    }
}
