/* vgcompat.c — `drip [valgrind options] program [args]`: valgrind's command line, mapped onto
 * `drip run`, so that tools that run valgrind can run drip instead. CTest's memcheck with
 * MEMORYCHECK_TYPE=Valgrind runs MEMORYCHECK_COMMAND as
 *     drip -q --tool=memcheck --leak-check=yes --show-reachable=yes --num-callers=50
 *          --log-file=Testing/Temporary/MemoryChecker.N.log prog args
 * (no `run`, no `--`) and parses the log as valgrind's: drip's text report already has
 * valgrind's "==PID== N bytes in N blocks are definitely lost in loss record I of N" lines and
 * LEAK SUMMARY. `--error-exitcode` applies as valgrind's does: to the kinds of
 * --errors-for-leak-kinds (default definite,possible), in a full leak check (--leak-check=yes or
 * full) only. `--xml=yes --xml-file=F` writes valgrind's XML (protocol 4) once the program
 * exits (vgxml.c). A flag drip has no use for is accepted and said once on stderr (unless -q); a
 * flag valgrind itself would reject is an error. No locks, no globals beyond the argv built here.
 */
#include "cli.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* valgrind (core and memcheck) flags that change nothing drip does: accepted, said once. */
static const char *const ignored[] = {
    "--track-origins", "--leak-resolution", "--show-mismatched-frees",
    "--undef-value-errors", "--partial-loads-ok", "--freelist-vol", "--freelist-big-blocks",
    "--workaround-gcc296-bugs", "--malloc-fill", "--free-fill", "--keep-stacktraces",
    "--expensive-definedness-checks", "--track-fds", "--time-stamp",
    "--demangle", "--error-limit", "--show-below-main", "--fullpath-after", "--read-var-info",
    "--read-inline-info", "--smc-check", "--vex-iropt-register-updates", "--fair-sched",
    "--max-stackframe", "--main-stacksize", "--redzone-size", "--alignment", "--show-error-list",
    "--log-fd", "--db-attach", "--vgdb", "--vgdb-error",
    "--num-transtab-sectors", "--sim-hints", "--soname-synonyms", "--max-threads", "--run-libc-freeres",
    "--run-cxx-freeres", "--trace-malloc", "--leak-check-heuristics", "--merge-recursive-frames",
    "--allow-mismatched-debuginfo", "--extra-debuginfo-path", "--default-suppressions", "-s", "--verbose", "-v",
};

static int is_yes(const char *v) { return !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "true"); }

/* Expands valgrind's %q{VAR} (an environment variable) and %% in a --log-file name; %p stays for
 * the library, which replaces it with the pid of each process. */
static int expand_log(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        const char *add = NULL;
        char one[3] = {0};
        size_t alen = 0;
        if (p[0] == '%' && p[1] == 'q' && p[2] == '{') {
            const char *end = strchr(p + 3, '}');
            if (!end)
                return die(2, "--log-file=%s: unterminated %%q{", in), -1;
            char var[256];
            snprintf(var, sizeof var, "%.*s", (int)(end - p - 3), p + 3);
            add = getenv(var);
            if (!add)
                return die(2, "--log-file=%s: %s is not set", in, var), -1;
            alen = strlen(add);
            p = end;
        } else if (p[0] == '%' && p[1] == '%') {
            add = "%";
            alen = 1;
            p++;
        } else if (p[0] == '%' && p[1] == 'n') {
            return die(2, "--log-file=%s: %%n is not supported (use %%p)", in), -1;
        } else {
            one[0] = p[0];
            if (p[0] == '%' && p[1] == 'p')
                one[1] = *++p;
            add = one;
            alen = strlen(one);
        }
        if (o + alen >= cap)
            return die(2, "--log-file name too long"), -1;
        memcpy(out + o, add, alen);
        o += alen;
    }
    out[o] = 0;
    return 0;
}

