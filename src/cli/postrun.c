/* postrun.c — drip run's steps that happen in the CLI after the program exits, from its JSON
 * report: --sarif FILE (sarif.c), --xml FILE (valgrind's XML, vgxml.c). --gen-suppressions only turns on the library's gen_suppressions
 * option (the report prints each record's suppression itself). The library writes the JSON
 * report (to the user's --json file, else to a temporary file removed afterwards); the CLI
 * converts it once the program is gone, before drip leaves with the program's status.
 * Single-threaded (the CLI's main thread); state is the static struct below.
 */
#include "cli.h"
#include "json.h"
#include "options.h"
#include "vgxml.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    char sarif[PATH_MAX];
    char xml[PATH_MAX];      /* valgrind's XML (may hold %p) */
    int show_possible, show_reachable;
    char source_root[PATH_MAX];
    int gen_supp;
    char json[PATH_MAX];     /* the report to read (may hold %p) */
    int json_is_temp;
    char log_path[PATH_MAX]; /* where the text report goes ("" = stderr) */
} post;

void drip__postrun_usage(FILE *out)
{
    fprintf(out, "  %-30s %s\n", "--sarif FILE", "also write the leak records as SARIF 2.1.0 (after the program exits)");
    fprintf(out, "  %-30s %s\n", "--xml FILE", "also write the leak records as valgrind's XML (protocol 4; %p: the pid, a file a process)");
    fprintf(out, "  %-30s %s\n", "--source-root DIR", "SARIF file locations relative to DIR (default: the current directory)");
    fprintf(out, "  %-30s %s\n", "--gen-suppressions[=all|no]", "after each leak record, print the leak:<pattern> line that suppresses it");
}

/* The value of --name VALUE / --name=VALUE at argv[i]; sets *used to the words taken. */
static const char *value(int argc, char **argv, int i, size_t nlen, int *used)
{
    const char *a = argv[i];
    if (a[2 + nlen] == '=') {
        *used = 1;
        return a + 3 + nlen;
    }
    if (i + 1 >= argc) {
        die(2, "option %s needs a value", a);
        return NULL;
    }
    *used = 2;
    return argv[i + 1];
}

int drip__postrun_flag(int argc, char **argv, int i)
{
    const char *a = argv[i];
    int used = 0;
    if (!strncmp(a, "--sarif", 7) && (a[7] == 0 || a[7] == '=')) {
        const char *v = value(argc, argv, i, 5, &used);
        if (!v)
            return -1;
        if (!*v)
            return die(2, "--sarif needs a file name"), -1;
        if (v[0] == '/' || !getcwd(post.sarif, sizeof post.sarif))
            snprintf(post.sarif, sizeof post.sarif, "%s", v);
        else
            snprintf(post.sarif + strlen(post.sarif), sizeof post.sarif - strlen(post.sarif), "/%s", v);
        return used;
    }
    if (!strncmp(a, "--xml", 5) && (a[5] == 0 || a[5] == '=')) {
        const char *v = value(argc, argv, i, 3, &used);
        if (!v)
            return -1;
        if (!*v)
            return die(2, "--xml needs a file name"), -1;
        if (v[0] == '/' || !getcwd(post.xml, sizeof post.xml))
            snprintf(post.xml, sizeof post.xml, "%s", v);
        else
            snprintf(post.xml + strlen(post.xml), sizeof post.xml - strlen(post.xml), "/%s", v);
        return used;
    }
    if (!strncmp(a, "--source-root", 13) && (a[13] == 0 || a[13] == '=')) {
        const char *v = value(argc, argv, i, 11, &used);
        if (!v)
            return -1;
        if (!realpath(v, post.source_root))
            return die(2, "--source-root %s: %s", v, strerror(errno)), -1;
        return used;
    }
    if (!strcmp(a, "--gen-suppressions") || !strncmp(a, "--gen-suppressions=", 19)) {
        const char *v = a[18] == '=' ? a + 19 : "all";
        if (!strcmp(v, "all") || !strcmp(v, "yes"))
            post.gen_supp = 1;   /* valgrind's yes asks per error; drip never prompts */
        else if (!strcmp(v, "no"))
            post.gen_supp = 0;
        else
            return die(2, "--gen-suppressions takes all, yes or no"), -1;
        return 1;
    }
    return 0;
}

