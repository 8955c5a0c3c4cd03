/* sarif.c — `drip sarif [--source-root DIR] [-o FILE] REPORT.json`: converts drip's JSON leak
 * report into SARIF 2.1.0 for GitHub code scanning and other SARIF viewers. `drip run --sarif F`
 * (postrun.c) calls the same converter on the report of the program it ran.
 *
 * One result per definite, indirect or possible record (still-reachable blocks are not leaks);
 * one rule per kind, level error for definite and indirect, warning for possible; the allocation
 * stack as a code flow from the outermost frame to the allocating one; file locations relative
 * to the source root (uriBaseId SRCROOT) when they lie under it, absolute file: URIs otherwise.
 * A record the run suppressed is kept, with an external suppression naming its pattern.
 * No locks, no globals.
 */
#include "cli.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DRIP_VERSION
#define DRIP_VERSION "0"
#endif

static const struct {
    const char *kind, *id, *name, *level, *verb, *what;
} rules[] = {
    {"definite", "drip.leak.definite", "DefinitelyLost", "error", "are definitely lost",
     "Memory was allocated here and no pointer to it remains anywhere: it can never be freed."},
    {"indirect", "drip.leak.indirect", "IndirectlyLost", "error", "are indirectly lost",
     "Memory allocated here is only reachable from blocks that are themselves lost: it leaks with them."},
    {"possible", "drip.leak.possible", "PossiblyLost", "warning", "are possibly lost",
     "Memory allocated here is only pointed to from its interior: it is leaked unless the program "
     "keeps an offset pointer on purpose."},
};
enum { NRULES = sizeof rules / sizeof rules[0] };

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF). */
static int utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) || (p[0] == 0xf0 && p[1] < 0x90) ||
        (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* Writes s as a JSON string; a byte that is not valid UTF-8 becomes U+FFFD (SARIF is UTF-8 JSON,
 * and a mangled name from a binary must not make the whole log unreadable). */
static void jstr(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int n = utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", o);
            continue;
        }
        if (n > 1) {
            fwrite(p, 1, (size_t)n, o);
            p += n - 1;
            continue;
        }
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", o);
        else if (*p == '\t')
            fputs("\\t", o);
        else if (*p < 0x20)
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

/* Writes path percent-encoded as a URI path (RFC 3986: unreserved characters and '/' stay). */
static void uri_path(FILE *o, const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p))
            fputc(*p, o);
        else
            fprintf(o, "%%%02X", *p);
    }
}

