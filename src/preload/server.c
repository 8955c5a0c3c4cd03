/* server.c — drip's own thread: the loopback HTTP endpoint and the periodic monitor.
 *
 * One thread, started just before main (never in a hook or a constructor), with every signal
 * blocked and the reentrancy guard held for its whole life, so nothing it does is tracked.
 * Clients are served from a poll loop with non-blocking sockets: each response is built into a
 * memfd and sent as the client can take it; a client that has not sent its whole request within
 * 5 s of connecting (slowloris), or not read its response within 30 s, is dropped, and at most 64
 * are served at once: when all 64 slots are taken, a new connection replaces the oldest one that
 * has not sent its request yet, so idle connections cannot lock out a scraper. A delta profile
 * (?seconds=N, at most 16 at once) parks its connection until it is due instead of sleeping; a
 * live leak check parks its connection until drip's other thread has run it (one at a time, at
 * most one per http_leaks_interval: 429 otherwise). So nothing a client does delays /metrics.
 * Sockets (TCP, unix, the /metrics-only address) and the token file are opened in listen.c;
 * with http_token, a request without the token gets 401 before anything else is looked at.
 * Endpoints follow Go's net/http/pprof where Go has one (status codes, content types, errors).
 */
#include "http.h"
#include "internal.h"
#include "background.h"
#include "export.h"
#include "growth.h"
#include "metrics.h"
#include "profile.h"
#include "report.h"
#include "listen.h"
#include "scan.h"
#include "retain.h"
#include "drip/drip.h"
#include "pprof_write.h"
#include "symbolize.h"
#include "writer.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CLIENTS = 64, MAX_DELTAS = 16, REQ_MAX = 16384, READ_TIMEOUT_MS = 5000, WRITE_TIMEOUT_MS = 30000 };

struct client {
    int fd;
    char req[REQ_MAX];
    size_t len;
    long long since;      /* when it connected: the oldest silent one makes room when full */
    long long deadline;
    bool metrics_only;    /* accepted on http_metrics: /metrics alone */
    bool leak_wait;       /* parked until the leak check running for it is done */
    const char *leak_want;   /* what the check writes: NULL the leak report, "retainers", "retained" */
    int out_fd;           /* memfd holding the response body, or -1 */
    bool responding;      /* the response is built: wait for POLLOUT, not POLLIN */
    char hdr[1024];       /* the response's status line and headers */
    size_t hdr_len;
    off_t out_off, out_len;   /* bytes sent / to send, headers included */
    /* a parked delta profile */
    long long due;
    struct drip_pprof_sample *p0;
    size_t p0n;
    int allocs;
    long long delta_ms;
};

static struct client clients[MAX_CLIENTS];
static void leak_check(struct client *c, int fd, const char *want);   /* on drip's ticking thread, see below */
static int listen_fd = -1, metrics_fd = -1;
static char token[4096];   /* http_token's content, set before the server starts; read-only after */
static size_t token_len;
static long long start_ms;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- responses --------------------------------------------------------------------------- */
/* Takes ownership of body_fd (a memfd, or -1): the headers go out from c->hdr, then the body
 * straight from the memfd with sendfile, as the client can take it. */
static void respond(struct client *c, int status, const char *ctype, const char *extra, int body_fd, off_t body_len)
{
    static const struct { int code; const char *text; } reasons[] = {
        {200, "OK"}, {400, "Bad Request"}, {401, "Unauthorized"}, {404, "Not Found"}, {405, "Method Not Allowed"},
        {413, "Payload Too Large"}, {429, "Too Many Requests"}, {431, "Request Header Fields Too Large"}, {500, "Internal Server Error"}, {503, "Service Unavailable"}};
    const char *reason = "Error";
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == status)
            reason = reasons[i].text;
    int n = snprintf(c->hdr, sizeof c->hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\nConnection: close\r\n"
                     "X-Content-Type-Options: nosniff\r\n%s\r\n",
                     status, reason, ctype, (long long)body_len, extra ? extra : "");
    c->hdr_len = n > 0 && (size_t)n < sizeof c->hdr ? (size_t)n : 0;
    if (body_fd >= 0 && body_len <= 0) {
        close(body_fd);
        body_fd = -1;
    }
    c->out_fd = body_fd;
    c->responding = true;
    c->out_off = 0;
    c->out_len = (off_t)c->hdr_len + (body_fd >= 0 ? body_len : 0);
    c->deadline = now_ms() + WRITE_TIMEOUT_MS;
}

