/* endpoints.c — what drip's HTTP server answers, one handler per path, and the table that routes
 * to them (server.c checks the token, the path and the method first). Endpoints follow Go's
 * net/http/pprof where Go has one (status codes, content types, errors).
 * To add an endpoint: write `static void serve_x(struct drip__client *c, const struct
 * drip_http_req *r)` that answers with drip__respond* (or parks the connection), add a row to
 * `drip__endpoints` below and a line to index_html.
 * Runs on the "drip-http" thread. Locks: none of its own; the leak_* state is this thread's.
 */
#include "internal.h"
#include "background.h"
#include "export.h"
#include "metrics.h"
#include "profile.h"
#include "report.h"
#include "retain.h"
#include "server.h"
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { MAX_DELTAS = 16 };

/* A memfd for a response body, or -1 after answering 500 (whose own body will be empty). */
static int new_body(struct drip__client *c)
{
    int fd = memfd_create("drip-body", MFD_CLOEXEC);
    if (fd < 0)
        drip__respond_text(c, 500, NULL, "out of memory\n");
    return fd;
}

/* ---- /debug/pprof/symbol -------------------------------------------------------------------- */
static void symbol_lookup(struct drip__client *c, const char *body, size_t len)
{
    int out = new_body(c);
    if (out < 0)
        return;
    uintptr_t *addrs = malloc((len / 2 + 1) * sizeof *addrs);
    size_t n = 0;
    for (size_t i = 0; i < len && addrs;) {
        while (i < len && (body[i] == '+' || body[i] == ' ' || body[i] == '\n' || body[i] == '\r'))
            i++;
        size_t j = i;
        while (j < len && body[j] != '+' && body[j] != '\n')
            j++;
        char tok[32];
        if (j > i && j - i < sizeof tok) {
            memcpy(tok, body + i, j - i);
            tok[j - i] = 0;
            char *endp;
            unsigned long long a = strtoull(tok, &endp, 0);
            if (*endp == 0 && a)
                addrs[n++] = (uintptr_t)a + 1;   /* pprof sends call addresses */
        }
        i = j;
    }
    struct drip__names names;
    if (n && drip__names(addrs, n, &names) == 0) {
        for (size_t i = 0; i < n; i++)
            if (names.f[i].function)
                dprintf(out, "%#llx %s\n", (unsigned long long)addrs[i] - 1, names.f[i].function);
        drip__names_free(&names);
    }
    free(addrs);
    drip__respond_fd(c, "text/plain; charset=utf-8", NULL, out);
}

static void serve_symbol(struct drip__client *c, const struct drip_http_req *r)
{
    if (!strcmp(r->method, "POST"))
        symbol_lookup(c, c->req + r->head_len, r->content_length);
    else
        drip__respond_text(c, 200, NULL, "num_symbols: 1\n");
}

/* ---- /debug/pprof/heap, /debug/pprof/allocs --------------------------------------------------- */
static int profile_to_memfd(int allocs, int text)
{
    int out = memfd_create("drip-profile", MFD_CLOEXEC);
    if (out >= 0 && drip__profile_write(out, allocs, text) != 0) {
        close(out);
        out = -1;
    }
    return out;
}

static void serve_profile(struct drip__client *c, const struct drip_http_req *r, int allocs)
{
    char debug[16] = "", seconds[32] = "";
    int has_debug = drip_http_query(r->query, "debug", debug, sizeof debug);
    int has_seconds = drip_http_query(r->query, "seconds", seconds, sizeof seconds);
    if (has_seconds && has_debug && atoi(debug) > 0) {
        drip__respond_text(c, 400, NULL, "seconds and debug params are incompatible\n");
        return;
    }
    if (has_seconds) {
        char *end;
        long v = strtol(seconds, &end, 10);
        if (!seconds[0] || *end || v <= 0 || v > 3600) {
            drip__respond_text(c, 400, NULL, "invalid value for \"seconds\" - must be a positive integer\n");
            return;
        }
        int parked = drip__http_parked_deltas();
        if (parked >= MAX_DELTAS) {
            drip__respond_text(c, 429, "Retry-After: 10\r\n",
                               "%d delta profiles are in progress, the most drip serves at once\n", parked);
            return;
        }
        c->p0 = drip__profile_snapshot(&c->p0n);
        c->delta_ms = v * 1000;
        c->due = drip__mono_ms() + c->delta_ms;
        c->deadline = c->due + DRIP_HTTP_WRITE_TIMEOUT_MS;
        c->allocs = allocs;
        return;   /* parked: answered when due */
    }
    int text = has_debug && atoi(debug) > 0;
    int body = profile_to_memfd(allocs, text);
    if (body < 0) {
        drip__respond_text(c, 500, NULL, "could not write the profile\n");
        return;
    }
    if (text)
        drip__respond_fd(c, "text/plain; charset=utf-8", NULL, body);
    else
        drip__respond_fd(c, "application/octet-stream",
                         allocs ? "Content-Disposition: attachment; filename=\"allocs\"\r\n"
                                : "Content-Disposition: attachment; filename=\"heap\"\r\n", body);
}

