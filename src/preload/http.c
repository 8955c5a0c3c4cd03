/* http.c — see http.h. */
#include "http.h"

#include <string.h>
#include <strings.h>

enum { MAX_HEAD = 8192 };

int drip_http_parse(const char *buf, size_t len, struct drip_http_req *r)
{
    memset(r, 0, sizeof *r);
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            end = buf + i + 4;
            break;
        }
    if (!end)
        return len >= MAX_HEAD ? -2 : 0;
    r->head_len = (size_t)(end - buf);
    /* request line: METHOD SP target SP HTTP/1.x CRLF */
    const char *p = buf, *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp || sp == p || (size_t)(sp - p) >= sizeof r->method)
        return -1;
    memcpy(r->method, p, (size_t)(sp - p));
    for (const char *c = p; c < sp; c++)
        if (*c < 'A' || *c > 'Z')
            return -1;
    p = sp + 1;
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    sp = eol ? memchr(p, ' ', (size_t)(eol - p)) : NULL;
    if (!sp || sp == p || *p != '/' || (size_t)(eol - sp - 1) < 8 || memcmp(sp + 1, "HTTP/1.", 7) != 0)
        return -1;
    const char *q = memchr(p, '?', (size_t)(sp - p));
    const char *path_end = q ? q : sp;
    if ((size_t)(path_end - p) >= sizeof r->path)
        return -2;
    memcpy(r->path, p, (size_t)(path_end - p));
    if (q) {
        if ((size_t)(sp - q - 1) >= sizeof r->query)
            return -2;
        memcpy(r->query, q + 1, (size_t)(sp - q - 1));
    }
    for (const char *c = p; c < sp; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return -1;
    /* headers: only Content-Length and Authorization matter */
    for (const char *h = eol + 2; h < end - 2;) {
        const char *he = memchr(h, '\r', (size_t)(end - h));
        if (!he)
            return -1;
        const char *colon = memchr(h, ':', (size_t)(he - h));
        if (!colon)
            return -1;
        if ((size_t)(colon - h) == 14 && !strncasecmp(h, "Content-Length", 14)) {
            size_t v = 0;
            const char *c = colon + 1;
            while (c < he && *c == ' ')
                c++;
            if (c == he)
                return -1;
            for (; c < he; c++) {
                if (*c < '0' || *c > '9' || v > 1000000)
                    return -1;
                v = v * 10 + (size_t)(*c - '0');
            }
            r->content_length = v;
        } else if ((size_t)(colon - h) == 13 && !strncasecmp(h, "Authorization", 13)) {
            if (r->has_auth)
                return -1;   /* two credentials: which one would count is ambiguous */
            const char *v = colon + 1, *ve = he;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            r->has_auth = 1;
            r->auth_off = (size_t)(v - buf);
            r->auth_len = (size_t)(ve - v);
        }
        h = he + 2;
    }
    return 1;
}

int drip_http_bearer_ok(const char *buf, const struct drip_http_req *r, const char *secret, size_t len)
{
    if (!r->has_auth || !len)
        return 0;
    const char *v = buf + r->auth_off;
    size_t n = r->auth_len;
    if (n < 7 || strncasecmp(v, "Bearer", 6) || (v[6] != ' ' && v[6] != '\t'))
        return 0;
    v += 7, n -= 7;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    /* every byte of the secret is compared whatever the others gave: no early exit */
    unsigned char acc = n != len;
    for (size_t i = 0; i < len; i++) {
        size_t j = i < n ? i : 0;
        acc |= (unsigned char)(secret[i] ^ (n ? v[j] : 0));
    }
    return acc == 0;
}

int drip_http_query(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len >= nl && !strncmp(p, name, nl) && (len == nl || p[nl] == '=')) {
            size_t vl = len > nl ? len - nl - 1 : 0;
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, p + nl + (len > nl), vl);
            out[vl] = 0;
            return 1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}