static void respond_text(struct client *c, int status, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void respond_text(struct client *c, int status, const char *extra, const char *fmt, ...)
{
    int body = memfd_create("drip-body", MFD_CLOEXEC);
    va_list ap;
    va_start(ap, fmt);
    if (body >= 0)
        vdprintf(body, fmt, ap);
    va_end(ap);
    char hdr[256];
    /* Go's pprof handler marks its errors so that `go tool pprof` prints the body */
    snprintf(hdr, sizeof hdr, "%s%s", status != 200 ? "X-Go-Pprof: 1\r\n" : "", extra ? extra : "");
    respond(c, status, "text/plain; charset=utf-8", hdr, body, body >= 0 ? lseek(body, 0, SEEK_END) : 0);
}

static void respond_fd(struct client *c, const char *ctype, const char *extra, int body)
{
    respond(c, 200, ctype, extra, body, lseek(body, 0, SEEK_END));
}

/* ---- endpoints ------------------------------------------------------------------------------- */
/* A memfd for a response body, or -1 after answering 500 (whose own body will be empty). */
static int new_body(struct client *c)
{
    int fd = memfd_create("drip-body", MFD_CLOEXEC);
    if (fd < 0)
        respond_text(c, 500, NULL, "out of memory\n");
    return fd;
}

static void symbol_lookup(struct client *c, const char *body, size_t len)
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
    respond_fd(c, "text/plain; charset=utf-8", NULL, out);
}

static int profile_to_memfd(int allocs, int text)
{
    int out = memfd_create("drip-profile", MFD_CLOEXEC);
    if (out >= 0 && drip__profile_write(out, allocs, text) != 0) {
        close(out);
        out = -1;
    }
    return out;
}

static void serve_profile(struct client *c, struct drip_http_req *r, int allocs)
{
    char debug[16] = "", seconds[32] = "";
    int has_debug = drip_http_query(r->query, "debug", debug, sizeof debug);
    int has_seconds = drip_http_query(r->query, "seconds", seconds, sizeof seconds);
    if (has_seconds && has_debug && atoi(debug) > 0) {
        respond_text(c, 400, NULL, "seconds and debug params are incompatible\n");
        return;
    }
    if (has_seconds) {
        char *end;
        long v = strtol(seconds, &end, 10);
        if (!seconds[0] || *end || v <= 0 || v > 3600) {
            respond_text(c, 400, NULL, "invalid value for \"seconds\" - must be a positive integer\n");
            return;
        }
        int parked = 0;
        for (int i = 0; i < MAX_CLIENTS; i++)
            parked += clients[i].fd >= 0 && clients[i].due;
        if (parked >= MAX_DELTAS) {
            respond_text(c, 429, "Retry-After: 10\r\n", "%d delta profiles are in progress, the most drip serves at once\n",
                         parked);
            return;
        }
        c->p0 = drip__profile_snapshot(&c->p0n);
        c->delta_ms = v * 1000;
        c->due = now_ms() + c->delta_ms;
        c->deadline = c->due + WRITE_TIMEOUT_MS;
        c->allocs = allocs;
        return;   /* parked: answered when due */
    }
    int text = has_debug && atoi(debug) > 0;
    int body = profile_to_memfd(allocs, text);
    if (body < 0) {
        respond_text(c, 500, NULL, "could not write the profile\n");
        return;
    }
    if (text)
        respond_fd(c, "text/plain; charset=utf-8", NULL, body);
    else
        respond_fd(c, "application/octet-stream",
                   allocs ? "Content-Disposition: attachment; filename=\"allocs\"\r\n"
                          : "Content-Disposition: attachment; filename=\"heap\"\r\n", body);
}

static void finish_delta(struct client *c)
{
    int out = memfd_create("drip-profile", MFD_CLOEXEC);
    int rc = out < 0 ? -ENOMEM : drip__profile_write_delta(out, c->allocs, c->p0, c->p0n, c->delta_ms);
    free(c->p0);
    c->p0 = NULL;
    c->due = 0;
    if (rc != 0) {
        if (out >= 0)
            close(out);
        respond_text(c, 500, NULL, "could not write the profile\n");
        return;
    }
    respond_fd(c, "application/octet-stream", "Content-Disposition: attachment; filename=\"heap-delta\"\r\n", out);
}

