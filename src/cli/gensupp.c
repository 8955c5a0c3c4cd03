/* gensupp.c — suppressions from a report: `drip suppress REPORT.json > drip.supp` and
 * the same lines the text report prints per record with --gen-suppressions. One LeakSanitizer-format line (`leak:<pattern>`) per
 * definite, indirect or possible record, on the most specific frame that is not in the C runtime
 * (libc, the loader, libstdc++, libgcc_s): the innermost function of the program's own code, so
 * the line names the leak rather than malloc's callers at large. The function name is anchored
 * (`^name$`) so that suppressing `parse` does not also suppress `parse_header`. No locks.
 */
#include "cli.h"
#include "json.h"
#include "suppress.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pattern for one record of a JSON report into out, or -1 (see drip__suppression_pattern). */
static int record_pattern(const struct json *rec, char *out, size_t cap)
{
    const struct json *stack = json_get(rec, "stack");
    if (!stack || stack->type != JSON_ARRAY)
        return -1;
    struct drip_frame f[64];
    size_t n = stack->n < 64 ? stack->n : 64;
    for (size_t i = 0; i < n; i++)
        f[i] = (struct drip_frame){.function = json_str(stack->items[i], "function"),
                                   .module = json_str(stack->items[i], "module")};
    return drip__suppression_pattern(f, n, out, cap);
}

static int is_leak_kind(const char *kind)
{
    return kind && (!strcmp(kind, "definite") || !strcmp(kind, "indirect") || !strcmp(kind, "possible"));
}

int drip__suppress_write(FILE *o, const struct json *report, const char *prefix)
{
    const struct json *leaks = json_get(report, "leaks");
    size_t n = leaks && leaks->type == JSON_ARRAY ? leaks->n : 0;
    char (*seen)[512] = calloc(n ? n : 1, sizeof *seen);
    if (!seen)
        return -1;
    size_t nseen = 0;
    int lines = 0;
    for (size_t i = 0; i < n; i++) {
        const struct json *rec = leaks->items[i];
        if (!is_leak_kind(json_str(rec, "kind")) || json_get(rec, "suppressed_by"))
            continue;
        char pat[512];
        if (record_pattern(rec, pat, sizeof pat) != 0) {
            fprintf(o, "%s# record %zu (%s): no frame outside the C runtime to name\n", prefix, i + 1,
                    json_str(rec, "kind"));
            continue;
        }
        size_t k = 0;
        while (k < nseen && strcmp(seen[k], pat))
            k++;
        if (k < nseen)
            continue;   /* one line covers every record on that frame */
        memcpy(seen[nseen++], pat, sizeof pat);
        fprintf(o, "%sleak:%s\n", prefix, pat);
        lines++;
    }
    free(seen);
    return lines;
}

int cmd_suppress(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: drip suppress REPORT.json > drip.supp\n"
               "Prints a LeakSanitizer-format suppression (leak:<pattern>) for every definite, indirect\n"
               "and possible record of a drip JSON report, for drip run --suppressions.\n");
        return 0;
    }
    if (argc != 2 || (argv[1][0] == '-' && argv[1][1]))
        return die(2, "suppress: usage: drip suppress REPORT.json");
    char err[PATH_MAX + 256];
    struct json *report = json_load(argv[1], err, sizeof err);
    if (!report)
        return die(2, "%s", err);
    if (report->type != JSON_OBJECT || !json_get(report, "leaks")) {
        json_free(report);
        return die(2, "%s is not a drip JSON report (no \"leaks\")", argv[1]);
    }
    printf("# drip suppressions generated from %s (LeakSanitizer format)\n", argv[1]);
    int rc = drip__suppress_write(stdout, report, "");
    json_free(report);
    if (rc < 0)
        return die(2, "out of memory");
    return fflush(stdout) == 0 ? 0 : die(2, "cannot write standard output");
}
