/* server.c — the "drip-http" thread: drip's loopback HTTP server, its connection loop and the
 * routing of a request to an endpoint (endpoints.c holds the endpoints and their table).
 *
 * Clients are served from a poll loop with non-blocking sockets: each response is built into a
 * memfd and sent as the client can take it; a client that has not sent its whole request within
 * 5 s of connecting (slowloris), or not read its response within 30 s, is dropped, and at most 64
 * are served at once: when all 64 slots are taken, a new connection replaces the oldest one that
 * has not sent its request yet, so idle connections cannot lock out a scraper. A delta profile
 * (?seconds=N, at most 16 at once) parks its connection until it is due instead of sleeping; a
 * live leak check parks its connection until the ticker thread ("drip", background.c) has run it.
 * So nothing a client does delays /metrics.
 * Sockets (TCP, unix, the /metrics-only address) and the token file are opened in listen.c;
 * with http_token, a request without the token gets 401 before anything else is looked at.
 * The thread runs at nice 19 by default (drip__opt.nice) with every signal blocked and the
 * reentrancy guard held (background.c).
 * Locks: none; every connection belongs to this thread.
 */
#include "internal.h"
#include "background.h"
#include "listen.h"
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CLIENTS = DRIP_HTTP_MAX_CLIENTS, READ_TIMEOUT_MS = 5000, WRITE_TIMEOUT_MS = DRIP_HTTP_WRITE_TIMEOUT_MS };

static struct drip__client clients[MAX_CLIENTS];
static int listen_fd = -1, metrics_fd = -1;
static char token[4096];   /* http_token's content, set before the server starts; read-only after */
static size_t token_len;

long long drip__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- responses --------------------------------------------------------------------------- */
void drip__respond(struct drip__client *c, int status, const char *ctype, const char *extra, int body_fd,
                   off_t body_len)
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
    c->deadline = drip__mono_ms() + WRITE_TIMEOUT_MS;
}

void drip__respond_text(struct drip__client *c, int status, const char *extra, const char *fmt, ...)
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
    drip__respond(c, status, "text/plain; charset=utf-8", hdr, body, body >= 0 ? lseek(body, 0, SEEK_END) : 0);
}

void drip__respond_fd(struct drip__client *c, const char *ctype, const char *extra, int body)
{
    drip__respond(c, 200, ctype, extra, body, lseek(body, 0, SEEK_END));
}

int drip__http_parked_deltas(void)
{
    int parked = 0;
    for (int i = 0; i < MAX_CLIENTS; i++)
        parked += clients[i].fd >= 0 && clients[i].due;
    return parked;
}

/* ---- routing -------------------------------------------------------------------------------- */
/* What is asked of every request before its path is looked at: the token, then the address's
 * scope. 0 after answering 401 or 404. */
static int admit(struct drip__client *c, struct drip_http_req *r)
{
    if (token_len && !drip_http_bearer_ok(c->req, r, token, token_len)) {
        /* RFC 6750: a request with no credentials gets the bare challenge */
        drip__respond_text(c, 401, r->has_auth ? "WWW-Authenticate: Bearer realm=\"drip\", error=\"invalid_token\"\r\n"
                                               : "WWW-Authenticate: Bearer realm=\"drip\"\r\n",
                           "unauthorized: send the token of http_token as Authorization: Bearer TOKEN\n");
        return 0;
    }
    if (c->metrics_only && strcmp(r->path, "/metrics")) {
        drip__respond_text(c, 404, NULL, "404 page not found: %s (this address serves /metrics only)\n", r->path);
        return 0;
    }
    return 1;
}

/* The token and the address's scope, then the path (404), then the method (405), then the
 * endpoint's handler. */
static void route(struct drip__client *c, struct drip_http_req *r)
{
    if (!admit(c, r))
        return;
    const struct drip__endpoint *e = NULL;
    for (size_t i = 0; i < drip__nendpoints && !e; i++)
        if (!strcmp(r->path, drip__endpoints[i].path))
            e = &drip__endpoints[i];
    if (!e) {
        drip__respond_text(c, 404, NULL, "404 page not found: %s\n", r->path);
        return;
    }
    unsigned m = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") ? DRIP_HTTP_GET
               : !strcmp(r->method, "POST")                             ? DRIP_HTTP_POST
                                                                        : 0;
    if (!(m & e->methods)) {
        drip__respond_text(c, 405, e->methods & DRIP_HTTP_POST ? "Allow: GET, POST\r\n" : "Allow: GET\r\n",
                           "method not allowed\n");
        return;
    }
    e->serve(c, r);
}