/* path with %p replaced by pid. */
static void expand_pid(const char *path, int pid, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = path; *p && o + 16 < cap; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(out + o, cap - o, "%d", pid);
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
}

static void remove_temp(const char *path)
{
    unlink(path);
    /* a forked child's report is FILE.<pid> */
    char pat[PATH_MAX + 4];
    snprintf(pat, sizeof pat, "%s.*", path);
    glob_t g;
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
}

/* valgrind's --xml-file=NAME.%p.xml with --trace-children: one XML file a process. drip's
 * forked children write their JSON as JSON.<pid>; each is converted to the XML name with its pid.
 * Without %p in the name only the first process's XML is written, as one file cannot hold two. */
static void convert_children(const char *json)
{
    if (!post.xml[0] || !strstr(post.xml, "%p"))
        return;
    char pat[PATH_MAX + 40];
    snprintf(pat, sizeof pat, "%s.*", json);
    glob_t g;
    if (glob(pat, 0, NULL, &g) != 0)
        return;
    size_t base = strlen(json) + 1;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *suffix = g.gl_pathv[i] + base;
        char *end;
        long pid = strtol(suffix, &end, 10);
        if (end == suffix || *end || pid <= 0)
            continue;   /* (a temporary file being written: JSON.<pid>.tmp...) */
        char xml[PATH_MAX + 32];
        expand_pid(post.xml, (int)pid, xml, sizeof xml);
        drip__vgxml_convert(g.gl_pathv[i], xml, post.show_possible, post.show_reachable);
    }
    globfree(&g);
}

static void after_child(int pid)
{
    char json[PATH_MAX + 32];
    expand_pid(post.json, pid, json, sizeof json);
    convert_children(json);
    struct stat st;
    if (stat(json, &st) != 0 || st.st_size == 0) {
        /* the program replaced itself with exec, or was killed before it could report */
        fprintf(stderr, "drip: no JSON report from process %d: no %s written", pid,
                post.sarif[0] && post.xml[0] ? "SARIF or XML" : post.sarif[0] ? "SARIF" : "XML");
        fputc('\n', stderr);
        if (post.json_is_temp)
            remove_temp(json);
        return;
    }
    if (post.sarif[0])
        drip__sarif_convert(json, post.sarif, post.source_root[0] ? post.source_root : NULL);
    if (post.xml[0]) {
        char xml[PATH_MAX + 32];
        expand_pid(post.xml, pid, xml, sizeof xml);
        drip__vgxml_convert(json, xml, post.show_possible, post.show_reachable);
    }
    if (post.json_is_temp)
        remove_temp(json);
}

int drip__postrun_prepare(char *opts, size_t cap, const struct drip_options *parsed)
{
    if (post.gen_supp) {   /* the report prints each record's line itself (option gen_suppressions) */
        size_t len = strlen(opts);
        int n = snprintf(opts + len, cap - len, "%sgen_suppressions=1", len ? ":" : "");
        if (n < 0 || (size_t)n >= cap - len)
            return die(2, "too many options"), -1;
    }
    if (!post.sarif[0] && !post.xml[0])
        return 0;
    if (!parsed->report) {
        die(2, "%s needs the report (drop --no-report)", post.sarif[0] ? "--sarif" : "--xml");
        return -1;
    }
    post.show_possible = parsed->show_possible;
    post.show_reachable = parsed->show_reachable;
    snprintf(post.log_path, sizeof post.log_path, "%s", parsed->log_path);
    if (parsed->json[0]) {
        snprintf(post.json, sizeof post.json, "%s", parsed->json);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(post.json, sizeof post.json, "%s/drip-report-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        int fd = mkstemp(post.json);
        if (fd < 0) {
            die(2, "cannot create a temporary JSON report in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
            return -1;
        }
        close(fd);
        post.json_is_temp = 1;
        size_t len = strlen(opts);
        int n = snprintf(opts + len, cap - len, "%sjson='%s'", len ? ":" : "", post.json);
        if (n < 0 || (size_t)n >= cap - len) {
            unlink(post.json);
            die(2, "too many options");
            return -1;
        }
    }
    drip__after_child = after_child;
    return 0;
}
