/* http.c — the tiny HTTP/1.1 client behind `drip top URL`: one GET over a plain socket (no TLS),
 * Connection: close, Content-Length or chunked bodies, up to 5 redirects to http:// URLs.
 * Enough to fetch /debug/pprof/heap from Go's net/http/pprof or from drip's own endpoint.
 * A URL may also name a unix socket: unix:/run/app/drip.sock (GET /debug/pprof/heap) or
 * unix:/run/app/drip.sock:/debug/pprof/allocs. When DRIP_HTTP_TOKEN_FILE names a file, its
 * content (trailing whitespace dropped) is sent as Authorization: Bearer, for an endpoint
 * started with http_token.
 */
#include "prof.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef DRIP_VERSION
#define DRIP_VERSION "0"
#endif

enum { MAX_BODY = 1 << 30, CONNECT_MS = 10000, MAX_REDIRECTS = 5 };

struct url {
    char host[256], port[16], path[2048];
    char sock[sizeof ((struct sockaddr_un *)0)->sun_path];   /* a unix socket's path, or "" */
};

/* Splits unix:SOCKET[:/path]; -1 on anything else. */
static int parse_unix(const char *u, struct url *o, char *err, size_t errlen, const char *orig)
{
    const char *p = u + 5, *sep = strstr(p, ":/");
    size_t n = sep ? (size_t)(sep - p) : strlen(p);
    if (!n || n >= sizeof o->sock) {
        snprintf(err, errlen, "%s: bad URL (expected unix:/path/to/socket or unix:/path/to/socket:/debug/pprof/heap)", orig);
        return -1;
    }
    memcpy(o->sock, p, n);
    o->sock[n] = 0;
    snprintf(o->host, sizeof o->host, "drip");
    snprintf(o->path, sizeof o->path, "%s", sep ? sep + 1 : "/debug/pprof/heap");
    return 0;
}