/* Fills out (argv for cmd_run: "run", flags, "--", program...) and runs it. */
static int map_and_run(int argc, char **argv, char **out)
{
    static char logbuf[4096], frames[32], exitcode[32], xmlbuf[4096], errkinds[128];
    int n = 0, quiet = 0, xml = 0, full = 0;
    const char *errors_for = "definite,possible";   /* valgrind's default */
    out[n++] = "run";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const char *v = eq ? eq + 1 : "";
#define IS(name) (nlen == strlen(name) && !strncmp(a, name, nlen))
        if (!eq && (IS("--tool") || IS("--log-file") || IS("--num-callers") || IS("--error-exitcode") ||
                    IS("--suppressions") || IS("--leak-check") || IS("--show-leak-kinds") || IS("--xml") ||
                    IS("--xml-file") || IS("--xml-fd")))
            return die(2, "%s needs a value (%s=...)", a, a);
        if (IS("--tool")) {
            if (strcmp(v, "memcheck"))
                return die(2, "--tool=%s: drip is a leak checker; only --tool=memcheck is supported", v);
        } else if (IS("--leak-check")) {
            if (!strcmp(v, "no"))
                out[n++] = "--no-report";
            else if (strcmp(v, "yes") && strcmp(v, "full") && strcmp(v, "summary"))
                return die(2, "--leak-check takes no, summary, yes or full");
            full = !strcmp(v, "yes") || !strcmp(v, "full");
        } else if (IS("--errors-for-leak-kinds")) {
            unsigned mask;
            if (strlen(v) >= sizeof errkinds - 16 || drip__parse_error_kinds(v, strlen(v), &mask) != 0)
                return die(2, "--errors-for-leak-kinds takes definite, indirect, possible, reachable, all or none");
            errors_for = v;
        } else if (IS("--show-reachable")) {
            out[n++] = is_yes(v) ? "--show-reachable" : "--no-show-reachable";
        } else if (IS("--show-possibly-lost")) {
            out[n++] = is_yes(v) ? "--show-possible" : "--no-show-possible";
        } else if (IS("--show-leak-kinds")) {
            int all = !strcmp(v, "all");
            out[n++] = all || strstr(v, "reachable") ? "--show-reachable" : "--no-show-reachable";
            out[n++] = all || strstr(v, "possible") ? "--show-possible" : "--no-show-possible";
        } else if (IS("--num-callers")) {
            long k = strtol(v, NULL, 10);
            if (k < 1)
                return die(2, "--num-callers takes a number from 1");
            snprintf(frames, sizeof frames, "--max-frames=%ld", k > 64 ? 64L : k);   /* drip keeps 64 at most */
            out[n++] = frames;
        } else if (IS("--log-file")) {
            char path[sizeof logbuf - 16];
            if (expand_log(v, path, sizeof path) != 0)
                return 2;
            snprintf(logbuf, sizeof logbuf, "--log-path=%s", path);
            out[n++] = logbuf;
        } else if (IS("--error-exitcode")) {
            snprintf(exitcode, sizeof exitcode, "--error-exitcode=%s", v);
            out[n++] = exitcode;
        } else if (IS("--suppressions")) {
            /* valgrind's format or LeakSanitizer's: drip reads both (common/suppress.c), one
             * --suppressions per file as valgrind takes them */
            out[n++] = (char *)a;   /* --suppressions=FILE, as drip run spells it */
        } else if (IS("--xml")) {
            if (strcmp(v, "yes") && strcmp(v, "no"))
                return die(2, "--xml takes yes or no");
            xml = !strcmp(v, "yes");
        } else if (IS("--xml-file")) {
            if (expand_log(v, xmlbuf, sizeof xmlbuf) != 0)
                return 2;
        } else if (IS("--xml-fd")) {
            return die(2, "--xml-fd: drip writes valgrind's XML to a file only (--xml-file=FILE)");
        } else if (IS("--gen-suppressions")) {
            out[n++] = (char *)a;
            out[n++] = "--gen-suppressions-format=valgrind";   /* blocks valgrind's users paste */
        } else if (IS("--child-silent-after-fork")) {
            out[n++] = is_yes(v) ? "--child-silent-after-fork" : "--no-child-silent-after-fork";
        } else if (IS("--trace-children")) {
            out[n++] = is_yes(v) ? "--follow-exec" : "--no-follow-exec";
        } else {
            size_t k = 0;
            while (k < sizeof ignored / sizeof ignored[0] && !IS(ignored[k]))
                k++;
            if (k == sizeof ignored / sizeof ignored[0])
                return die(2, "unknown option '%s' (drip takes valgrind's leak-check options, or see drip --help)", a);
            if (!quiet)
                fprintf(stderr, "drip: ignoring %s (valgrind option with no drip equivalent)\n", a);
        }
#undef IS
    }
    if (i >= argc)
        return die(2, "no program to run (usage: drip [valgrind options] program [args...])");
    /* valgrind counts leaks as errors (for --error-exitcode) in a full leak check only, of the
     * kinds --errors-for-leak-kinds names; drip's error_kinds takes them joined by '+' */
    snprintf(errkinds, sizeof errkinds, "--error-kinds=%s", full ? errors_for : "none");
    for (char *c = errkinds; *c; c++)
        if (*c == ',')
            *c = '+';
    out[n++] = errkinds;
    if (xml && !xmlbuf[0])
        return die(2, "--xml=yes needs --xml-file=FILE (where valgrind's XML goes)");
    if (xml) {   /* written from the JSON report once the program exits (postrun.c, vgxml.c) */
        out[n++] = "--xml";
        out[n++] = xmlbuf;
        if (!logbuf[0])   /* valgrind writes no text commentary in XML mode unless asked to */
            out[n++] = "--log-path=/dev/null";
    }
    out[n++] = "--";
    for (; i < argc; i++)
        out[n++] = argv[i];
    out[n] = NULL;
    return cmd_run(n, out);
}

int cmd_vgcompat(int argc, char **argv)
{
    /* at most two words per valgrind flag, plus "run", error kinds, the XML's three, "--", NULL */
    char **out = calloc((size_t)argc * 2 + 10, sizeof *out);
    if (!out)
        return die(2, "out of memory");
    int rc = map_and_run(argc, argv, out);
    free(out);
    return rc;
}
