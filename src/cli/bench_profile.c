/* bench_profile.c — writes a large synthetic heap profile for timing drip top / drip flame
 * (`cmake --build B --target bench_cli`). Not part of drip.
 *
 *   drip_bench_profile FILE MIB [--raw]
 *
 * The profile looks like a big C++ server's: 20,000 functions in 40,000 locations (one in eight
 * with an inlined callee), 12 mappings, Go's four sample types, and stacks 8 to 48 frames deep
 * drawn from a fixed random call tree (so they share prefixes the way real stacks do). Samples
 * are added until the output (gzipped at level 1, as Go writes it, unless --raw) reaches MIB.
 * Random stacks and values compress little (about 1.03 to 1), so the gzipped and the raw file hold
 * about as many samples.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { NFUNC = 20000, NLOC = 40000, NMAP = 12 };

struct buf {
    unsigned char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(1);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void varint(struct buf *b, uint64_t v)
{
    unsigned char t[10];
    int n = 0;
    while (v >= 0x80) {
        t[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (unsigned char)v;
    put(b, t, (size_t)n);
}

static void key(struct buf *b, int field, int wt) { varint(b, (uint64_t)field << 3 | (uint64_t)wt); }
static void fvar(struct buf *b, int field, uint64_t v)
{
    key(b, field, 0);
    varint(b, v);
}
static void fmsg(struct buf *b, int field, const struct buf *m)
{
    key(b, field, 2);
    varint(b, m->len);
    put(b, m->p, m->len);
}
static void fstr(struct buf *b, int field, const char *s)
{
    key(b, field, 2);
    varint(b, strlen(s));
    put(b, s, strlen(s));
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct out {
    FILE *f;
    int gz;
    z_stream z;
    size_t written;
};

static void emit(struct out *o, const struct buf *b, int finish)
{
    if (!o->gz) {
        fwrite(b->p, 1, b->len, o->f);
        o->written += b->len;
        return;
    }
    unsigned char chunk[1 << 16];
    o->z.next_in = b->p;
    o->z.avail_in = (uInt)b->len;
    do {
        o->z.next_out = chunk;
        o->z.avail_out = sizeof chunk;
        deflate(&o->z, finish ? Z_FINISH : Z_NO_FLUSH);
        size_t n = sizeof chunk - o->z.avail_out;
        fwrite(chunk, 1, n, o->f);
        o->written += n;
    } while (o->z.avail_out == 0 || (finish && o->z.avail_in));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: drip_bench_profile FILE MIB [--raw]\n");
        return 2;
    }
    int raw = argc > 3 && !strcmp(argv[3], "--raw");
    struct out o = {fopen(argv[1], "wb"), !raw, {0}, 0};
    size_t target = (size_t)atol(argv[2]) << 20;
    if (!o.f)
        return perror(argv[1]), 1;
    if (o.gz)
        deflateInit2(&o.z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);

    /* string table layout: 0 "", 1-8 the type names, 9.. functions, then files and mappings */
    static const char *const fixed[] = {"", "alloc_objects", "count", "alloc_space", "bytes", "inuse_objects",
                                        "inuse_space", "space"};
    struct buf b = {0}, m = {0};
    /* sample types: (alloc_objects,count) (alloc_space,bytes) (inuse_objects,count) (inuse_space,bytes) */
    static const int st[4][2] = {{1, 2}, {3, 4}, {5, 2}, {6, 4}};
    for (int t = 0; t < 4; t++) {
        m.len = 0;
        fvar(&m, 1, (uint64_t)st[t][0]);
        fvar(&m, 2, (uint64_t)st[t][1]);
        fmsg(&b, 1, &m);
    }
    emit(&o, &b, 0);

    /* a random call tree over locations: each location calls one of 6 others */
    uint32_t (*callees)[6] = malloc(sizeof *callees * NLOC);
    for (int l = 0; l < NLOC; l++)
        for (int k = 0; k < 6; k++)
            callees[l][k] = (uint32_t)(rnd() % NLOC);
    uint32_t stack[64];
    size_t n = 0;
    while (o.written < target) {
        b.len = 0;
        for (int s = 0; s < 256; s++) {
            int depth = 8 + (int)(rnd() % 41);
            uint32_t cur = (uint32_t)(rnd() % 16); /* a few roots: main, thread starts */
            for (int d = 0; d < depth; d++) {
                stack[depth - 1 - d] = cur + 1; /* leaf first */
                cur = callees[cur][rnd() % 6];
            }
            m.len = 0;
            struct buf ids = {0};
            for (int d = 0; d < depth; d++)
                varint(&ids, stack[d]);
            fmsg(&m, 1, &ids);
            free(ids.p);
            uint64_t objs = 1 + rnd() % 100, size = 16u << (rnd() % 12);
            uint64_t live = rnd() % 3 ? objs / 2 : 0;
            struct buf vals = {0};
            varint(&vals, objs);
            varint(&vals, objs * size);
            varint(&vals, live);
            varint(&vals, live * size);
            fmsg(&m, 2, &vals);
            free(vals.p);
            fmsg(&b, 2, &m);
            n++;
        }
        emit(&o, &b, 0);
    }
    b.len = 0;
    for (int i = 1; i <= NMAP; i++) {
        m.len = 0;
        fvar(&m, 1, (uint64_t)i);
        fvar(&m, 2, (uint64_t)i << 32);
        fvar(&m, 3, ((uint64_t)i << 32) + (1u << 30));
        fvar(&m, 5, (uint64_t)(9 + NFUNC + i - 1));
        fvar(&m, 7, 1);
        fmsg(&b, 3, &m);
    }
    for (int l = 0; l < NLOC; l++) {
        m.len = 0;
        fvar(&m, 1, (uint64_t)l + 1);
        fvar(&m, 2, (uint64_t)(1 + l % NMAP));
        fvar(&m, 3, ((uint64_t)(1 + l % NMAP) << 32) + 16 * (uint64_t)l);
        struct buf line = {0};
        if (l % 8 == 0) { /* an inlined callee first */
            fvar(&line, 1, 1 + (uint64_t)((l * 7 + 3) % NFUNC));
            fvar(&line, 2, 10);
            fmsg(&m, 4, &line);
            line.len = 0;
        }
        fvar(&line, 1, 1 + (uint64_t)(l % NFUNC));
        fvar(&line, 2, 100 + (uint64_t)l % 900);
        fmsg(&m, 4, &line);
        free(line.p);
        fmsg(&b, 4, &m);
    }
    for (int f = 0; f < NFUNC; f++) {
        m.len = 0;
        fvar(&m, 1, (uint64_t)f + 1);
        fvar(&m, 2, (uint64_t)(9 + f));
        fvar(&m, 4, (uint64_t)(9 + NFUNC));
        fmsg(&b, 5, &m);
    }
    for (int i = 0; i < 8; i++)
        fstr(&b, 6, fixed[i]);
    fstr(&b, 6, "x"); /* 8: unused */
    char name[96];
    for (int f = 0; f < NFUNC; f++) {
        snprintf(name, sizeof name, "server::module%03d::Handler%d::process_request_part_%d", f % 200, f % 97, f);
        fstr(&b, 6, name);
    }
    for (int i = 1; i <= NMAP; i++) {
        snprintf(name, sizeof name, "/usr/lib/x86_64-linux-gnu/libserver_part%d.so", i);
        fstr(&b, 6, name);
    }
    m.len = 0;
    fvar(&m, 1, 7);
    fvar(&m, 2, 4);
    fmsg(&b, 11, &m);
    fvar(&b, 12, 524288);
    emit(&o, &b, 1);
    if (o.gz)
        deflateEnd(&o.z);
    fclose(o.f);
    fprintf(stderr, "%s: %zu samples, %.1f MiB\n", argv[1], n, (double)o.written / (1 << 20));
    free(callees);
    free(b.p);
    free(m.p);
    return 0;
}