static const char index_html[] =
    "<!DOCTYPE html><html><head><title>drip</title></head><body>\n"
    "<h1>drip: live heap of this process</h1>\n<ul>\n"
    "<li><a href=\"/debug/pprof/heap\">/debug/pprof/heap</a> live heap profile (pprof; "
    "<a href=\"/debug/pprof/heap?debug=1\">text</a>); <code>go tool pprof http://HOST/debug/pprof/heap</code></li>\n"
    "<li><a href=\"/debug/pprof/allocs\">/debug/pprof/allocs</a> every allocation since start (pprof)</li>\n"
    "<li><a href=\"/metrics\">/metrics</a> Prometheus metrics</li>\n"
    "<li><a href=\"/debug/drip/leaks\">/debug/drip/leaks</a> a leak check of the live process (JSON; pauses the threads for the scan)</li>\n"
    "<li><a href=\"/debug/drip/stats\">/debug/drip/stats</a> MemStats as JSON</li>\n"
    "<li><a href=\"/debug/drip/suspects\">/debug/drip/suspects</a> allocation sites whose live bytes keep growing (JSON)</li>\n"
    "<li><a href=\"/debug/drip/retainers\">/debug/drip/retainers</a> the roots that hold the most memory, by retained size (JSON; pauses the threads)</li>\n"
    "<li><a href=\"/debug/pprof/retained\">/debug/pprof/retained</a> who holds the heap: stacks are retention paths, root at the bottom (pprof; pauses the threads)</li>\n"
    "<li><a href=\"/debug/pprof/cmdline\">/debug/pprof/cmdline</a>, /debug/pprof/symbol</li>\n"
    "</ul></body></html>\n";

/* What is asked of every request before its path is looked at: the token, then the address's
 * scope. 0 after answering 401 or 404. */
static int admit(struct client *c, struct drip_http_req *r)
{
    if (token_len && !drip_http_bearer_ok(c->req, r, token, token_len)) {
        /* RFC 6750: a request with no credentials gets the bare challenge */
        respond_text(c, 401, r->has_auth ? "WWW-Authenticate: Bearer realm=\"drip\", error=\"invalid_token\"\r\n"
                                         : "WWW-Authenticate: Bearer realm=\"drip\"\r\n",
                     "unauthorized: send the token of http_token as Authorization: Bearer TOKEN\n");
        return 0;
    }
    if (c->metrics_only && strcmp(r->path, "/metrics")) {
        respond_text(c, 404, NULL, "404 page not found: %s (this address serves /metrics only)\n", r->path);
        return 0;
    }
    return 1;
}

/* A live leak check pauses the program: one at a time, and at most one per http_leaks_interval.
 * 0 after answering 429. The leak_* state belongs to the HTTP thread. */
static struct client *leak_waiter;    /* the client whose check "drip" is running, or NULL */
static long long leak_last_end = -1;  /* when the last check ended (now_ms), -1: none yet */

static int leaks_admit(struct client *c)
{
    long long gap = (long long)drip__opt.http_leaks_interval, now = now_ms();
    if (leak_waiter) {
        respond_text(c, 429, "Retry-After: 1\r\n", "a leak check is already running\n");
        return 0;
    }
    if (leak_last_end >= 0 && now - leak_last_end < gap) {
        long long wait_ms = gap - (now - leak_last_end);
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Retry-After: %lld\r\n", (wait_ms + 999) / 1000);
        respond_text(c, 429, hdr, "the last leak check ended %lld ms ago; http_leaks_interval allows one every %lld ms\n",
                     now - leak_last_end, gap);
        return 0;
    }
    return 1;
}

