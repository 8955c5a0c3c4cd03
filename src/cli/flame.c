/* flame.c — `drip flame FILE|URL > heap.svg` and `drip flame --folded FILE|URL`.
 *
 * Both views are a walk over the samples' stacks (frames named as in drip top, root first) sorted
 * frame by frame in name order, which is how flamegraph.pl works: in that order every frame of the
 * graph is a run of consecutive stacks, so a frame's start is the running total where its run
 * begins and its width the total where it ends, minus that. Siblings come out by name, equal
 * frames always merge, and the output does not depend on sample order. Memory stays near the
 * size of the stacks themselves (2 bytes a frame while there are under 65,536 distinct names)
 * whatever their shape, where a call tree would cost a node per distinct prefix.
 *
 * Samples with a zero or negative value are left out (a flame graph has no negative widths).
 * --folded writes one line per distinct stack, frames root first separated by ';', a space and the
 * value ("main;parse;xmalloc 4096"): the input of flamegraph.pl, inferno and speedscope.
 */
#include "cli.h"
#include "flame.h"
#include "prof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct stk {
    size_t off;   /* into the pool: len frames, w bytes each, big-endian name ranks, root first */
    uint32_t len;
    int64_t value;
};

struct stacks {
    unsigned char *pool;
    size_t plen, pcap;
    struct stk *s;
    size_t n, cap;
    int w;
    uint32_t *rank, *name_of; /* name id -> rank in name order, and back */
    int64_t total;
    uint32_t max_len;
};

static const struct drip__names *rank_names;

static int by_str(const void *a, const void *b)
{
    return strcmp(rank_names->s[*(const uint32_t *)a], rank_names->s[*(const uint32_t *)b]);
}

static const struct stacks *sort_st;

/* frame by frame, then the shorter (the caller's own samples) first */
static int by_stack(const void *a, const void *b)
{
    const struct stk *l = a, *r = b;
    uint32_t m = l->len < r->len ? l->len : r->len;
    int c = memcmp(sort_st->pool + l->off, sort_st->pool + r->off, (size_t)m * (size_t)sort_st->w);
    if (c)
        return c;
    return l->len < r->len ? -1 : l->len > r->len;
}

static uint32_t frame_at(const struct stacks *st, const struct stk *s, uint32_t i)
{
    const unsigned char *p = st->pool + s->off + (size_t)i * (size_t)st->w;
    uint32_t v = 0;
    for (int k = 0; k < st->w; k++)
        v = v << 8 | p[k];
    return v;
}

static void stacks_free(struct stacks *st)
{
    free(st->pool);
    free(st->s);
    free(st->rank);
    free(st->name_of);
}

/* Reads every sample's stack into st, sorted. -1 on ENOMEM. */
static int collect(struct stacks *st, const struct drip__prof *pr, const struct drip__names *nm)
{
    size_t nn = nm->n;
    st->w = nn <= 0xffff ? 2 : nn <= 0xffffff ? 3 : 4;
    st->rank = malloc((nn + 1) * sizeof *st->rank);
    st->name_of = malloc((nn + 1) * sizeof *st->name_of);
    uint32_t *frames = malloc(pr->max_frames * sizeof *frames);
    struct drip_pprof_iter it;
    if (!st->rank || !st->name_of || !frames || drip__pprof_iter_init(&it, pr->p)) {
        free(frames);
        return -1;
    }
    for (size_t i = 0; i < nn; i++)
        st->name_of[i] = (uint32_t)i;
    rank_names = nm;
    qsort(st->name_of, nn, sizeof *st->name_of, by_str);
    for (size_t i = 0; i < nn; i++)
        st->rank[st->name_of[i]] = (uint32_t)i;
    struct drip_pprof_entry e;
    int rc = 0;
    while (drip__pprof_next(&it, &e)) {
        int64_t v = e.values[pr->type];
        if (v <= 0)
            continue;
        size_t n = drip__prof_frames(pr, &e, frames), need = n * (size_t)st->w;
        if (st->n == st->cap || st->pcap - st->plen < need) {
            size_t nc = st->cap ? st->cap * 2 : 4096, pc = st->pcap ? st->pcap : 1 << 16;
            while (pc - st->plen < need)
                pc *= 2;
            struct stk *q = st->n == st->cap ? realloc(st->s, nc * sizeof *q) : st->s;
            unsigned char *pp = pc != st->pcap ? realloc(st->pool, pc) : st->pool;
            if (q)
                st->s = q;
            if (pp)
                st->pool = pp;
            if (!q || !pp) {
                rc = -1;
                break;
            }
            if (st->n == st->cap)
                st->cap = nc;
            st->pcap = pc;
        }
        st->s[st->n++] = (struct stk){st->plen, (uint32_t)n, v};
        for (size_t i = n; i-- > 0;) { /* root first */
            uint32_t r = st->rank[frames[i]];
            for (int k = st->w - 1; k >= 0; k--)
                st->pool[st->plen + (size_t)k] = (unsigned char)(r >> (8 * (st->w - 1 - k)));
            st->plen += (size_t)st->w;
        }
        st->total += v;
        if (n > st->max_len)
            st->max_len = (uint32_t)n;
    }
    drip__pprof_iter_done(&it);
    free(frames);
    sort_st = st;
    if (!rc)
        qsort(st->s, st->n, sizeof *st->s, by_stack);
    return rc;
}

