/* server.c — drip's own thread: the loopback HTTP endpoint and the periodic monitor.
 *
 * One thread, started just before main (never in a hook or a constructor), with every signal
 * blocked and the reentrancy guard held for its whole life, so nothing it does is tracked.
 * Clients are served from a poll loop with non-blocking sockets: each response is built into a
 * memfd and sent as the client can take it; a client that has not sent its request within 5 s,
 * or not read its response within 30 s, is dropped, and at most 64 are served at once, so a slow
 * or abusive client cannot hold up the program or the other clients. A delta profile
 * (?seconds=N) parks its connection until it is due instead of sleeping.
 * Endpoints follow Go's net/http/pprof where Go has one (status codes, content types, errors).
 */
#include "http.h"
#include "internal.h"
#include "scan.h"
#include "../../include/drip/drip.h"
#include "../common/pprof_write.h"
#include "../common/symbolize.h"
#include "../common/writer.h"

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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CLIENTS = 64, REQ_MAX = 16384, READ_TIMEOUT_MS = 5000, WRITE_TIMEOUT_MS = 30000 };

struct client {
    int fd;
    char req[REQ_MAX];
    size_t len;
    long long deadline;
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
static void leak_check(int fd);   /* on drip's ticking thread, see below */
static int listen_fd = -1;
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
        {200, "OK"}, {400, "Bad Request"}, {404, "Not Found"}, {405, "Method Not Allowed"},
        {413, "Payload Too Large"}, {431, "Request Header Fields Too Large"}, {500, "Internal Server Error"}, {503, "Service Unavailable"}};
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
    struct drip_symbolizer *sym = drip__symbolizer_get();
    for (size_t i = 0; i < len && sym;) {
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
            if (*endp == 0 && a) {
                struct drip_frame f;
                drip_symbolize(sym, (uintptr_t)a + 1, &f);   /* pprof sends call addresses */
                if (f.function)
                    dprintf(out, "%#llx %s\n", a, f.function);
            }
        }
        i = j;
    }
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
    "<li><a href=\"/debug/pprof/cmdline\">/debug/pprof/cmdline</a>, /debug/pprof/symbol</li>\n"
    "</ul></body></html>\n";