static void route(struct client *c, struct drip_http_req *r)
{
    if (!admit(c, r))
        return;
    int get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
    int post = !strcmp(r->method, "POST");
    const char *p = r->path;
    if (!strcmp(p, "/debug/pprof/symbol")) {
        if (post)
            symbol_lookup(c, c->req + r->head_len, r->content_length);
        else if (get)
            respond_text(c, 200, NULL, "num_symbols: 1\n");
        else
            respond_text(c, 405, "Allow: GET, POST\r\n", "method not allowed\n");
        return;
    }
    char qv[8];
    static const char *const known[] = {"/", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/allocs", "/metrics",
                                        "/debug/drip/leaks", "/debug/drip/stats", "/debug/drip/suspects",
                                        "/debug/drip/retainers", "/debug/pprof/retained",
                                        "/debug/pprof/cmdline"};
    int found = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        found |= !strcmp(p, known[i]);
    if (!found) {
        respond_text(c, 404, NULL, "404 page not found: %s\n", p);
        return;
    }
    if (!get) {
        respond_text(c, 405, "Allow: GET\r\n", "method not allowed\n");
        return;
    }
    if (!strcmp(p, "/") || !strcmp(p, "/debug/pprof/")) {
        int body = new_body(c);
        if (body >= 0 && write(body, index_html, sizeof index_html - 1) == (ssize_t)sizeof index_html - 1)
            respond_fd(c, "text/html; charset=utf-8", NULL, body);
        else if (body >= 0) {
            close(body);
            respond_text(c, 500, NULL, "out of memory\n");
        }
    } else if (!strcmp(p, "/debug/pprof/heap") || !strcmp(p, "/debug/pprof/allocs")) {
        serve_profile(c, r, !strcmp(p, "/debug/pprof/allocs"));
    } else if (!strcmp(p, "/metrics")) {
        int body = new_body(c);
        if (body >= 0) {
            drip__write_metrics(body);
            respond_fd(c, "text/plain; version=0.0.4; charset=utf-8", NULL, body);
        }
    } else if (!strcmp(p, "/debug/drip/stats")) {
        int body = new_body(c);
        if (body >= 0) {
            drip__write_stats_json(body);
            respond_fd(c, "application/json", NULL, body);
        }
    } else if (!strcmp(p, "/debug/drip/suspects") && drip_http_query(r->query, "paths", qv, sizeof qv) && strcmp(qv, "0") &&
               !drip__opt.sample) {
        /* ?paths=1: who holds each suspect, from a leak check (its pause and rate limit) */
        if (!leaks_admit(c))
            return;
        int body = new_body(c);
        if (body >= 0)
            leak_check(c, body, "suspects");
    } else if (!strcmp(p, "/debug/drip/suspects")) {
        int body = new_body(c);
        if (body >= 0) {
            drip__suspects_json(body);
            respond_fd(c, "application/json", NULL, body);
        }
    } else if (!strcmp(p, "/debug/drip/leaks")) {
        if (drip__opt.sample) {
            respond_text(c, 503, NULL, "leak classification is unavailable in sampling mode (sample=%llu)\n",
                         (unsigned long long)drip__opt.sample);
            return;
        }
        if (!leaks_admit(c))
            return;
        int body = new_body(c);
        if (body >= 0)
            leak_check(c, body, NULL);   /* answered now, or parked until "drip" has run it */
    } else if (!strcmp(p, "/debug/drip/retainers") || !strcmp(p, "/debug/pprof/retained")) {
        /* who holds the memory (retain.h): the same scan as a leak check, with retained sizes */
        if (drip__opt.sample) {
            respond_text(c, 503, NULL, "retention paths are unavailable in sampling mode (sample=%llu)\n",
                         (unsigned long long)drip__opt.sample);
            return;
        }
        if (!leaks_admit(c))
            return;
        int body = new_body(c);
        if (body >= 0)
            leak_check(c, body, !strcmp(p, "/debug/drip/retainers") ? "retainers" : "retained");
    } else if (!strcmp(p, "/debug/pprof/cmdline")) {
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
            respond_fd(c, "text/plain; charset=utf-8", NULL, body);
    }
}

/* ---- the loop ------------------------------------------------------------------------------- */
static void drop(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->out_fd >= 0)
        close(c->out_fd);
    free(c->p0);
    memset(c, 0, sizeof *c);
    c->fd = c->out_fd = -1;
}

static void on_writable(struct client *c);