/* The artifactLocation of a source file: relative to root (SRCROOT) when under it. */
static void artifact(FILE *o, const char *file, const char *root)
{
    size_t rl = strlen(root);
    fputs("{\"uri\": \"", o);
    if (file[0] == '/' && !strncmp(file, root, rl) && file[rl] == '/') {
        uri_path(o, file + rl + 1);
        fputs("\", \"uriBaseId\": \"SRCROOT\"}", o);
    } else if (file[0] == '/') {
        fputs("file://", o);
        uri_path(o, file);
        fputs("\"}", o);
    } else {
        uri_path(o, file);   /* a relative path from the compiler: relative to the build's root */
        fputs("\", \"uriBaseId\": \"SRCROOT\"}", o);
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A SARIF location for one frame of an allocation stack. */
static void location(FILE *o, const struct json *f, const char *root)
{
    const char *fn = json_str(f, "function"), *file = json_str(f, "file"), *mod = json_str(f, "module");
    const char *addr = json_str(f, "address");
    double line = json_num(f, "line", 0);
    fputs("{\"physicalLocation\": {", o);
    if (file && *file) {
        fputs("\"artifactLocation\": ", o);
        artifact(o, file, root);
        if (line >= 1)
            fprintf(o, ", \"region\": {\"startLine\": %.0f}", line);
    } else {
        /* no debug information: the code address, named by its module */
        unsigned long long a = addr ? strtoull(addr, NULL, 16) : 0;
        fprintf(o, "\"address\": {\"absoluteAddress\": %llu", a);
        if (mod) {
            fputs(", \"name\": ", o);
            jstr(o, base_name(mod));
        }
        fputs("}", o);
    }
    fputs("}", o);
    if (fn) {
        fputs(", \"logicalLocations\": [{\"fullyQualifiedName\": ", o);
        jstr(o, fn);
        fputs(", \"kind\": \"function\"}]", o);
    }
    fputs(", \"message\": {\"text\": ", o);
    char text[1024];
    if (file && *file && line >= 1)
        snprintf(text, sizeof text, "%s (%s:%.0f)", fn ? fn : "??", base_name(file), line);
    else
        snprintf(text, sizeof text, "%s (%s+%s)", fn ? fn : "??", mod ? base_name(mod) : "??", addr ? addr : "?");
    jstr(o, text);
    fputs("}}", o);
}

/* Index in the stack of the frame to show a result on: the innermost one whose file is under the
 * source root (the program's own code), else the innermost one with a file, else -1. */
static int primary_frame(const struct json *stack, const char *root)
{
    size_t rl = strlen(root);
    int any = -1;
    for (size_t i = 0; stack && i < stack->n; i++) {
        const char *file = json_str(stack->items[i], "file");
        if (!file || !*file)
            continue;
        if (file[0] != '/' || (!strncmp(file, root, rl) && file[rl] == '/'))
            return (int)i;
        if (any < 0)
            any = (int)i;
    }
    return any;
}

static void result(FILE *o, const struct json *rec, int rule, const char *root)
{
    const struct json *stack = json_get(rec, "stack");
    if (stack && stack->type != JSON_ARRAY)
        stack = NULL;
    double bytes = json_num(rec, "bytes", 0), blocks = json_num(rec, "blocks", 0);
    int prim = primary_frame(stack, root);
    const char *fn = stack && stack->n ? json_str(stack->items[prim >= 0 ? prim : 0], "function") : NULL;
    char text[1024];
    snprintf(text, sizeof text, "%.0f bytes in %.0f blocks %s: allocated in %s", bytes, blocks, rules[rule].verb,
             fn ? fn : "an unknown function");
    fprintf(o, "    {\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": {\"text\": ",
            rules[rule].id, rule, rules[rule].level);
    jstr(o, text);
    fputs("},\n     \"locations\": [", o);
    if (stack && stack->n)
        location(o, stack->items[prim >= 0 ? prim : 0], root);
    fputs("]", o);
    if (stack && stack->n) {
        fputs(",\n     \"codeFlows\": [{\"message\": {\"text\": \"allocation stack\"}, \"threadFlows\": [{\"locations\": [", o);
        for (size_t k = stack->n; k-- > 0;) {   /* outermost (main) first, as the program ran */
            fprintf(o, "\n       {\"nestingLevel\": %zu, \"location\": ", stack->n - 1 - k);
            location(o, stack->items[k], root);
            fputs(k ? "}," : "}", o);
        }
        fputs("]}]}]", o);
    }
    const char *supp = json_str(rec, "suppressed_by");
    if (supp) {
        fputs(",\n     \"suppressions\": [{\"kind\": \"external\", \"justification\": ", o);
        char j[1200];
        snprintf(j, sizeof j, "leak:%s", supp);
        jstr(o, j);
        fputs("}]", o);
    }
    fprintf(o, ",\n     \"properties\": {\"bytes\": %.0f, \"blocks\": %.0f}}", bytes, blocks);
}

int drip__sarif_write(FILE *o, const struct json *report, const char *root)
{
    fputs("{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"version\": \"2.1.0\",\n"
          " \"runs\": [{\n  \"tool\": {\"driver\": {\"name\": \"drip\", \"version\": \"" DRIP_VERSION "\", "
          "\"semanticVersion\": \"" DRIP_VERSION "\",\n   \"rules\": [", o);
    for (int r = 0; r < NRULES; r++) {
        fprintf(o, "%s\n    {\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ", r ? "," : "",
                rules[r].id, rules[r].name);
        char s[128];
        snprintf(s, sizeof s, "Memory leak: blocks %s", rules[r].verb + 4);
        jstr(o, s);
        fputs("}, \"fullDescription\": {\"text\": ", o);
        jstr(o, rules[r].what);
        fprintf(o, "}, \"defaultConfiguration\": {\"level\": \"%s\"}}", rules[r].level);
    }
    fputs("]}},\n  \"originalUriBaseIds\": {\"SRCROOT\": {\"uri\": \"file://", o);
    uri_path(o, root);
    fputs(strcmp(root, "/") ? "/\"}},\n" : "\"}},\n", o);
    double pid = json_num(report, "pid", -1);
    const struct json *complete = json_get(report, "complete");
    fprintf(o, "  \"invocations\": [{\"executionSuccessful\": %s",
            complete && complete->type == JSON_BOOL && !complete->num ? "false" : "true");
    if (pid >= 1 && pid <= INT_MAX && pid == (double)(int)pid)   /* a pid, not whatever a report says */
        fprintf(o, ", \"processId\": %d", (int)pid);
    fputs("}],\n  \"results\": [\n", o);
    const struct json *leaks = json_get(report, "leaks");
    int n = 0;
    for (size_t i = 0; leaks && leaks->type == JSON_ARRAY && i < leaks->n; i++) {
        const char *kind = json_str(leaks->items[i], "kind");
        for (int r = 0; kind && r < NRULES; r++)
            if (!strcmp(kind, rules[r].kind)) {
                fputs(n++ ? ",\n" : "", o);
                result(o, leaks->items[i], r, root);
            }
    }
    fputs("\n  ]}]}\n", o);
    return n;
}

int drip__sarif_convert(const char *report_path, const char *out_path, const char *source_root)
{
    char err[PATH_MAX + 256];
    struct json *report = json_load(report_path, err, sizeof err);
    if (!report)
        return die(2, "%s", err);
    if (report->type != JSON_OBJECT || !json_get(report, "leaks")) {
        json_free(report);
        return die(2, "%s is not a drip JSON report (no \"leaks\")", report_path);
    }
    char root[PATH_MAX];
    if (!realpath(source_root && *source_root ? source_root : ".", root)) {
        json_free(report);
        return die(2, "--source-root %s: %s", source_root, strerror(errno));
    }
    FILE *o = out_path && strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
    if (!o) {
        json_free(report);
        return die(2, "cannot write %s: %s", out_path, strerror(errno));
    }
    drip__sarif_write(o, report, root);
    json_free(report);
    int bad = ferror(o);
    if (o != stdout)
        bad |= fclose(o) != 0;
    else
        bad |= fflush(o) != 0;
    if (bad)
        return die(2, "cannot write %s", out_path ? out_path : "standard output");
    return 0;
}

int cmd_sarif(int argc, char **argv)
{
    const char *root = NULL, *out = NULL, *in = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: drip sarif [--source-root DIR] [-o FILE] REPORT.json\n"
                   "Converts a drip JSON leak report (drip run --json) to SARIF 2.1.0 (standard output by\n"
                   "default). File locations under DIR (default: the current directory) are made relative.\n");
            return 0;
        }
        if (!strcmp(a, "--source-root") || !strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc)
                return die(2, "sarif: %s needs a value", a);
            *(strcmp(a, "--source-root") ? &out : &root) = argv[++i];
        } else if (!strncmp(a, "--source-root=", 14)) {
            root = a + 14;
        } else if (a[0] == '-' && a[1]) {
            return die(2, "sarif: unknown option '%s' (see drip sarif --help)", a);
        } else if (in) {
            return die(2, "sarif: one report at a time (got %s and %s)", in, a);
        } else {
            in = a;
        }
    }
    if (!in)
        return die(2, "sarif: no report given (usage: drip sarif [--source-root DIR] [-o FILE] REPORT.json)");
    return drip__sarif_convert(in, out, root);
}
