/* retention.c — see retention.h. The traced process keeps root words apart (it has no symbols);
 * here (with retention_roots.c, which names each) the paths of one record whose roots get the same name and that go
 * through the same sites are one path (the words of one global array, the slots of one frame).
 * The path shown is the one that holds most of the record's bytes, with the blocks it covers and
 * the number of other paths, as heap analysers show "path to GC roots" (Eclipse MAT) and
 * "Retainers" (Chrome DevTools). A retained size counts for a variable or a frame when every
 * root word of the entry has that same name; what no single name retains is left out.
 */
#include "retention_int.h"
#include "retention_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct drip_retention *drip__retention_new(const struct drip_raw *r, const struct drip_symbols *sym)
{
    if (!r->ret.has)
        return NULL;
    struct drip_retention *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    *t = (struct drip_retention){.raw = r, .sym = sym, .rt = &r->ret, .roots = calloc(r->ret.nroots ? r->ret.nroots : 1, sizeof *t->roots)};
    if (!t->roots) {
        free(t);
        return NULL;
    }
    /* retainers: an entry counts for a name when its first and last root words have it */
    t->ret = calloc(r->ret.nretained ? r->ret.nretained : 1, sizeof *t->ret);
    for (size_t i = 0; t->ret && i < r->ret.nretained; i++) {
        const struct drip_raw_retained *x = &r->ret.retained[i];
        if (x->lo >= r->ret.nroots || x->hi >= r->ret.nroots || !drip__retention_root(t, x->lo)->key || !drip__retention_root(t, x->hi)->key ||
            strcmp(t->roots[x->lo].key, t->roots[x->hi].key))
            continue;
        size_t k = 0;
        while (k < t->nret && strcmp(t->roots[t->ret[k].root].key, t->roots[x->lo].key))
            k++;
        if (k == t->nret)
            t->ret[t->nret++] = (struct retainer){x->lo, 0, 0};
        t->ret[k].bytes += x->bytes;
        t->ret[k].blocks += x->blocks;
    }
    for (size_t i = 1; i < t->nret; i++)   /* by retained bytes, most first (insertion: few) */
        for (size_t j = i; j > 0 && t->ret[j].bytes > t->ret[j - 1].bytes; j--) {
            struct retainer s = t->ret[j];
            t->ret[j] = t->ret[j - 1];
            t->ret[j - 1] = s;
        }
    return t;
}

void drip__retention_free(struct drip_retention *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->rt->nroots; i++)
        free(t->roots[i].key);
    free(t->roots);
    free(t->ret);
    free(t->by_site);
    free(t);
}

/* ---- a record's best path ------------------------------------------------------------------ */

struct entry { char *key; size_t held; };

struct best {
    size_t root;                 /* a root of the path (all have its name) */
    int nhops;                   /* hops[0] the first block's site ... hops[nhops-1] the record */
    uint32_t site[MAX_HOPS];
    uint64_t bytes[MAX_HOPS], blocks[MAX_HOPS];
    uint32_t in_min[MAX_HOPS], in_max[MAX_HOPS], self_min, self_max;
    uint64_t root_off_min, root_off_max;
    uint64_t held_bytes, held_blocks;
    size_t other_paths;
};

static int by_key(const void *a, const void *b) { return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key); }


/* The chain of path ids from the root (out[0]) to p; the count, 0 when broken. */
int drip__retention_chain(const struct drip_raw_retain *rt, uint32_t p, uint32_t *out, uint32_t *root)
{
    uint32_t tmp[MAX_HOPS];
    int n = 0;
    for (;;) {
        if (p >= rt->npaths || n + 1 >= MAX_HOPS)
            return 0;
        tmp[n++] = p;
        if (rt->paths[p].from_root) {
            *root = rt->paths[p].prev;
            break;
        }
        if (rt->paths[p].elided)
            tmp[n++] = GAP;
        p = rt->paths[p].prev;
    }
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return *root < rt->nroots ? n : 0;
}

static void widen(uint32_t *lo, uint32_t *hi, uint32_t a, uint32_t b)
{
    if (a > b)
        return;
    *lo = a < *lo ? a : *lo;
    *hi = b > *hi ? b : *hi;
}

/* The held entries whose path ends at one of sites, in index order (retention_index.c). */
static uint32_t *held_of(struct drip_retention *t, const uint32_t *sites, int nsites, size_t *n)
{
    *n = 0;
    if (!t->by_site_built) {
        t->by_site_built = 1;
        t->by_site = drip__held_by_site(t->rt, &t->nby);
    }
    return t->by_site ? drip__held_of_sites(t->rt, t->by_site, t->nby, sites, nsites, n) : NULL;
}

