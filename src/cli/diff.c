/* diff.c — `drip diff BEFORE AFTER`: the allocation sites (functions, by flat value: the samples
 * whose leaf frame they are) whose live bytes grew most between two profiles of one program.
 *
 * Both profiles are named into one table, so a function is matched by name across them (what
 * pprof's -diff_base does at function granularity). Rows: every function whose value changed,
 * largest growth first, largest shrink last; unchanged ones are left out.
 */
#include "cli.h"
#include "prof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void diff_usage(FILE *out)
{
    fprintf(out,
            "usage: drip diff [options] BEFORE AFTER\n"
            "\n"
            "Compares two pprof profiles (files, http:// or unix:/path.sock[:/path] URLs) and lists the functions whose\n"
            "allocations (by default the live bytes, inuse_space) grew most, with +/- figures.\n"
            "\n"
            "options:\n"
            "  --type TYPE      sample type to compare (default: AFTER's default type)\n"
            "  -n N             show at most N functions (default 20 in text, all in JSON; 0: all)\n"
            "  --json           machine-readable output\n"
            "  -h, --help       this text\n");
}

struct site {
    uint32_t id;
    int64_t before, after;
};

static const struct drip__names *site_names;

static int by_delta(const void *a, const void *b)
{
    const struct site *l = a, *r = b;
    int64_t dl = l->after - l->before, dr = r->after - r->before;
    if (dl != dr)
        return dl > dr ? -1 : 1;
    return strcmp(site_names->s[l->id], site_names->s[r->id]);
}

/* Adds each sample's value to the flat figure of its leaf function; returns the total. */
static int accumulate(const struct drip__prof *pr, int64_t *flat, int side, struct site *sites)
{
    struct drip_pprof_iter it;
    uint32_t *frames = malloc(pr->max_frames * sizeof *frames);
    if (!frames || drip__pprof_iter_init(&it, pr->p)) {
        free(frames);
        return -1;
    }
    struct drip_pprof_entry e;
    while (drip__pprof_next(&it, &e)) {
        int64_t v = e.values[pr->type];
        *flat += v;
        if (!v || !drip__prof_frames(pr, &e, frames))
            continue;
        if (side)
            sites[frames[0]].after += v;
        else
            sites[frames[0]].before += v;
    }
    drip__pprof_iter_done(&it);
    free(frames);
    return 0;
}

static void signed_value(char *buf, size_t cap, int64_t v, const char *unit)
{
    size_t plus = v > 0 && cap > 1;
    if (plus)
        buf[0] = '+';
    drip__fmt_value(buf + plus, cap - plus, v, unit);
}

/* "+31.8%", or "new" / "gone" when one side is zero. */
static void change(char *buf, size_t cap, int64_t before, int64_t after)
{
    if (before == after)
        snprintf(buf, cap, "+0.0%%");
    else if (before == 0)
        snprintf(buf, cap, "new");
    else if (after == 0)
        snprintf(buf, cap, "gone");
    else {
        double pct = 100.0 * (double)(after - before) / (double)(before < 0 ? -before : before);
        char tmp[48];
        snprintf(tmp, sizeof tmp, "%+.1f", pct > 1e9 ? 1e9 : pct < -1e9 ? -1e9 : pct);
        snprintf(buf, cap, "%s%%", tmp);
    }
}

/* BEFORE, then AFTER: src[2], and a third is an error. */
static int two_profiles(const struct drip__args *a, int argc, char **argv, int i)
{
    const char **src = a->ctx;
    if (src[1])
        return -die(2, "diff: two profiles, BEFORE and AFTER ('%s' is one too many)", argv[i]);
    src[src[0] ? 1 : 0] = argv[i];
    return 0;
}