static void serve_heap(struct drip__client *c, const struct drip_http_req *r) { serve_profile(c, r, 0); }
static void serve_allocs(struct drip__client *c, const struct drip_http_req *r) { serve_profile(c, r, 1); }

void drip__http_finish_delta(struct drip__client *c)
{
    int out = memfd_create("drip-profile", MFD_CLOEXEC);
    int rc = out < 0 ? -ENOMEM : drip__profile_write_delta(out, c->allocs, c->p0, c->p0n, c->delta_ms);
    free(c->p0);
    c->p0 = NULL;
    c->due = 0;
    if (rc != 0) {
        if (out >= 0)
            close(out);
        drip__respond_text(c, 500, NULL, "could not write the profile\n");
        return;
    }
    drip__respond_fd(c, "application/octet-stream", "Content-Disposition: attachment; filename=\"heap-delta\"\r\n", out);
}

/* ---- / and /debug/pprof/ ---------------------------------------------------------------------- */
static const char index_html[] =
    "<!DOCTYPE html><html><head><title>drip</title></head><body>\n"
    "<h1>drip: live heap of this process</h1>\n<ul>\n"
    "<li><a href=\"/debug/pprof/heap\">/debug/pprof/heap</a> live heap profile (pprof; "
    "<a href=\"/debug/pprof/heap?debug=1\">text</a>); <code>go tool pprof http://HOST/debug/pprof/heap</code></li>\n"
    "<li><a href=\"/debug/pprof/allocs\">/debug/pprof/allocs</a> every allocation since start (pprof)</li>\n"
    "<li><a href=\"/metrics\">/metrics</a> Prometheus metrics</li>\n"
    "<li><a href=\"/debug/drip/leaks\">/debug/drip/leaks</a> a leak check of the live process (JSON; pauses the threads for the scan)</li>\n"
    "<li><a href=\"/debug/drip/stats\">/debug/drip/stats</a> MemStats as JSON</li>\n"
    "<li><a href=\"/debug/drip/suspects\">/debug/drip/suspects</a> allocation sites whose live bytes keep growing (JSON; "
    "<a href=\"/debug/drip/suspects?paths=1\">?paths=1</a>: with who holds them, a leak check)</li>\n"
    "<li><a href=\"/debug/drip/retainers\">/debug/drip/retainers</a> the roots that hold the most memory, by retained size (JSON; pauses the threads)</li>\n"
    "<li><a href=\"/debug/pprof/retained\">/debug/pprof/retained</a> who holds the heap: stacks are retention paths, root at the bottom (pprof; pauses the threads)</li>\n"
    "<li><a href=\"/debug/pprof/cmdline\">/debug/pprof/cmdline</a>, /debug/pprof/symbol</li>\n"
    "</ul></body></html>\n";

static void serve_index(struct drip__client *c, const struct drip_http_req *r)
{
    int body = new_body(c);
    if (body >= 0 && write(body, index_html, sizeof index_html - 1) == (ssize_t)sizeof index_html - 1)
        drip__respond_fd(c, "text/html; charset=utf-8", NULL, body);
    else if (body >= 0) {
        close(body);
        drip__respond_text(c, 500, NULL, "out of memory\n");
    }
}

/* ---- /metrics, /debug/drip/stats, /debug/drip/suspects: a body from one writer --------------- */
static void serve_metrics(struct drip__client *c, const struct drip_http_req *r)
{
    int body = new_body(c);
    if (body >= 0) {
        drip__write_metrics(body);
        drip__respond_fd(c, "text/plain; version=0.0.4; charset=utf-8", NULL, body);
    }
}

static void serve_stats(struct drip__client *c, const struct drip_http_req *r)
{
    int body = new_body(c);
    if (body >= 0) {
        drip__write_stats_json(body);
        drip__respond_fd(c, "application/json", NULL, body);
    }
}

static void leak_check(struct drip__client *c, const char *want);

static void serve_suspects(struct drip__client *c, const struct drip_http_req *r)
{
    char v[8];
    if (drip_http_query(r->query, "paths", v, sizeof v) && strcmp(v, "0") && !drip__opt.sample) {
        leak_check(c, "suspects");   /* ?paths=1: who holds each suspect, from a leak check */
        return;
    }
    int body = new_body(c);
    if (body >= 0) {
        drip__suspects_json(body);
        drip__respond_fd(c, "application/json", NULL, body);
    }
}