static int find_best(struct drip_retention *t, int kind, const uint32_t *sites, int nsites, struct best *b)
{
    const struct drip_raw_retain *rt = t->rt;
    size_t ncand = 0;
    uint32_t *cand = held_of(t, sites, nsites, &ncand);
    size_t nlook = cand ? ncand : rt->nheld;
    struct entry *e = calloc(nlook ? nlook : 1, sizeof *e);
    size_t ne = 0;
    for (size_t c_i = 0; e && c_i < nlook; c_i++) {
        size_t i = cand ? cand[c_i] : c_i;
        const struct drip_raw_held *h = &rt->held[i];
        int mine = 0;
        for (int s = 0; s < nsites && h->path < rt->npaths; s++)
            mine |= rt->paths[h->path].site == sites[s];
        uint32_t c[MAX_HOPS], root;
        int n = mine && h->kind == kind ? drip__retention_chain(rt, h->path, c, &root) : 0;
        if (!n)
            continue;
        if (!drip__retention_root(t, root)->key)
            continue;
        size_t len = strlen(t->roots[root].key) + 12 * (size_t)n + 2, at;
        char *k = malloc(len);
        if (!k)
            continue;
        at = (size_t)snprintf(k, len, "%s|", t->roots[root].key);
        for (int j = 0; j + 1 < n; j++)   /* the last hop is the record's own site, whichever id */
            at += (size_t)snprintf(k + at, len - at, c[j] == GAP ? "...," : "%u,", c[j] == GAP ? 0 : rt->paths[c[j]].site);
        e[ne++] = (struct entry){k, i};
    }
    int found = 0;
    if (ne) {
        qsort(e, ne, sizeof *e, by_key);
        size_t groups = 0, best_at = 0;
        uint64_t best_bytes = 0;
        for (size_t i = 0; i < ne;) {
            size_t j = i;
            uint64_t bytes = 0;
            for (; j < ne && !strcmp(e[j].key, e[i].key); j++)
                bytes += rt->held[e[j].held].bytes;
            groups++;
            if (bytes > best_bytes || groups == 1) {
                best_bytes = bytes;
                best_at = i;
            }
            i = j;
        }
        memset(b, 0, sizeof *b);
        b->other_paths = groups - 1;
        b->self_min = UINT32_MAX;
        b->root_off_min = UINT64_MAX;
        for (size_t j = best_at; j < ne && !strcmp(e[j].key, e[best_at].key); j++) {
            const struct drip_raw_held *h = &rt->held[e[j].held];
            uint32_t c[MAX_HOPS], root;
            int n = drip__retention_chain(rt, h->path, c, &root);
            b->held_bytes += h->bytes;
            b->held_blocks += h->blocks;
            if (!found) {
                b->root = root;
                b->nhops = n;
                for (int k = 0; k < n; k++)
                    b->in_min[k] = UINT32_MAX;
            }
            found = 1;
            uint64_t off = rt->roots[root].addr - drip__retention_root(t, root)->base;
            b->root_off_min = off < b->root_off_min ? off : b->root_off_min;
            b->root_off_max = off > b->root_off_max ? off : b->root_off_max;
            for (int k = 0; k < n && k < b->nhops; k++) {
                if (c[k] == GAP) {
                    b->site[k] = GAP;
                    continue;
                }
                const struct drip_raw_path *p = &rt->paths[c[k]];
                b->site[k] = p->site;
                if (k + 1 < n) {   /* the last hop's blocks are the record's: counted as held */
                    b->bytes[k] += p->bytes;
                    b->blocks[k] += p->blocks;
                }
                widen(&b->in_min[k], &b->in_max[k], p->in_min, p->in_max);
                if (k + 1 == n)
                    widen(&b->self_min, &b->self_max, p->self_min, p->self_max);
            }
        }
    }
    for (size_t i = 0; i < ne; i++)
        free(e[i].key);
    free(e);
    free(cand);
    return found;
}

struct drip_frame drip__retention_site_top(struct drip_retention *t, uint32_t site)
{
    struct drip_frame f;
    memset(&f, 0, sizeof f);
    const struct drip_raw_site *s = drip__raw_site_of(t->raw, site);
    if (s && s->n)
        t->sym->frame(t->sym->ctx, s->frames[0], 1, &f);
    return f;
}

static void offsets_text(struct drip_writer *w, uint32_t lo, uint32_t hi)
{
    if (lo > hi)
        return;
    drip__puts(w, lo == hi ? ", at offset " : ", at offsets ");
    drip__put_count(w, lo);
    if (lo != hi) {
        drip__puts(w, "..");
        drip__put_count(w, hi);
    }
}