static void on_readable(struct client *c)
{
    ssize_t n = read(c->fd, c->req + c->len, sizeof c->req - c->len - 1);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        drop(c);
        return;
    }
    c->len += (size_t)n;
    struct drip_http_req r;
    int rc = drip_http_parse(c->req, c->len, &r);
    if (rc == 0)
        return;
    if (rc == -1) {
        respond_text(c, 400, NULL, "malformed request\n");
        return;
    }
    if (rc == -2) {
        respond_text(c, 431, NULL, "request head too large\n");
        return;
    }
    if (r.head_len + r.content_length > sizeof c->req - 1) {
        respond_text(c, 413, NULL, "request body too large\n");
        return;
    }
    if (c->len < r.head_len + r.content_length)
        return;   /* the body is still coming */
    route(c, &r);
    if (c->responding)
        on_writable(c);   /* the socket's buffer is almost always free: no need to wait for poll */
}

static void on_writable(struct client *c)
{
    ssize_t w;
    if ((size_t)c->out_off < c->hdr_len) {
        w = send(c->fd, c->hdr + c->out_off, c->hdr_len - (size_t)c->out_off,
                 MSG_NOSIGNAL | MSG_DONTWAIT | (c->out_len > (off_t)c->hdr_len ? MSG_MORE : 0));
    } else {
        off_t body_off = c->out_off - (off_t)c->hdr_len;
        w = sendfile(c->fd, c->out_fd, &body_off, (size_t)(c->out_len - c->out_off));
        if (w == 0)
            w = -1, errno = EIO;   /* the memfd is shorter than announced */
    }
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR)
            drop(c);
        return;
    }
    c->out_off += w;
    if (c->out_off >= c->out_len) {
        shutdown(c->fd, SHUT_WR);
        drop(c);
    }
}

/* ---- drip's two threads ------------------------------------------------------------------------
 * "drip" (the program's priority) runs the growth detector's and the monitor's ticks and the live
 * leak checks, which pause the program's threads and so must finish fast however busy the machine.
 * "drip-http" (nice 19 by default) serves requests: on a machine whose CPUs the program keeps
 * busy, requests wait rather than take CPU time from it. A leak check asked over HTTP is handed
 * to "drip" and its connection parked; "drip" says it is done through `done_fd` (an eventfd in
 * the HTTP thread's poll set), so the HTTP thread serves others (/metrics) meanwhile.
 * Lock: `job_mu` guards `job_fd` and `job_done`. */
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER;   /* a job was posted, or is done */
static int job_fd = -1;
static bool job_done, have_ticker;
static int done_fd = -1;
/* The ticker's kernel tid (0: no ticker in this process), and whether it is working with job_mu
 * released (job_mu): while it is not, it waits on job_cv or for job_mu, and a thread that holds
 * job_mu knows it cannot run (see drip__ticker_park). */
static _Atomic int ticker_tid;
static bool ticker_busy;

/* A stop of the world with no other task than drip's ticker need not stop it with ptrace: true
 * when tid is the ticker and it is waiting, and then it stays unable to run (it cannot return from
 * its wait without job_mu) until drip__ticker_unpark. Never blocks: false when it is at work. */
bool drip__ticker_park(int tid)
{
    if (!tid || tid != atomic_load(&ticker_tid) || tid == (int)syscall(SYS_gettid))
        return false;
    if (pthread_mutex_trylock(&job_mu) != 0)
        return false;
    if (!ticker_busy)
        return true;
    pthread_mutex_unlock(&job_mu);
    return false;
}

void drip__ticker_unpark(void) { pthread_mutex_unlock(&job_mu); }

static const char *job_want;   /* with job_fd: what the check writes (leak_want) */

static const char *want_type(const char *want)
{
    return want && !strcmp(want, "retained") ? "application/octet-stream" : "application/json";
}

static void run_check(int fd, const char *want)
{
    if (want)
        drip__leak_report_ex(-1, fd, 0, true, want);
    else
        drip__leak_report(-1, fd, 0);
}

static void leak_check(struct client *c, int fd, const char *want)
{
    pthread_mutex_lock(&job_mu);
    if (!have_ticker || done_fd < 0) {
        pthread_mutex_unlock(&job_mu);
        run_check(fd, want);
        leak_last_end = now_ms();
        respond_fd(c, want_type(want), NULL, fd);
        return;
    }
    c->leak_want = want;
    job_want = want;
    job_fd = fd;
    job_done = false;
    pthread_cond_broadcast(&job_cv);
    pthread_mutex_unlock(&job_mu);
    c->leak_wait = true;
    c->out_fd = fd;
    c->deadline = 0;   /* however long the scan takes */
    leak_waiter = c;
}