int cmd_diff(int argc, char **argv)
{
    const char *type = NULL, *src[2] = {NULL, NULL};
    long limit = -1;
    int json = 0, next;
    const struct drip__arg opt[] = {
        {"--json", NULL, DRIP__ARG_FLAG, &json, 0, NULL},
        {"--type", "--sample_index", DRIP__ARG_STR, &type, 0, NULL},
        {"-n", NULL, DRIP__ARG_COUNT, &limit, 0, "a count"},
        {NULL}};
    const struct drip__args args = {"diff", opt, diff_usage, two_profiles, src, NULL, 0};
    int st = drip__args_parse(&args, argc, argv, &next);
    if (st != DRIP__ARGS_GO_ON)
        return st;
    if (!src[1]) {
        diff_usage(stderr);
        return 2;
    }
    if (limit < 0)
        limit = json ? 0 : 20;

    struct drip__names nm = {0};
    struct drip__prof pr[2];
    if (drip__prof_open(&pr[1], src[1], type, &nm))
        return 2;
    const char *tname = pr[1].p->sample_types[pr[1].type].type;
    if (drip__prof_open(&pr[0], src[0], tname, &nm)) {
        drip__prof_close(&pr[1]);
        drip__names_free(&nm);
        return 2;
    }
    int status = 2;
    const char *unit = pr[1].unit;
    if (strcmp(pr[0].unit, unit)) {
        die(2, "diff: %s counts %s in %s, %s in %s", tname, src[0], pr[0].unit, src[1], unit);
        goto out0;
    }
    size_t nn = nm.n;
    struct site *sites = calloc(nn + 1, sizeof *sites);
    int64_t total[2] = {0, 0};
    if (!sites || accumulate(&pr[0], &total[0], 0, sites) || accumulate(&pr[1], &total[1], 1, sites)) {
        die(2, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < nn; i++)
        if (sites[i].before != sites[i].after) {
            sites[n] = sites[i];
            sites[n++].id = (uint32_t)i;
        }
    site_names = &nm;
    qsort(sites, n, sizeof *sites, by_delta);
    size_t shown = limit && (size_t)limit < n ? (size_t)limit : n;

    struct drip_writer w;
    drip__writer_fd(&w, 1);
    char a[64], b[64], c[64], d[64];
    if (json) {
        drip__puts(&w, "{\"type\":");
        drip__put_json_str(&w, tname);
        drip__puts(&w, ",\"unit\":");
        drip__put_json_str(&w, unit);
        for (int s = 0; s < 2; s++) {
            drip__puts(&w, s ? ",\"after\":{\"source\":" : ",\"before\":{\"source\":");
            drip__put_json_str(&w, src[s]);
            drip__printf(&w, ",\"total\":%lld}", (long long)total[s]);
        }
        drip__printf(&w, ",\"delta\":%lld,\"changed\":%zu,\"sites\":[", (long long)(total[1] - total[0]), n);
        for (size_t i = 0; i < shown; i++) {
            drip__puts(&w, i ? ",\n{\"function\":" : "\n{\"function\":");
            drip__put_json_str(&w, nm.s[sites[i].id]);
            drip__printf(&w, ",\"before\":%lld,\"after\":%lld,\"delta\":%lld}", (long long)sites[i].before,
                         (long long)sites[i].after, (long long)(sites[i].after - sites[i].before));
        }
        drip__puts(&w, "]}\n");
    } else {
        drip__printf(&w, "Type: %s\n", tname);
        drip__fmt_value(a, sizeof a, total[0], unit);
        drip__fmt_value(b, sizeof b, total[1], unit);
        signed_value(c, sizeof c, total[1] - total[0], unit);
        change(d, sizeof d, total[0], total[1]);
        drip__printf(&w, "Total: %s -> %s (%s, %s)\n", a, b, c, d);
        if (!n) {
            drip__puts(&w, "No function changed.\n");
        } else {
            /* column widths from what is shown, so the figures line up */
            int wd = 5, wc = 6, wb = 6, wa = 5;
            for (size_t i = 0; i < shown; i++) {
                int k;
                signed_value(a, sizeof a, sites[i].after - sites[i].before, unit);
                if ((k = (int)strlen(a)) > wd) wd = k;
                change(a, sizeof a, sites[i].before, sites[i].after);
                if ((k = (int)strlen(a)) > wc) wc = k;
                drip__fmt_value(a, sizeof a, sites[i].before, unit);
                if ((k = (int)strlen(a)) > wb) wb = k;
                drip__fmt_value(a, sizeof a, sites[i].after, unit);
                if ((k = (int)strlen(a)) > wa) wa = k;
            }
            drip__printf(&w, "%*s  %*s  %*s  %*s  %s\n", wd, "delta", wc, "change", wb, "before", wa, "after",
                         "function");
            for (size_t i = 0; i < shown; i++) {
                signed_value(a, sizeof a, sites[i].after - sites[i].before, unit);
                change(b, sizeof b, sites[i].before, sites[i].after);
                drip__fmt_value(c, sizeof c, sites[i].before, unit);
                drip__fmt_value(d, sizeof d, sites[i].after, unit);
                drip__printf(&w, "%*s  %*s  %*s  %*s  ", wd, a, wc, b, wb, c, wa, d);
                drip__puts(&w, nm.s[sites[i].id]);
                drip__puts(&w, "\n");
            }
            if (shown < n)
                drip__printf(&w, "... %zu more function%s changed (-n 0 shows all)\n", n - shown,
                             n - shown > 1 ? "s" : "");
        }
    }
    int err = drip__flush(&w);
    status = err ? die(2, "diff: writing the output: %s", strerror(err)) : 0;
out:
    free(sites);
out0:
    drip__prof_close(&pr[0]);
    drip__prof_close(&pr[1]);
    drip__names_free(&nm);
    return status;
}