void drip__retention_text(struct drip_writer *w, struct drip_retention *t, int pid, int kind, const uint32_t *sites,
                         int nsites, uint64_t record_blocks)
{
    struct best b;
    if (!t || !find_best(t, kind, sites, nsites, &b))
        return;
    drip__printf(w, "==%d==  held by: ", pid);
    drip__retention_root_text(w, t, b.root);
    int rk = drip__retention_root(t, b.root)->kind;
    if ((rk == K_GLOBAL || rk == K_TLS) && t->roots[b.root].d.symbol)   /* a variable: where in it */
        offsets_text(w, (uint32_t)b.root_off_min, (uint32_t)b.root_off_max);
    drip__puts(w, "\n");
    for (int k = 0; k + 1 < b.nhops; k++) {
        if (b.site[k] == GAP) {
            drip__printf(w, "==%d==    -> ... (more hops)\n", pid);
            continue;
        }
        struct drip_frame f = drip__retention_site_top(t, b.site[k]);
        drip__printf(w, "==%d==    -> ", pid);
        drip__put_count(w, b.bytes[k]);
        drip__puts(w, b.blocks[k] == 1 ? " bytes in 1 block" : " bytes in ");
        if (b.blocks[k] != 1) {
            drip__put_count(w, b.blocks[k]);
            drip__puts(w, " blocks");
        }
        drip__printf(w, " allocated at %s", f.function ? f.function : "???");
        if (f.file)
            drip__printf(w, " (%s:%d)", drip__retention_base(f.file), f.line);
        offsets_text(w, b.in_min[k + 1], b.in_max[k + 1]);
        if (k == 0)   /* a dynamic TLS block: which variable */
            drip__retention_dtv_var(w, t, b.root, b.in_min[1], b.in_max[1]);
        drip__puts(w, "\n");
    }
    if (record_blocks == 1 && b.held_blocks == 1) {
        drip__printf(w, "==%d==    -> this block", pid);
    } else {
        drip__printf(w, "==%d==    -> these ", pid);
        drip__put_count(w, b.held_blocks);
        if (b.held_blocks != record_blocks) {
            drip__puts(w, " of ");
            drip__put_count(w, record_blocks);
        }
        drip__puts(w, " blocks");
    }
    if (b.self_min <= b.self_max) {   /* a list, a tree: blocks of the record hold each other */
        drip__puts(w, ", linked through offset");
        drip__puts(w, b.self_min == b.self_max ? " " : "s ");
        drip__put_count(w, b.self_min);
        if (b.self_min != b.self_max) {
            drip__puts(w, "..");
            drip__put_count(w, b.self_max);
        }
    }
    if (b.other_paths)
        drip__printf(w, "; %zu other path%s", b.other_paths, b.other_paths == 1 ? "" : "s");
    drip__puts(w, "\n");
}

void drip__retention_json(struct drip_writer *w, struct drip_retention *t, int kind, const uint32_t *sites, int nsites)
{
    struct best b;
    if (!t || !find_best(t, kind, sites, nsites, &b))
        return;
    drip__puts(w, "\"retained_by\": {\"root\": ");
    drip__retention_root_json(w, t, b.root);
    drip__printf(w, ", \"root_offset_min\": %llu, \"root_offset_max\": %llu, \"path\": [",
                (unsigned long long)b.root_off_min, (unsigned long long)b.root_off_max);
    for (int k = 0; k < b.nhops; k++) {
        if (b.site[k] == GAP) {
            drip__puts(w, k ? ", {\"elided\": true}" : "{\"elided\": true}");
            continue;
        }
        struct drip_frame f = drip__retention_site_top(t, b.site[k]);
        int last = k + 1 == b.nhops;
        uint32_t lo = last ? b.self_min : b.in_min[k + 1], hi = last ? b.self_max : b.in_max[k + 1];
        drip__puts(w, k ? ", {\"function\": " : "{\"function\": ");
        drip__retention_json_str(w, f.function);
        drip__puts(w, ", \"file\": ");
        drip__retention_json_str(w, f.file);
        drip__printf(w, ", \"line\": %d, \"bytes\": %llu, \"blocks\": %llu, ", f.line,
                    (unsigned long long)(last ? b.held_bytes : b.bytes[k]),
                    (unsigned long long)(last ? b.held_blocks : b.blocks[k]));
        if (lo <= hi)
            drip__printf(w, "\"offset_min\": %u, \"offset_max\": %u}", lo, hi);
        else
            drip__puts(w, "\"offset_min\": null, \"offset_max\": null}");
    }
    drip__printf(w, "], \"blocks_covered\": %llu, \"other_paths\": %zu}, ", (unsigned long long)b.held_blocks,
                b.other_paths);
}

