/* symbolize.c — `drip symbolize [options] [RAWFILE|-]`: names the frames of a raw report
 * (src/common/raw.h) and writes what it asks for: the leak report (text and JSON), the heap
 * profile, growth suspects, or the names of addresses.
 *
 * libdrip.so runs it at exit (and for live requests) with the raw report on stdin and the report
 * descriptors passed by number (--text-fd, --json-fd, --profile-fd, --out-fd); a user runs it on
 * a raw report kept with --raw-out; --status-fd N then receives "0" or "1" once the outputs are
 * written (followed by "e<errno>" when one could not be) (its exit status may be reaped by the program's own SIGCHLD handler). Exit status: 0 no
 * unsuppressed definite or indirect leaks, 1 leaks found, 2 bad usage or input (one line on
 * stderr), 3 a report could not be written. --json-commit TMP PATH (and --profile-commit): the
 * descriptor given is the temporary file TMP, renamed to PATH once written (a child's report
 * handed over without waiting: the child is gone, the rename is done here).
 */
#include "cli.h"
#include "symbolizer.h"
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: drip symbolize [options] [RAWFILE|-]\n"
            "\n"
            "Names the frames of a raw report (drip run --raw-out FILE) and writes its leak report.\n"
            "Symbols come from local files only (the module, /usr/lib/debug/.build-id, .gnu_debuglink).\n"
            "Exit status: 0 no definite or indirect leaks, 1 leaks found, 2 bad input.\n"
            "\n"
            "  --json FILE        also write the JSON report to FILE\n"
            "  --profile FILE     write the heap profile the raw report holds (pprof, gzipped)\n"
            "  --no-text          no text report (on stdout otherwise)\n"
            "  --debuginfod       fetch missing debug info from DEBUGINFOD_URLS (10 s limit)\n"
            "  --no-cache         neither read nor update the names cached per build ID\n"
            "                     ($XDG_CACHE_HOME/drip or ~/.cache/drip; DRIP_CACHE=0 also turns it off)\n"
            "  --serve            answer requests on stdin until end of file (libdrip.so's live helper)\n"
            "  --text-fd N, --json-fd N, --profile-fd N, --out-fd N\n"
            "                     write to these descriptors (how libdrip.so calls it)\n");
}

static char *read_all(int fd, size_t *len)
{
    size_t n = 0, cap = 1 << 16;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return b;
}

static int open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die(2, "cannot write %s: %s", path, strerror(errno));
    return fd;
}

/* A finished temporary file renamed into place, as report.c's close_out does: the report appears
 * whole or not at all (an empty one is removed). The old report goes first (ext4's auto_da_alloc
 * would write the new one out before the rename returns). */
