/* fuzz_http.c — libFuzzer target for drip's HTTP request parser (src/preload/http.c):
 * drip_http_parse on the raw input, then drip_http_query on the parsed query with a few names
 * and output sizes. Checks beyond ASan/UBSan: the return value is one of -2..1; on success
 * method, path and query are terminated inside their buffers, the head length is within the
 * input and ends with CRLFCRLF, the path starts with '/', the method is upper-case letters;
 * the parse of the same bytes is deterministic; the query value is always terminated; the
 * Authorization value lies inside the head, with no space at either end; drip_http_bearer_ok
 * agrees with a plain reference check (scheme "Bearer" in any case, then the secret exactly) for
 * secrets taken from the input itself and fixed ones, and never accepts an empty secret. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* The obvious (not constant-time) version of drip_http_bearer_ok. */
static int bearer_ref(const char *buf, const struct drip_http_req *r, const char *secret, size_t len)
{
    if (!r->has_auth || !len)
        return 0;
    const char *v = buf + r->auth_off;
    size_t n = r->auth_len;
    if (n < 7 || strncasecmp(v, "bearer", 6) || (v[6] != ' ' && v[6] != '\t'))
        return 0;
    v += 7, n -= 7;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    return n == len && !memcmp(v, secret, len);
}

static void check_auth(const char *buf, const struct drip_http_req *r)
{
    if (!r->has_auth) {
        if (r->auth_len || drip_http_bearer_ok(buf, r, "x", 1))
            abort();
        return;
    }
    if (r->auth_off > r->head_len || r->auth_len > r->head_len - r->auth_off)
        abort();
    if (r->auth_len && (buf[r->auth_off] == ' ' || buf[r->auth_off + r->auth_len - 1] == ' '))
        abort();
    if (memchr(buf + r->auth_off, '\r', r->auth_len))
        abort();
    static const char *fixed[] = {"x", "tok-3f9a1c0e7b2d4c6a8e5f", "Bearer", "a b"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (drip_http_bearer_ok(buf, r, fixed[i], strlen(fixed[i])) != bearer_ref(buf, r, fixed[i], strlen(fixed[i])))
            abort();
    if (drip_http_bearer_ok(buf, r, "", 0))
        abort();
    /* secrets cut from the header value itself: the right one, and one byte shorter or longer */
    const char *v = buf + r->auth_off;
    size_t n = r->auth_len;
    for (size_t skip = 0; skip <= 8 && skip <= n; skip++)
        for (size_t cut = 0; cut <= 1 && cut <= n - skip; cut++) {
            const char *sec = v + skip;
            size_t len = n - skip - cut;
            if (drip_http_bearer_ok(buf, r, sec, len) != bearer_ref(buf, r, sec, len))
                abort();
            if (len + 1 <= n - skip && drip_http_bearer_ok(buf, r, sec, len + 1) != bearer_ref(buf, r, sec, len + 1))
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy of exactly `size` bytes, so ASan catches any read past the end */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct drip_http_req r, r2;
    memset(&r, 0xAA, sizeof r);
    int rc = drip_http_parse(buf, size, &r);
    if (rc < -2 || rc > 1)
        abort();
    if (drip_http_parse(buf, size, &r2) != rc)
        abort();
    if (rc == 1) {
        if (!memchr(r.method, 0, sizeof r.method) || !memchr(r.path, 0, sizeof r.path) ||
            !memchr(r.query, 0, sizeof r.query))
            abort();
        if (r.head_len < 4 || r.head_len > size || memcmp(buf + r.head_len - 4, "\r\n\r\n", 4))
            abort();
        if (r.path[0] != '/' || !r.method[0])
            abort();
        for (const char *c = r.method; *c; c++)
            if (*c < 'A' || *c > 'Z')
                abort();
        if (memcmp(&r, &r2, sizeof r))
            abort();
        check_auth(buf, &r);
        static const char *names[] = {"seconds", "debug", "gc", "", "a", "seconds="};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char out[16];
            memset(out, 'Z', sizeof out);
            if (drip_http_query(r.query, names[i], out, sizeof out) && !memchr(out, 0, sizeof out))
                abort();
            char one[1];
            if (drip_http_query(r.query, names[i], one, sizeof one) && one[0] != 0)
                abort();
        }
    }
    /* the query helper on the raw input as a NUL-terminated string */
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = 0;
    char out[8];
    if (drip_http_query(q, "seconds", out, sizeof out) && !memchr(out, 0, sizeof out))
        abort();
    free(q);
    free(buf);
    return 0;
}