/* On the HTTP thread, when done_fd fires: answers the parked client with its report. */
static void leak_done(void)
{
    uint64_t n;
    if (read(done_fd, &n, sizeof n) < 0)
        return;
    pthread_mutex_lock(&job_mu);
    bool done = job_done;
    pthread_mutex_unlock(&job_mu);
    struct client *c = leak_waiter;
    if (!done || !c)
        return;
    leak_waiter = NULL;
    leak_last_end = now_ms();
    int fd = c->out_fd;
    c->out_fd = -1;
    c->leak_wait = false;
    respond_fd(c, want_type(c->leak_want), NULL, fd);
}

/* Names itself (before serving anything, so that whoever sees it work sees its name), blocks
 * every signal and holds the reentrancy guard for good. */
static void quiet_thread(const char *name)
{
    pthread_setname_np(pthread_self(), name);
    drip__guard = 1;
    drip__roots_own_thread();
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *ticker(void *arg)
{
    (void)arg;
    quiet_thread("drip");
    long long tick = drip__opt.monitor ? (long long)drip__opt.monitor : (drip__opt.alert ? 1000 : 0);
    long long next_tick = tick ? now_ms() + tick : 0;
    int above = 0;
    pthread_mutex_lock(&job_mu);
    atomic_store(&ticker_tid, (int)syscall(SYS_gettid));   /* from here it runs only when busy */
    for (;;) {
        if (job_fd >= 0) {
            int fd = job_fd;
            const char *want = job_want;
            job_fd = -1;
            ticker_busy = true;
            pthread_mutex_unlock(&job_mu);
            run_check(fd, want);
            pthread_mutex_lock(&job_mu);
            ticker_busy = false;
            job_done = true;
            pthread_cond_broadcast(&job_cv);
            uint64_t one = 1;
            if (write(done_fd, &one, sizeof one) < 0) {
                /* an eventfd write fails only on overflow, which one job at a time cannot reach */
            }
            continue;
        }
        ticker_busy = true;
        pthread_mutex_unlock(&job_mu);
        long long now = now_ms(), wake = now + 1000;
        long long due = drip__growth_tick(now - start_ms);
        if (due >= 0 && due + start_ms < wake)
            wake = due + start_ms;
        if (next_tick) {
            if (now >= next_tick) {
                drip__monitor_tick(&above, (double)(now_ms() - start_ms) / 1000.0);
                next_tick += tick;
                if (next_tick < now)
                    next_tick = now + tick;
            }
            wake = next_tick < wake ? next_tick : wake;
        }
        struct timespec until;   /* job_cv waits on CLOCK_MONOTONIC, as now_ms reads it */
        until.tv_sec = wake / 1000;
        until.tv_nsec = (wake % 1000) * 1000000;
        pthread_mutex_lock(&job_mu);
        ticker_busy = false;
        if (job_fd < 0)
            pthread_cond_timedwait(&job_cv, &job_mu, &until);
    }
    return NULL;
}

/* A slot for a new connection: a free one, else the one held longest by a client that has not
 * sent its request yet (an idle or slowloris connection; one being answered, or parked for a
 * delta profile or a leak check, is never taken). NULL when every slot is busy answering. */
static struct client *free_slot(void)
{
    struct client *oldest = NULL;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (c->fd < 0)
            return c;
        if (!c->responding && !c->due && !c->leak_wait && (!oldest || c->since < oldest->since))
            oldest = c;
    }
    if (oldest)
        drop(oldest);
    return oldest;
}

static void accept_one(int lfd, bool metrics_only)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    struct client *slot = free_slot();
    if (!slot) {
        close(fd);   /* every slot is sending an answer: the client retries */
        return;
    }
    memset(slot, 0, sizeof *slot);
    slot->fd = fd;
    slot->out_fd = -1;
    slot->metrics_only = metrics_only;
    slot->since = now_ms();
    slot->deadline = slot->since + READ_TIMEOUT_MS;
    on_readable(slot);   /* the request usually came with the connection */
}