/* ---- /debug/pprof/cmdline --------------------------------------------------------------------- */
static void serve_cmdline(struct drip__client *c, const struct drip_http_req *r)
{
    int body = new_body(c);
    int src = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    char buf[4096];
    ssize_t n;
    while (body >= 0 && src >= 0 && (n = read(src, buf, sizeof buf)) > 0)
        if (write(body, buf, (size_t)n) != n)
            break;
    if (src >= 0)
        close(src);
    if (body >= 0)
        drip__respond_fd(c, "text/plain; charset=utf-8", NULL, body);
}

/* ---- /debug/drip/leaks -------------------------------------------------------------------------
 * A live leak check pauses the program: one at a time, and at most one per http_leaks_interval.
 * It runs on the ticker thread (background.c), its connection parked meanwhile. */
static struct drip__client *leak_waiter;   /* the client whose check "drip" is running, or NULL */
static long long leak_last_end = -1;       /* when the last check ended (drip__mono_ms), -1: none yet */

/* 0 after answering 429. */
static int leaks_admit(struct drip__client *c)
{
    long long gap = (long long)drip__opt.http_leaks_interval, now = drip__mono_ms();
    if (leak_waiter) {
        drip__respond_text(c, 429, "Retry-After: 1\r\n", "a leak check is already running\n");
        return 0;
    }
    if (leak_last_end >= 0 && now - leak_last_end < gap) {
        long long wait_ms = gap - (now - leak_last_end);
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Retry-After: %lld\r\n", (wait_ms + 999) / 1000);
        drip__respond_text(c, 429, hdr,
                           "the last leak check ended %lld ms ago; http_leaks_interval allows one every %lld ms\n",
                           now - leak_last_end, gap);
        return 0;
    }
    return 1;
}

static const char *want_type(const char *want)
{
    return want && !strcmp(want, "retained") ? "application/octet-stream" : "application/json";
}

/* A leak check that writes want (NULL: the leak report; else see drip__leak_report_ex). */
static void leak_check(struct drip__client *c, const char *want)
{
    if (drip__opt.sample) {
        drip__respond_text(c, 503, NULL, "leak classification is unavailable in sampling mode (sample=%llu)\n",
                           (unsigned long long)drip__opt.sample);
        return;
    }
    if (!leaks_admit(c))
        return;
    int fd = new_body(c);
    if (fd < 0)
        return;
    if (!drip__leak_job_post_want(fd, want)) {   /* no ticker: the check runs here */
        if (want)
            drip__leak_report_ex(-1, fd, 0, true, want);
        else
            drip__leak_report(-1, fd, 0);
        leak_last_end = drip__mono_ms();
        drip__respond_fd(c, want_type(want), NULL, fd);
        return;
    }
    c->leak_want = want;
    c->leak_wait = true;   /* parked until "drip" has run it */
    c->out_fd = fd;
    c->deadline = 0;   /* however long the scan takes */
    leak_waiter = c;
}

void drip__http_leaks_done(void)
{
    if (!drip__leak_job_done())
        return;
    struct drip__client *c = leak_waiter;
    if (!c)
        return;
    leak_waiter = NULL;
    leak_last_end = drip__mono_ms();
    int fd = c->out_fd;
    c->out_fd = -1;
    c->leak_wait = false;
    drip__respond_fd(c, want_type(c->leak_want), NULL, fd);
}

static void serve_leaks(struct drip__client *c, const struct drip_http_req *r) { (void)r; leak_check(c, NULL); }

/* Who holds the memory (retain.h): the same check as /debug/drip/leaks, with retained sizes. */
static void serve_retainers(struct drip__client *c, const struct drip_http_req *r) { (void)r; leak_check(c, "retainers"); }
static void serve_retained(struct drip__client *c, const struct drip_http_req *r) { (void)r; leak_check(c, "retained"); }

/* ---- the table: path, methods, handler --------------------------------------------------------- */
const struct drip__endpoint drip__endpoints[] = {
    {"/", DRIP_HTTP_GET, serve_index},
    {"/debug/pprof/", DRIP_HTTP_GET, serve_index},
    {"/debug/pprof/heap", DRIP_HTTP_GET, serve_heap},
    {"/debug/pprof/allocs", DRIP_HTTP_GET, serve_allocs},
    {"/debug/pprof/symbol", DRIP_HTTP_GET | DRIP_HTTP_POST, serve_symbol},
    {"/debug/pprof/cmdline", DRIP_HTTP_GET, serve_cmdline},
    {"/metrics", DRIP_HTTP_GET, serve_metrics},
    {"/debug/drip/leaks", DRIP_HTTP_GET, serve_leaks},
    {"/debug/drip/stats", DRIP_HTTP_GET, serve_stats},
    {"/debug/drip/suspects", DRIP_HTTP_GET, serve_suspects},
    {"/debug/drip/retainers", DRIP_HTTP_GET, serve_retainers},
    {"/debug/pprof/retained", DRIP_HTTP_GET, serve_retained},
};
const size_t drip__nendpoints = sizeof drip__endpoints / sizeof drip__endpoints[0];