/* What the walk reports: each frame as its run of stacks closes (children before parents; depth
 * 0 is the root), and each distinct stack with its own value. */
struct walker {
    void (*frame)(struct walker *, uint32_t name, uint32_t depth, int64_t start, int64_t value);
    void (*stack)(struct walker *, const struct stacks *, const struct stk *, int64_t value);
};

static int walk(const struct stacks *st, struct walker *wk)
{
    uint32_t *open_rank = malloc(((size_t)st->max_len + 1) * sizeof *open_rank);
    int64_t *open_start = malloc(((size_t)st->max_len + 1) * sizeof *open_start);
    if (!open_rank || !open_start) {
        free(open_rank);
        free(open_start);
        return -1;
    }
    uint32_t depth = 0;
    int64_t cum = 0, self = 0;
    for (size_t i = 0; i < st->n; i++) {
        const struct stk *s = &st->s[i];
        uint32_t c = 0;
        while (c < depth && c < s->len && open_rank[c] == frame_at(st, s, c))
            c++;
        while (depth > c) {
            depth--;
            wk->frame(wk, st->name_of[open_rank[depth]], depth + 1, open_start[depth], cum - open_start[depth]);
        }
        for (; depth < s->len; depth++) {
            open_rank[depth] = frame_at(st, s, depth);
            open_start[depth] = cum;
        }
        cum += s->value;
        self += s->value;
        const struct stk *nx = i + 1 < st->n ? &st->s[i + 1] : NULL;
        if (!nx || by_stack(s, nx)) {
            if (wk->stack && s->len)
                wk->stack(wk, st, s, self);
            self = 0;
        }
    }
    while (depth > 0) {
        depth--;
        wk->frame(wk, st->name_of[open_rank[depth]], depth + 1, open_start[depth], cum - open_start[depth]);
    }
    wk->frame(wk, UINT32_MAX, 0, 0, cum);
    free(open_rank);
    free(open_start);
    return 0;
}

/* ---- folded ------------------------------------------------------------------------------------- */

struct folded {
    struct walker wk;
    struct drip_writer *w;
    const struct drip__names *nm;
};

static void no_frame(struct walker *wk, uint32_t name, uint32_t depth, int64_t start, int64_t value) {}

static void folded_stack(struct walker *wk, const struct stacks *st, const struct stk *s, int64_t value)
{
    struct folded *f = (struct folded *)wk;
    for (uint32_t i = 0; i < s->len; i++) {
        if (i)
            drip__write(f->w, ";", 1);
        /* the characters folded stacks cannot carry: ';' separates frames, newlines lines */
        for (const char *p = f->nm->s[st->name_of[frame_at(st, s, i)]]; *p; p++) {
            char c = *p == ';' ? ':' : (*p == '\n' || *p == '\r') ? ' ' : *p;
            drip__write(f->w, &c, 1);
        }
    }
    drip__printf(f->w, " %lld\n", (long long)value);
}

/* ---- SVG --------------------------------------------------------------------------------------------- */

struct svg {
    struct walker wk;
    struct drip__flame_svg f;
    const struct drip__names *nm;
    double scale;
    uint32_t depth; /* deepest visible frame (first walk) */
};