/* Splits http://host[:port][/path] or a unix: URL; -1 on anything else. */
static int parse_url(const char *u, struct url *o, char *err, size_t errlen, const char *orig)
{
    memset(o, 0, sizeof *o);
    if (!strncmp(u, "unix:", 5))
        return parse_unix(u, o, err, errlen, orig);
    if (!strncasecmp(u, "https://", 8)) {
        snprintf(err, errlen, "%s: https is not supported (drip speaks plain http only)", orig);
        return -1;
    }
    if (strncasecmp(u, "http://", 7)) {
        snprintf(err, errlen, "%s: not an http:// URL", orig);
        return -1;
    }
    const char *h = u + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    const char *hp = h, *colon = NULL;
    size_t hostlen;
    if (hl && h[0] == '[') { /* [ipv6]:port */
        const char *rb = memchr(h, ']', hl);
        if (!rb)
            goto bad;
        hp = h + 1;
        hostlen = (size_t)(rb - hp);
        if (rb + 1 < h + hl) {
            if (rb[1] != ':')
                goto bad;
            colon = rb + 1;
        }
    } else {
        colon = memchr(h, ':', hl);
        hostlen = colon ? (size_t)(colon - h) : hl;
    }
    if (!hostlen || hostlen >= sizeof o->host)
        goto bad;
    memcpy(o->host, hp, hostlen);
    o->host[hostlen] = 0;
    size_t pl = colon ? (size_t)(h + hl - colon - 1) : 0;
    if (colon && (!pl || pl >= sizeof o->port))
        goto bad;
    if (colon) {
        memcpy(o->port, colon + 1, pl);
        o->port[pl] = 0;
        for (size_t i = 0; i < pl; i++)
            if (o->port[i] < '0' || o->port[i] > '9')
                goto bad;
    } else {
        strcpy(o->port, "80");
    }
    snprintf(o->path, sizeof o->path, "%s", slash ? slash : "/");
    return 0;
bad:
    snprintf(err, errlen, "%s: bad URL (expected http://host:port/path)", orig);
    return -1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to host:port with a timeout; returns the socket or -1 with err set. */
static int dial(const struct url *u, char *err, size_t errlen, const char *orig)
{
    if (u->sock[0]) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, u->sock, strlen(u->sock) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        snprintf(err, errlen, "%s: cannot connect to %s: %s", orig, u->sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(u->host, u->port, &hints, &res);
    if (g) {
        snprintf(err, errlen, "%s: cannot resolve %s: %s", orig, u->host, gai_strerror(g));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd pf = {fd, POLLOUT, 0};
            int pr = poll(&pf, 1, CONNECT_MS);
            socklen_t sl = sizeof e;
            if (pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0)
                break;
            if (pr == 0)
                e = ETIMEDOUT;
        } else {
            e = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "%s: cannot connect to %s:%s: %s", orig, u->host, u->port, strerror(e));
    return fd;
}

/* The "Authorization: Bearer ...\r\n" line from DRIP_HTTP_TOKEN_FILE into out ("" without it);
 * -1 with err set when the file cannot be read or holds no token. */
static int token_header(char *out, size_t cap, char *err, size_t errlen)
{
    const char *path = getenv("DRIP_HTTP_TOKEN_FILE");
    out[0] = 0;
    if (!path || !path[0])
        return 0;
    char tok[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, tok, sizeof tok - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0) {
        snprintf(err, errlen, "DRIP_HTTP_TOKEN_FILE=%s: %s", path, strerror(errno));
        return -1;
    }
    while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' || tok[n - 1] == '\t'))
        n--;
    tok[n] = 0;
    if (!n || strpbrk(tok, " \t\r\n")) {
        snprintf(err, errlen, "DRIP_HTTP_TOKEN_FILE=%s: the file holds no token (one line, no spaces)", path);
        return -1;
    }
    snprintf(out, cap, "Authorization: Bearer %s\r\n", tok);
    return 0;
}

/* Sends the request and reads until the server closes; -1 with err set. */
static int exchange(int fd, const struct url *u, int timeout_ms, char **out, size_t *outlen, char *err,
                    size_t errlen, const char *orig)
{
    char req[8192], auth[4200];
    if (token_header(auth, sizeof auth, err, errlen) != 0)
        return -1;
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: drip/%s\r\nAccept: */*\r\n"
                     "%sConnection: close\r\n\r\n",
                     u->path, u->host, u->sock[0] ? "" : ":", u->sock[0] ? "" : u->port, DRIP_VERSION, auth);
    if (n < 0 || (size_t)n >= sizeof req) {
        snprintf(err, errlen, "%s: request too long", orig);
        return -1;
    }
    long long deadline = now_ms() + timeout_ms;
    for (int off = 0; off < n;) {
        ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, 1000);
            if (now_ms() > deadline)
                goto timeout;
            continue;
        }
        if (w < 0 && errno != EINTR) {
            snprintf(err, errlen, "%s: send: %s", orig, strerror(errno));
            return -1;
        }
        if (w > 0)
            off += (int)w;
    }
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    if (!buf)
        goto nomem;
    for (;;) {
        if (cap - len < 4096) {
            if (cap >= MAX_BODY) {
                free(buf);
                snprintf(err, errlen, "%s: response larger than 1GiB", orig);
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                goto nomem;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            long long left = deadline - now_ms();
            struct pollfd pf = {fd, POLLIN, 0};
            if (left <= 0 || poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) < 0) {
                if (left <= 0) {
                    free(buf);
                    goto timeout;
                }
            }
            continue;
        }
        snprintf(err, errlen, "%s: recv: %s", orig, strerror(errno));
        free(buf);
        return -1;
    }
    buf[len] = 0;
    *out = buf;
    *outlen = len;
    return 0;
timeout:
    snprintf(err, errlen, "%s: no complete response within %d s", orig, timeout_ms / 1000);
    return -1;
nomem:
    snprintf(err, errlen, "%s: out of memory", orig);
    return -1;
}

/* Finds header `name` in the header block [h, end); copies its value to out. */
static int header(const char *h, const char *end, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = h; l < end;) {
        const char *e = memchr(l, '\n', (size_t)(end - l));
        if (!e)
            e = end;
        if ((size_t)(e - l) > nl && !strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = e;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            size_t k = (size_t)(ve - v) < cap - 1 ? (size_t)(ve - v) : cap - 1;
            memcpy(out, v, k);
            out[k] = 0;
            return 1;
        }
        l = e + 1;
    }
    return 0;
}

/* Decodes a chunked body in place; returns its length or -1. */
static long long dechunk(char *b, size_t len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        if (in >= len)
            return -1;
        unsigned long long n = strtoull(b + in, &end, 16);
        if (end == b + in)
            return -1;
        char *nl = memchr(end, '\n', len - (size_t)(end - b));
        if (!nl)
            return -1;
        in = (size_t)(nl - b) + 1;
        if (n == 0)
            return (long long)out;
        if (n > len - in)
            return -1;
        memmove(b + out, b + in, (size_t)n);
        out += (size_t)n;
        in += (size_t)n;
        if (in < len && b[in] == '\r')
            in++;
        if (in < len && b[in] == '\n')
            in++;
    }
}

int drip__http_get(const char *url, char **body, size_t *bodylen, char *err, size_t errlen)
{
    char cur[2400];
    snprintf(cur, sizeof cur, "%s", url);
    int timeout_ms = 60000;
    const char *sec = strstr(url, "seconds=");
    if (sec)
        timeout_ms += atoi(sec + 8) * 1000;
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
        struct url u;
        if (parse_url(cur, &u, err, errlen, url))
            return -1;
        int fd = dial(&u, err, errlen, url);
        if (fd < 0)
            return -1;
        char *resp;
        size_t rlen;
        int rc = exchange(fd, &u, timeout_ms, &resp, &rlen, err, errlen, url);
        close(fd);
        if (rc)
            return -1;
        char *hend = strstr(resp, "\r\n\r\n");
        int code = 0;
        if (!hend || sscanf(resp, "HTTP/%*d.%*d %d", &code) != 1) {
            snprintf(err, errlen, "%s: not an HTTP response", url);
            free(resp);
            return -1;
        }
        char *b = hend + 4;
        size_t blen = rlen - (size_t)(b - resp);
        char val[2048];
        if (header(resp, hend, "Transfer-Encoding", val, sizeof val) && strcasestr(val, "chunked")) {
            long long n = dechunk(b, blen);
            if (n < 0) {
                snprintf(err, errlen, "%s: truncated or bad chunked response", url);
                free(resp);
                return -1;
            }
            blen = (size_t)n;
        } else if (header(resp, hend, "Content-Length", val, sizeof val)) {
            unsigned long long cl = strtoull(val, NULL, 10);
            if (cl > blen) {
                snprintf(err, errlen, "%s: connection closed after %zu of %llu bytes", url, blen, cl);
                free(resp);
                return -1;
            }
            blen = (size_t)cl;
        }
        if (code >= 300 && code < 400 && header(resp, hend, "Location", val, sizeof val)) {
            if (val[0] == '/' && u.sock[0])
                snprintf(cur, sizeof cur, "unix:%s:%s", u.sock, val);
            else if (val[0] == '/')
                snprintf(cur, sizeof cur, "http://%s%s%s%s:%s%s", "", strchr(u.host, ':') ? "[" : "", u.host,
                         strchr(u.host, ':') ? "]" : "", u.port, val);
            else
                snprintf(cur, sizeof cur, "%s", val);
            free(resp);
            continue;
        }
        if (code < 200 || code > 299) {
            char reason[128] = "";
            sscanf(resp, "HTTP/%*d.%*d %*d %127[^\r\n]", reason);
            /* the first line of a short text body usually says why (Go's pprof handler does) */
            char first[160] = "";
            if (blen && blen < 4096) {
                size_t k = 0;
                while (k < blen && k < sizeof first - 1 && b[k] != '\n' && b[k] != '\r' &&
                       (unsigned char)b[k] >= 0x20)
                    k++;
                memcpy(first, b, k);
                first[k] = 0;
            }
            snprintf(err, errlen, "%s: HTTP %d %s%s%s", url, code, reason, first[0] ? ": " : "", first);
            free(resp);
            return -1;
        }
        memmove(resp, b, blen);
        *body = resp;
        *bodylen = blen;
        return 0;
    }
    snprintf(err, errlen, "%s: too many redirects", url);
    return -1;
}