/* ---- the loop ------------------------------------------------------------------------------- */
static void drop(struct drip__client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->out_fd >= 0)
        close(c->out_fd);
    free(c->p0);
    memset(c, 0, sizeof *c);
    c->fd = c->out_fd = -1;
}

static void on_writable(struct drip__client *c);

static void on_readable(struct drip__client *c)
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
        drip__respond_text(c, 400, NULL, "malformed request\n");
        return;
    }
    if (rc == -2) {
        drip__respond_text(c, 431, NULL, "request head too large\n");
        return;
    }
    if (r.head_len + r.content_length > sizeof c->req - 1) {
        drip__respond_text(c, 413, NULL, "request body too large\n");
        return;
    }
    if (c->len < r.head_len + r.content_length)
        return;   /* the body is still coming */
    route(c, &r);
    if (c->responding)
        on_writable(c);   /* the socket's buffer is almost always free: no need to wait for poll */
}

static void on_writable(struct drip__client *c)
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

/* A slot for a new connection: a free one, else the one held longest by a client that has not
 * sent its request yet (an idle or slowloris connection; one being answered, or parked for a
 * delta profile or a leak check, is never taken). NULL when every slot is busy answering. */
static struct drip__client *free_slot(void)
{
    struct drip__client *oldest = NULL;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct drip__client *c = &clients[i];
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
    struct drip__client *slot = free_slot();
    if (!slot) {
        close(fd);   /* every slot is sending an answer: the client retries */
        return;
    }
    memset(slot, 0, sizeof *slot);
    slot->fd = fd;
    slot->out_fd = -1;
    slot->metrics_only = metrics_only;
    slot->since = drip__mono_ms();
    slot->deadline = slot->since + READ_TIMEOUT_MS;
    on_readable(slot);   /* the request usually came with the connection */
}

void *drip__http_main(void *arg)
{
    (void)arg;
    drip__quiet_thread("drip-http");
    /* Lower this thread's priority only (Linux: a thread id is a PRIO_PROCESS target). Nothing
     * here holds a lock the program's allocating threads spin on for long (growth_fill reads the
     * site counters, not the table; leak checks run on "drip"). */
    if (drip__opt.nice > 0)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), drip__opt.nice > 19 ? 19 : (int)drip__opt.nice);
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = clients[i].out_fd = -1;
    const int done_fd = drip__leak_job_fd();
    for (;;) {
        struct pollfd pf[MAX_CLIENTS + 3];
        int map[MAX_CLIENTS + 3], n = 0;   /* a client's index, or LISTEN / METRICS / DONE */
        enum { LISTEN = -1, METRICS = -2, DONE = -3 };
        long long now = drip__mono_ms(), wake = now + 1000;
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
            struct drip__client *c = &clients[i];
            if (c->fd < 0)
                continue;
            if (c->due && now >= c->due)
                drip__http_finish_delta(c);
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
                drip__http_leaks_done();
                continue;
            }
            if (map[k] < 0) {
                accept_one(map[k] == METRICS ? metrics_fd : listen_fd, map[k] == METRICS);
                continue;
            }
            struct drip__client *c = &clients[map[k]];
            if (c->responding)
                on_writable(c);
            else
                on_readable(c);
        }
    }
    return NULL;
}

int drip__http_open(void)
{
    bool serve = true;
    if (drip__opt.http_token[0]) {
        long n = drip__token_read(drip__opt.http_token, token, sizeof token);
        serve = n > 0;   /* a token was asked for and cannot be had: serve nothing rather than all */
        token_len = n > 0 ? (size_t)n : 0;
    }
    if (serve && drip__opt.http[0])
        listen_fd = drip__listen_open("http", drip__opt.http, 0, token_len > 0);
    if (serve && drip__opt.http_metrics[0])
        metrics_fd = drip__listen_open("http_metrics", drip__opt.http_metrics, 1, token_len > 0);
    return listen_fd >= 0 ? 2 : metrics_fd >= 0 ? 1 : 0;
}

void drip__http_child(void)
{
    if (listen_fd >= 0)
        close(listen_fd);
    if (metrics_fd >= 0)
        close(metrics_fd);
    listen_fd = metrics_fd = -1;
}