static void *server(void *arg)
{
    (void)arg;
    quiet_thread("drip-http");
    /* Lower this thread's priority only (Linux: a thread id is a PRIO_PROCESS target). Nothing
     * here holds a lock the program's allocating threads spin on for long (growth_fill copies the
     * table out in chunks; leak checks run on "drip"). */
    if (drip__opt.nice > 0)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), drip__opt.nice > 19 ? 19 : (int)drip__opt.nice);
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = clients[i].out_fd = -1;
    for (;;) {
        struct pollfd pf[MAX_CLIENTS + 3];
        int map[MAX_CLIENTS + 3], n = 0;   /* a client's index, or LISTEN / METRICS / DONE */
        enum { LISTEN = -1, METRICS = -2, DONE = -3 };
        long long now = now_ms(), wake = now + 1000;
        if (listen_fd >= 0) {
            pf[n] = (struct pollfd){listen_fd, POLLIN, 0};
            map[n++] = LISTEN;
        }
        if (metrics_fd >= 0) {
            pf[n] = (struct pollfd){metrics_fd, POLLIN, 0};
            map[n++] = METRICS;
        }
        if (done_fd >= 0) {
            pf[n] = (struct pollfd){done_fd, POLLIN, 0};
            map[n++] = DONE;
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            struct client *c = &clients[i];
            if (c->fd < 0)
                continue;
            if (c->due && now >= c->due)
                finish_delta(c);
            if (c->fd >= 0 && c->deadline && now > c->deadline) {
                drop(c);
                continue;
            }
            if (c->fd < 0)
                continue;
            if (c->due) {
                wake = c->due < wake ? c->due : wake;
                continue;
            }
            if (c->leak_wait)
                continue;
            pf[n] = (struct pollfd){c->fd, c->responding ? POLLOUT : POLLIN, 0};
            map[n++] = i;
        }
        int timeout = (int)(wake > now ? wake - now : 0);
        if (poll(pf, (nfds_t)n, timeout) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (map[k] == DONE) {
                leak_done();
                continue;
            }
            if (map[k] < 0) {
                accept_one(map[k] == METRICS ? metrics_fd : listen_fd, map[k] == METRICS);
                continue;
            }
            struct client *c = &clients[map[k]];
            if (c->responding)
                on_writable(c);
            else
                on_readable(c);
        }
    }
    return NULL;
}

static bool start_thread(void *(*fn)(void *))
{
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    bool ok = pthread_create(&t, &a, fn, NULL) == 0;
    pthread_attr_destroy(&a);
    return ok;
}

void drip__background_start(void)
{
    bool serve = drip__opt.http[0] || drip__opt.http_metrics[0];
    if (!serve && !drip__opt.monitor && !drip__opt.alert && (!drip__opt.growth || drip__opt.sample))
        return;
    drip__guard++;
    start_ms = now_ms();
    if (serve && drip__opt.http_token[0]) {
        long n = drip__token_read(drip__opt.http_token, token, sizeof token);
        serve = n > 0;   /* a token was asked for and cannot be had: serve nothing rather than all */
        token_len = n > 0 ? (size_t)n : 0;
    }
    if (serve && drip__opt.http[0])
        listen_fd = drip__listen_open("http", drip__opt.http, 0, token_len > 0);
    if (serve && drip__opt.http_metrics[0])
        metrics_fd = drip__listen_open("http_metrics", drip__opt.http_metrics, 1, token_len > 0);
    if (listen_fd >= 0)
        done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job_cv, &ca);
    pthread_condattr_destroy(&ca);
    have_ticker = start_thread(ticker);
    if (!have_ticker)
        fprintf(stderr, "drip: cannot start drip's thread: the monitor and growth detector are off\n");
    if ((listen_fd >= 0 || metrics_fd >= 0) && !start_thread(server)) {
        fprintf(stderr, "drip: cannot start drip's HTTP thread: the endpoint is off\n");
        drip__listen_unlink();
    }
    drip__guard--;
}

/* After fork only the forking thread exists: the child has no server (its sockets are the
 * parent's, and so are the unix socket files: listen.c leaves them to the parent). */
void drip__background_child(void)
{
    atomic_store(&ticker_tid, 0);   /* only the forking thread lives on */
    if (listen_fd >= 0)
        close(listen_fd);
    if (metrics_fd >= 0)
        close(metrics_fd);
    if (done_fd >= 0)
        close(done_fd);
    listen_fd = metrics_fd = done_fd = -1;
}

/* At exit (and on a fatal signal): the unix sockets' files go. */
void drip__background_exit(void) { drip__listen_unlink(); }