/* ---- top retainers ------------------------------------------------------------------------------ */
void drip__retention_retainers_text(struct drip_writer *w, struct drip_retention *t, int pid, int max)
{
    if (!t || !t->rt->dom)
        return;
    if (t->rt->dom != 1) {
        drip__printf(w, "==%d== Top retainers: not computed: %s; the paths above are given without them\n", pid,
                    t->rt->dom == 2 ? "the dominator tree would take longer than retain_budget" : "out of memory");
        drip__printf(w, "==%d==\n", pid);
        return;
    }
    drip__printf(w, "==%d== Top retainers (bytes each root alone keeps reachable; dominator tree of %llu nodes, "
                   "%llu pointer%s, %lld ms):\n", pid, (unsigned long long)t->rt->nodes, (unsigned long long)t->rt->edges,
                t->rt->edges == 1 ? "" : "s", t->rt->dom_us / 1000);
    for (size_t i = 0; i < t->nret && (int)i < max; i++) {
        drip__printf(w, "==%d==    ", pid);
        drip__put_count(w, t->ret[i].bytes);
        drip__puts(w, " bytes in ");
        drip__put_count(w, t->ret[i].blocks);
        drip__puts(w, t->ret[i].blocks == 1 ? " block: " : " blocks: ");
        drip__retention_root_text(w, t, t->ret[i].root);
        drip__puts(w, "\n");
    }
    if (!t->nret)
        drip__printf(w, "==%d==    (no root holds anything alone)\n", pid);
    drip__printf(w, "==%d==\n", pid);
}

void drip__retention_retainers_json(struct drip_writer *w, struct drip_retention *t)
{
    if (!t)
        return;
    static const char *const dom[] = {"off", "done", "over_budget", "oom"};
    drip__printf(w, "\"retained_sizes\": \"%s\", \"retainers\": [", dom[t->rt->dom & 3]);
    for (size_t i = 0; i < t->nret; i++) {
        drip__puts(w, i ? ",\n  {\"root\": " : "\n  {\"root\": ");
        drip__retention_root_json(w, t, t->ret[i].root);
        drip__printf(w, ", \"retained_bytes\": %llu, \"retained_blocks\": %llu}", (unsigned long long)t->ret[i].bytes,
                    (unsigned long long)t->ret[i].blocks);
    }
    drip__puts(w, "], \"retained_sites\": [");
    for (size_t i = 0; i < t->rt->nrsites; i++) {
        struct drip_frame f = drip__retention_site_top(t, t->rt->rsites[i].path);
        drip__puts(w, i ? ",\n  {\"function\": " : "\n  {\"function\": ");
        drip__retention_json_str(w, f.function);
        drip__puts(w, ", \"file\": ");
        drip__retention_json_str(w, f.file);
        drip__printf(w, ", \"line\": %d, \"retained_bytes\": %llu, \"retained_blocks\": %llu}", f.line,
                    (unsigned long long)t->rt->rsites[i].bytes, (unsigned long long)t->rt->rsites[i].blocks);
    }
    drip__puts(w, "], ");
}

/* ---- log_roots ------------------------------------------------------------------------------------ */
void drip__retention_why_text(struct drip_writer *w, struct drip_retention *t, int pid, int kind, const uint32_t *sites,
                             int nsites)
{
    for (size_t i = 0; t && i < t->rt->nwhy; i++) {
        const struct drip_raw_why *y = &t->rt->why[i];
        int mine = 0;
        for (int s = 0; s < nsites; s++)
            mine |= y->site == sites[s];
        if (!mine || y->kind != kind || !y->n)
            continue;
        drip__printf(w, "==%d==  why: block 0x%lx is reached from ", pid, (unsigned long)y->chain[2 * (y->n - 1)]);
        if (y->root < t->rt->nroots) {
            drip__printf(w, "root word 0x%lx (", (unsigned long)t->rt->roots[y->root].addr);
            drip__retention_root_text(w, t, y->root);
            drip__puts(w, ")");
        } else {
            drip__puts(w, "a root");
        }
        for (int k = 0; k < y->n; k++)   /* each block, with the offset of its pointer to the next */
            if (!y->chain[2 * k])
                drip__printf(w, " -> ... %lu more", (unsigned long)y->chain[2 * k + 1]);
            else
                drip__printf(w, k + 1 < y->n ? " -> 0x%lx (+%lu)" : " -> 0x%lx", (unsigned long)y->chain[2 * k],
                             (unsigned long)y->chain[2 * k + 1]);
        drip__puts(w, "\n");
    }
}
