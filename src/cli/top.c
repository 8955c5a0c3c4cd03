/* top.c — `drip top FILE|URL`: the functions that hold the most, like `go tool pprof -top`.
 *
 * The table is pprof's, figure for figure: flat = value of the samples whose leaf frame is the
 * function, cum = value of the samples with the function anywhere on the stack (counted once per
 * sample), nodes whose |cum| is under --nodefraction of the total are dropped (default 0.005, as
 * pprof), rows sorted by |flat|, then name, then |cum|. Percentages are of the total of |value|
 * over all samples, formatted as pprof formats them; only the value columns differ, in IEC units
 * (KiB, MiB) instead of pprof's kB/MB.
 */
#include "cli.h"
#include "prof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void top_usage(FILE *out)
{
    fprintf(out,
            "usage: drip top [options] FILE|URL\n"
            "\n"
            "Prints the functions holding the most of a pprof profile (gzipped or not; a file or an\n"
            "http:// URL such as http://127.0.0.1:6060/debug/pprof/heap), like go tool pprof -top.\n"
            "A drip endpoint on a unix socket: unix:/path/drip.sock (its /debug/pprof/heap) or\n"
            "unix:/path/drip.sock:/debug/pprof/allocs. DRIP_HTTP_TOKEN_FILE=FILE sends the token\n"
            "in FILE as Authorization: Bearer (for an endpoint started with http_token).\n"
            "\n"
            "options:\n"
            "  -n, --nodecount N    show at most N functions (default: all above --nodefraction)\n"
            "  --type TYPE          sample type: inuse_space, inuse_objects, alloc_space, alloc_objects...\n"
            "                       (default: the profile's default type, else its last one)\n"
            "  --nodefraction F     hide functions whose cum is under F of the total (default 0.005)\n"
            "  --json               machine-readable output\n"
            "  -h, --help           this text\n");
}

struct row {
    uint32_t id;
    int64_t flat, cum;
};

static const struct drip__names *sort_names;

static long long absll(long long v) { return v < 0 ? -v : v; }

/* pprof's FlatNameOrder */
static int by_flat(const void *a, const void *b)
{
    const struct row *l = a, *r = b;
    long long lf = absll(l->flat), rf = absll(r->flat);
    if (lf != rf)
        return lf > rf ? -1 : 1;
    int c = strcmp(sort_names->s[l->id], sort_names->s[r->id]);
    if (c)
        return c;
    long long lc = absll(l->cum), rc = absll(r->cum);
    return lc == rc ? 0 : lc > rc ? -1 : 1;
}

/* The profile's header lines, as pprof's ProfileLabels. */
static void labels(struct drip_writer *w, const struct drip__prof *pr, int64_t total)
{
    const struct drip_pprof *p = pr->p;
    if (p->nmappings && *p->mappings[0].file) {
        const char *f = strrchr(p->mappings[0].file, '/');
        drip__printf(w, "File: %s\n", f ? f + 1 : p->mappings[0].file);
    }
    if (p->nmappings && *p->mappings[0].build_id)
        drip__printf(w, "Build ID: %s\n", p->mappings[0].build_id);
    for (size_t i = 0; i < p->ncomments; i++)
        if (p->comments[i][0] != '#')
            drip__printf(w, "%s\n", p->comments[i]);
    drip__printf(w, "Type: %s\n", p->sample_types[pr->type].type);
    char buf[128];
    if (p->time_nanos) {
        drip__fmt_time(buf, sizeof buf, p->time_nanos);
        drip__printf(w, "Time: %s\n", buf);
    }
    if (p->duration_nanos) {
        char tot[64];
        drip__fmt_value(buf, sizeof buf, p->duration_nanos, "nanoseconds");
        drip__fmt_value(tot, sizeof tot, total, pr->unit);
        drip__printf(w, "Duration: %s, Total samples = %s\n", buf, tot);
    }
}