static void commit(int fd, const char *tmp, const char *path)
{
    struct stat st;
    int ok = fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0;
    if (ok && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        unlink(path);
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            fprintf(stderr, "drip: cannot write report %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
}

static int fd_arg(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v < 1 << 20 ? (int)v : -2;
}

/* Reads exactly n bytes; 0, or -1 at end of file or error. */
static int read_exact(int fd, char *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* --serve: libdrip.so's long-lived symbolizer for live requests. Requests on stdin are
 * "drip-request LEN\n" + a raw report; each answer on stdout is "drip-answer RC LEN\n" + what the
 * report asks for (RC 0/1: leaks found; 2: the request could not be read, LEN 0). Ends at end of
 * file: when the program ends. */
static int serve(int debuginfod, int cache)
{
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        char line[64];
        size_t ll = 0;
        while (ll < sizeof line - 1 && read_exact(0, line + ll, 1) == 0 && line[ll] != '\n')
            ll++;
        if (ll == 0 || line[ll] != '\n')
            return 0;
        line[ll] = 0;
        long long len;
        if (sscanf(line, "drip-request %lld", &len) != 1 || len < 0 || len > (1LL << 34))
            return die(2, "--serve: bad request header");
        char *doc = malloc((size_t)len + 1);
        if (!doc || read_exact(0, doc, (size_t)len) != 0) {
            free(doc);
            return 0;
        }
        struct drip_raw raw;
        char err[256];
        int rc = 2;
        FILE *out = tmpfile();
        if (out && drip__raw_parse(&raw, doc, (size_t)len, err, sizeof err) == 0) {
            struct drip_symbolizer *s = drip_symbolizer_new(&raw, debuginfod || raw.opt.debuginfod, cache);
            if (s) {
                struct drip_symbols sym = drip_symbolizer_symbols(s);
                /* a live leak check is the JSON report; everything else goes to out_fd */
                int fd = fileno(out);
                struct drip_render_out o = {-1, -1, -1, fd, NULL};
                if (!strcmp(raw.want, "leaks"))
                    o.json_fd = fd;
                int leaked = 0;
                rc = drip__render(&raw, &sym, &o, &leaked) == 0 ? leaked : 2;
                drip_symbolizer_free(s);
            }
        }
        drip__raw_free(&raw);
        free(doc);
        long long olen = out && rc != 2 ? (long long)lseek(fileno(out), 0, SEEK_END) : 0;
        if (olen < 0)
            olen = 0, rc = 2;
        dprintf(1, "drip-answer %d %lld\n", rc, olen);
        char buf[65536];
        for (off_t off = 0; off < olen;) {
            ssize_t n = pread(fileno(out), buf, sizeof buf, off);
            if (n <= 0 || write(1, buf, (size_t)n) != n)
                return 3;
            off += n;
        }
        if (out)
            fclose(out);
    }
}

int cmd_symbolize(int argc, char **argv)
{
    struct drip_render_out o = {1, -1, -1, 1, NULL};
    const char *in = "-", *json = NULL, *profile = NULL;
    const char *commit_tmp[2] = {NULL, NULL}, *commit_path[2] = {NULL, NULL};   /* json, profile */
    int debuginfod = 0, fd_mode = 0, status_fd = -1, cache = 1, serve_mode = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int *fdp = !strcmp(a, "--text-fd") ? &o.text_fd : !strcmp(a, "--json-fd") ? &o.json_fd
                   : !strcmp(a, "--profile-fd") ? &o.profile_fd : !strcmp(a, "--out-fd") ? &o.out_fd : NULL;
        if (fdp) {
            if (i + 1 >= argc || (*fdp = fd_arg(argv[++i])) < 0)
                return die(2, "%s needs a descriptor number", a);
            if (!fd_mode) {   /* descriptors given: only those are written */
                fd_mode = 1;
                if (fdp != &o.text_fd)
                    o.text_fd = -1;
                if (fdp != &o.out_fd)
                    o.out_fd = -1;
            }
        } else if (!strcmp(a, "--json") || !strcmp(a, "--profile")) {
            if (i + 1 >= argc)
                return die(2, "%s needs a file name", a);
            *(!strcmp(a, "--json") ? &json : &profile) = argv[++i];
        } else if (!strcmp(a, "--json-commit") || !strcmp(a, "--profile-commit")) {
            if (i + 2 >= argc)
                return die(2, "%s needs a temporary file and a path", a);
            int k = !strcmp(a, "--profile-commit");
            commit_tmp[k] = argv[++i];
            commit_path[k] = argv[++i];
        } else if (!strcmp(a, "--status-fd")) {
            if (i + 1 >= argc || (status_fd = fd_arg(argv[++i])) < 0)
                return die(2, "%s needs a descriptor number", a);
        } else if (!strcmp(a, "--no-text")) {
            o.text_fd = -1;
        } else if (!strcmp(a, "--serve")) {
            serve_mode = 1;
        } else if (!strcmp(a, "--no-cache")) {
            cache = 0;
        } else if (!strcmp(a, "--debuginfod")) {
            debuginfod = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return die(2, "unknown option '%s' (see drip symbolize --help)", a);
        } else {
            in = a;
        }
    }
    if (serve_mode)
        return serve(debuginfod, cache);
    int fd = strcmp(in, "-") ? open(in, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0)
        return die(2, "cannot read %s: %s", in, strerror(errno));
    size_t len = 0;
    char *text = read_all(fd, &len);
    if (fd)
        close(fd);
    if (!text)
        return die(2, "out of memory reading %s", in);
    struct drip_raw raw;
    char err[256];
    if (drip__raw_parse(&raw, text, len, err, sizeof err) != 0) {
        free(text);
        drip__raw_free(&raw);
        return die(2, "%s: %s", strcmp(in, "-") ? in : "stdin", err);
    }
    free(text);
    if (json && (o.json_fd = open_file(json)) < 0)
        return 2;
    if (profile && (o.profile_fd = open_file(profile)) < 0)
        return 2;
    struct drip_symbolizer *s = drip_symbolizer_new(&raw, debuginfod || raw.opt.debuginfod, cache);
    if (!s)
        return die(2, "out of memory");
    struct drip_symbols sym = drip_symbolizer_symbols(s);
    int leaked = 0;
    int rc = drip__render(&raw, &sym, &o, &leaked);
    if (rc && status_fd < 0)   /* with a status pipe, libdrip.so says it, naming the file */
        fprintf(stderr, "drip: cannot write the report: %s\n", strerror(-rc));
    drip_symbolizer_free(s);
    drip__raw_free(&raw);
    if (commit_tmp[0])
        commit(o.json_fd, commit_tmp[0], commit_path[0]);
    if (commit_tmp[1])
        commit(o.profile_fd, commit_tmp[1], commit_path[1]);
    if (json)
        close(o.json_fd);
    if (profile)
        close(o.profile_fd);
    if (status_fd >= 0) {   /* libdrip.so waits for this: the work is done */
        /* "0"/"1", then "e<errno>" when an output could not be written (a full disk): the request
         * was answered, the text written once; the caller discards the cut JSON and says why. One
         * write of a few bytes: the reader gets it whole. */
        char st[24];
        int n = rc ? snprintf(st, sizeof st, "%ce%d", leaked ? '1' : '0', -rc) : snprintf(st, sizeof st, "%c", leaked ? '1' : '0');
        if (write(status_fd, st, (size_t)n) != n && !rc)
            rc = -errno;
    }
    return rc ? 3 : leaked;
}