static void svg_depth(struct walker *wk, uint32_t name, uint32_t depth, int64_t start, int64_t value)
{
    struct svg *s = (struct svg *)wk;
    if ((double)value * s->scale >= DRIP_FLAME_MIN_PX && depth > s->depth)
        s->depth = depth;
}

static void svg_frame(struct walker *wk, uint32_t name, uint32_t depth, int64_t start, int64_t value)
{
    struct svg *s = (struct svg *)wk;
    if ((double)value * s->scale >= DRIP_FLAME_MIN_PX || depth == 0)
        drip__flame_svg_frame(&s->f, name == UINT32_MAX ? "all" : s->nm->s[name], depth, start, value);
}

static void flame_usage(FILE *out)
{
    fprintf(out,
            "usage: drip flame [options] FILE|URL > heap.svg\n"
            "\n"
            "Writes an interactive flame graph of a pprof profile as a self-contained SVG (hover for\n"
            "the figures, click to zoom, Reset Zoom or Escape to go back), or with --folded the\n"
            "folded stacks (root;caller;callee VALUE) that flamegraph.pl, inferno and speedscope read.\n"
            "URL: http://host:port/debug/pprof/heap, or unix:/path/drip.sock[:/debug/pprof/heap] for a\n"
            "unix socket; DRIP_HTTP_TOKEN_FILE=FILE sends FILE's token as Authorization: Bearer.\n"
            "\n"
            "options:\n"
            "  --folded         folded stacks instead of SVG\n"
            "  --type TYPE      sample type (default: the profile's default type, else its last)\n"
            "  --title TEXT     the SVG's title (default: \"drip flame graph: \" and the profile's name)\n"
            "  -o FILE          write to FILE instead of standard output\n"
            "  -h, --help       this text\n");
}

int cmd_flame(int argc, char **argv)
{
    const char *type = NULL, *src = NULL, *title = NULL, *outpath = NULL;
    int fold = 0, next;
    const struct drip__arg opt[] = {
        {"--folded", NULL, DRIP__ARG_FLAG, &fold, 0, NULL},
        {"--type", "--sample_index", DRIP__ARG_STR, &type, 0, NULL},
        {"--title", NULL, DRIP__ARG_STR, &title, 0, NULL},
        {"-o", NULL, DRIP__ARG_STR, &outpath, 0, NULL},
        {NULL}};
    const struct drip__args args = {"flame", opt, flame_usage, drip__one_profile, &src, NULL, 0};
    int parsed = drip__args_parse(&args, argc, argv, &next);
    if (parsed != DRIP__ARGS_GO_ON)
        return parsed;
    if (!src) {
        flame_usage(stderr);
        return 2;
    }
    struct drip__names nm = {0};
    struct drip__prof pr;
    if (drip__prof_open(&pr, src, type, &nm))
        return 2;
    int status = 2, fd = 1, rc;
    struct stacks st = {0};
    if (collect(&st, &pr, &nm)) {
        die(2, "out of memory");
        goto out;
    }
    if (outpath && (fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        die(2, "flame: cannot write %s: %s", outpath, strerror(errno));
        goto out;
    }
    struct drip_writer w;
    drip__writer_fd(&w, fd);
    if (fold) {
        struct folded f = {{no_frame, folded_stack}, &w, &nm};
        rc = walk(&st, &f.wk);
    } else {
        char deftitle[600];
        snprintf(deftitle, sizeof deftitle, "drip flame graph: %s", src);
        struct svg s = {{svg_depth, NULL}, {0}, &nm, drip__flame_scale(st.total), 0};
        rc = walk(&st, &s.wk);
        if (!rc) {
            drip__flame_svg_begin(&s.f, &w, title ? title : deftitle, pr.p->sample_types[pr.type].type, pr.unit,
                                  st.total, s.depth);
            s.wk.frame = svg_frame;
            rc = walk(&st, &s.wk);
            drip__flame_svg_end(&s.f);
        }
    }
    int err = drip__flush(&w);
    if (fd != 1 && close(fd) && !err)
        err = errno;
    if (rc)
        die(2, "out of memory");
    else if (err)
        die(2, "flame: writing the output: %s", strerror(err));
    else
        status = 0;
out:
    stacks_free(&st);
    drip__prof_close(&pr);
    drip__names_free(&nm);
    return status;
}