static void route(struct client *c, struct drip_http_req *r)
{
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
    static const char *const known[] = {"/", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/allocs", "/metrics",
                                        "/debug/drip/leaks", "/debug/drip/stats", "/debug/drip/suspects",
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
    } else if (!strcmp(p, "/debug/drip/suspects")) {
        int body = new_body(c);
        if (body >= 0) {
            struct drip__suspect sus[20];
            int n = drip__growth_suspects(sus, 20);
            drip__growth_fill(sus, n);
            struct drip_symbolizer *sym = n ? drip__symbolizer_get() : NULL;
            struct drip_writer w;
            drip_writer_fd(&w, body);
            drip__write_suspects_json(&w, sym, sus, n);
            drip_puts(&w, "\n");
            drip_flush(&w);
            respond_fd(c, "application/json", NULL, body);
        }
    } else if (!strcmp(p, "/debug/drip/leaks")) {
        if (drip__opt.sample) {
            respond_text(c, 503, NULL, "leak classification is unavailable in sampling mode (sample=%llu)\n",
                         (unsigned long long)drip__opt.sample);
            return;
        }
        int body = new_body(c);
        if (body >= 0) {
            leak_check(body);
            respond_fd(c, "application/json", NULL, body);
        }
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

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

static int open_listener(const char *spec)
{
    char host[DRIP_OPT_STR_MAX] = "127.0.0.1", port[DRIP_OPT_STR_MAX] = "";
    const char *colon = strrchr(spec, ':');
    if (!colon) {
        snprintf(port, sizeof port, "%s", spec);
    } else {
        size_t hl = (size_t)(colon - spec);
        if (hl && spec[0] == '[' && spec[hl - 1] == ']')
            snprintf(host, sizeof host, "%.*s", (int)(hl - 2), spec + 1);
        else if (hl)
            snprintf(host, sizeof host, "%.*s", (int)hl, spec);
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai) {
        fprintf(stderr, "drip: http=%s: cannot resolve: %s\n", spec, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "drip: http=%s: cannot listen: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    if (!is_loopback(ai->ai_addr))
        fprintf(stderr, "drip: warning: serving heap profiles and leak reports on %s, which is not a loopback "
                        "address: anyone who can reach it can read them\n", spec);
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[64] = "?";
    int p = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, h, sizeof h);
            p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, h + 1, sizeof h - 2);
            h[0] = '[';
            strcat(h, "]");
            p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    fprintf(stderr, "drip: serving http://%s:%d/ for process %d\n", h, p, getpid());
    return fd;
}

/* ---- drip's two threads ------------------------------------------------------------------------
 * "drip" (the program's priority) runs the growth detector's and the monitor's ticks and the live
 * leak checks, which pause the program's threads and so must finish fast however busy the machine.
 * "drip-http" (nice 19 by default) serves requests: on a machine whose CPUs the program keeps
 * busy, requests wait rather than take CPU time from it. A leak check asked over HTTP is handed
 * to "drip" and waited for. Lock: `job_mu` guards `job_fd` and `job_done`. */
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER;   /* a job was posted, or is done */
static int job_fd = -1;
static bool job_done, have_ticker;

static void leak_check(int fd)
{
    pthread_mutex_lock(&job_mu);
    if (!have_ticker) {
        pthread_mutex_unlock(&job_mu);
        drip__leak_report(-1, fd, 0);
        return;
    }
    job_fd = fd;
    job_done = false;
    pthread_cond_broadcast(&job_cv);
    while (!job_done)
        pthread_cond_wait(&job_cv, &job_mu);
    pthread_mutex_unlock(&job_mu);
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
    for (;;) {
        if (job_fd >= 0) {
            int fd = job_fd;
            job_fd = -1;
            pthread_mutex_unlock(&job_mu);
            drip__leak_report(-1, fd, 0);
            pthread_mutex_lock(&job_mu);
            job_done = true;
            pthread_cond_broadcast(&job_cv);
            continue;
        }
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
        if (job_fd < 0)
            pthread_cond_timedwait(&job_cv, &job_mu, &until);
    }
    return NULL;
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
        struct pollfd pf[MAX_CLIENTS + 1];
        int map[MAX_CLIENTS + 1], n = 0;
        long long now = now_ms(), wake = now + 1000;
        if (listen_fd >= 0) {
            pf[n] = (struct pollfd){listen_fd, POLLIN, 0};
            map[n++] = -1;
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
            pf[n] = (struct pollfd){c->fd, c->responding ? POLLOUT : POLLIN, 0};
            map[n++] = i;
        }
        int timeout = (int)(wake > now ? wake - now : 0);
        if (poll(pf, (nfds_t)n, timeout) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (map[k] < 0) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                    continue;
                struct client *slot = NULL;
                for (int i = 0; i < MAX_CLIENTS && !slot; i++)
                    if (clients[i].fd < 0)
                        slot = &clients[i];
                if (!slot) {
                    close(fd);   /* full: the client retries */
                    continue;
                }
                memset(slot, 0, sizeof *slot);
                slot->fd = fd;
                slot->out_fd = -1;
                slot->deadline = now_ms() + READ_TIMEOUT_MS;
                on_readable(slot);   /* the request usually came with the connection */
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
    if (!drip__opt.http[0] && !drip__opt.monitor && !drip__opt.alert && (!drip__opt.growth || drip__opt.sample))
        return;
    drip__guard++;
    start_ms = now_ms();
    if (drip__opt.http[0])
        listen_fd = open_listener(drip__opt.http);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job_cv, &ca);
    pthread_condattr_destroy(&ca);
    have_ticker = start_thread(ticker);
    if (!have_ticker)
        fprintf(stderr, "drip: cannot start drip's thread: the monitor and growth detector are off\n");
    if (listen_fd >= 0 && !start_thread(server))
        fprintf(stderr, "drip: cannot start drip's HTTP thread: the endpoint is off\n");
    drip__guard--;
}

/* After fork only the forking thread exists: the child has no server (its port is the parent's). */
void drip__background_child(void)
{
    if (listen_fd >= 0)
        close(listen_fd);
    listen_fd = -1;
}