int cmd_top(int argc, char **argv)
{
    const char *type = NULL, *src = NULL;
    long limit = 0;
    double frac = 0.005;
    int json = 0, next;
    const struct drip__arg opt[] = {
        {"--json", NULL, DRIP__ARG_FLAG, &json, 0, NULL},
        {"--type", "--sample_index", DRIP__ARG_STR, &type, 0, NULL},
        {"-n", "--nodecount", DRIP__ARG_COUNT, &limit, 0, "a count"},
        {"--nodefraction", NULL, DRIP__ARG_FRACTION, &frac, 0, "a fraction between 0 and 1"},
        {NULL}};
    const struct drip__args args = {"top", opt, top_usage, drip__one_profile, &src, NULL, 0};
    int st = drip__args_parse(&args, argc, argv, &next);
    if (st != DRIP__ARGS_GO_ON)
        return st;
    if (!src) {
        top_usage(stderr);
        return 2;
    }

    struct drip__names nm = {0};
    struct drip__prof pr;
    if (drip__prof_open(&pr, src, type, &nm))
        return 2;
    int status = 2;
    size_t nn = nm.n;
    int64_t *flat = calloc(nn, sizeof *flat), *cum = calloc(nn, sizeof *cum);
    uint32_t *stamp = calloc(nn, sizeof *stamp), *frames = malloc(pr.max_frames * sizeof *frames);
    struct row *rows = malloc((nn + 1) * sizeof *rows);
    struct drip_pprof_iter it = {0};
    if (!flat || !cum || !stamp || !frames || !rows || drip__pprof_iter_init(&it, pr.p)) {
        die(2, "out of memory");
        goto out;
    }
    int64_t total = 0;
    uint32_t sno = 0;
    struct drip_pprof_entry e;
    while (drip__pprof_next(&it, &e)) {
        int64_t val = e.values[pr.type];
        total += val < 0 ? -val : val;
        if (!val)
            continue;
        size_t n = drip__prof_frames(&pr, &e, frames);
        if (!n)
            continue;
        if (++sno == 0) { /* stamps wrapped: start over */
            memset(stamp, 0, nn * sizeof *stamp);
            sno = 1;
        }
        for (size_t i = n; i-- > 0;) {
            if (stamp[frames[i]] != sno) {
                stamp[frames[i]] = sno;
                cum[frames[i]] += val;
            }
        }
        flat[frames[0]] += val;
    }

    /* pprof's newTrimmedGraph: drop nodes under the cutoff, then keep the top N */
    int64_t flat_total = 0;
    size_t present = 0, kept = 0;
    for (size_t i = 0; i < nn; i++)
        if (flat[i] || cum[i]) {
            flat_total += flat[i];
            present++;
        }
    long long cutoff = absll((long long)((double)flat_total * frac));
    for (size_t i = 0; i < nn; i++)
        if ((flat[i] || cum[i]) && absll(cum[i]) >= cutoff)
            rows[kept++] = (struct row){(uint32_t)i, flat[i], cum[i]};
    size_t dropped = present - kept;
    sort_names = &nm;
    qsort(rows, kept, sizeof *rows, by_flat);
    size_t shown = limit && (size_t)limit < kept ? (size_t)limit : kept;
    int64_t shown_flat = 0;
    for (size_t i = 0; i < shown; i++)
        shown_flat += rows[i].flat;
    long long drop_at = absll((long long)((double)total * frac));

    struct drip_writer w;
    drip__writer_fd(&w, 1);
    char a[64], b[64], c[64], d[64], f[64];
    const struct drip_pprof *p = pr.p;
    if (json) {
        drip__puts(&w, "{\"source\":");
        drip__put_json_str(&w, src);
        drip__puts(&w, ",\"type\":");
        drip__put_json_str(&w, p->sample_types[pr.type].type);
        drip__puts(&w, ",\"unit\":");
        drip__put_json_str(&w, pr.unit);
        drip__printf(&w, ",\"time_nanos\":%lld,\"total\":%lld,\"shown\":%lld,\"node_fraction\":%g,"
                        "\"dropped_nodes\":%zu,\"dropped_below\":%lld,\"nodes\":%zu,\"rows\":[",
                    (long long)p->time_nanos, (long long)total, (long long)shown_flat, frac, total ? dropped : 0,
                    drop_at, kept);
        int64_t sum = 0;
        for (size_t i = 0; i < shown; i++) {
            const struct row *r = &rows[i];
            sum += r->flat;
            drip__puts(&w, i ? ",\n{\"function\":" : "\n{\"function\":");
            drip__put_json_str(&w, nm.s[r->id]);
            double t = total ? (double)total : 1;
            drip__printf(&w, ",\"flat\":%lld,\"flat_pct\":%.4f,\"sum_pct\":%.4f,\"cum\":%lld,\"cum_pct\":%.4f}",
                         (long long)r->flat, 100.0 * (double)r->flat / t, 100.0 * (double)sum / t,
                         (long long)r->cum, 100.0 * (double)r->cum / t);
        }
        drip__puts(&w, "]}\n");
    } else {
        labels(&w, &pr, total);
        drip__fmt_value(a, sizeof a, shown_flat, pr.unit);
        drip__fmt_pct(b, sizeof b, shown_flat, total);
        drip__fmt_value(c, sizeof c, total, pr.unit);
        drip__printf(&w, "Showing nodes accounting for %s, %s of %s total\n", a, b + strspn(b, " "), c);
        if (total) {
            if (dropped) {
                drip__fmt_value(a, sizeof a, drop_at, pr.unit);
                drip__printf(&w, "Dropped %zu node%s (cum <= %s)\n", dropped, dropped > 1 ? "s" : "", a);
            }
            if (shown < kept)
                drip__printf(&w, "Showing top %zu nodes out of %zu\n", shown, kept);
        }
        drip__printf(&w, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
        int64_t sum = 0;
        for (size_t i = 0; i < shown; i++) {
            const struct row *r = &rows[i];
            sum += r->flat;
            drip__fmt_value(a, sizeof a, r->flat, pr.unit);
            drip__fmt_pct(b, sizeof b, r->flat, total);
            drip__fmt_pct(c, sizeof c, sum, total);
            drip__fmt_value(d, sizeof d, r->cum, pr.unit);
            drip__fmt_pct(f, sizeof f, r->cum, total);
            drip__printf(&w, "%10s %s %s %10s %s  ", a, b, c, d, f);
            drip__puts(&w, nm.s[r->id]);
            drip__puts(&w, "\n");
        }
    }
    int err = drip__flush(&w);
    status = err ? die(2, "top: writing the output: %s", strerror(err)) : 0;
out:
    drip__pprof_iter_done(&it);
    free(flat);
    free(cum);
    free(stamp);
    free(frames);
    free(rows);
    drip__prof_close(&pr);
    drip__names_free(&nm);
    return status;
}
