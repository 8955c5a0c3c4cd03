/* http.h — the request side of drip's HTTP/1.1 responder: parsing a request head into method,
 * path, query and Authorization header, and checking a bearer token in constant time.
 * No allocation; fuzzed (fuzz/http). */
#ifndef DRIP_PRELOAD_HTTP_H
#define DRIP_PRELOAD_HTTP_H

#include <stddef.h>

struct drip_http_req {
    char method[8];
    char path[256];
    char query[256];
    size_t content_length;
    size_t head_len;   /* bytes up to and including the blank line */
    int has_auth;      /* an Authorization header was sent (at most one is accepted) */
    size_t auth_off, auth_len;   /* its value, spaces around it trimmed: buf[auth_off..+auth_len) */
};

/* Parses buf[0..len). Returns 1 when a whole head was parsed, 0 when more bytes are needed,
 * -1 for a malformed request (400), -2 when the head is too large (431). */
int drip_http_parse(const char *buf, size_t len, struct drip_http_req *r);

/* 1 when the parsed request `r` of `buf` carries "Authorization: Bearer <token>" (the scheme
 * in any case, as RFC 7235 allows) whose token equals secret[0..len), else 0. The comparison's
 * time depends on len only, never on how many leading bytes match. len 0 never matches. */
int drip_http_bearer_ok(const char *buf, const struct drip_http_req *r, const char *secret, size_t len);

/* Copies the value of `name` from a query string (a=1&b=2) into out; 1 if present, else 0. */
int drip_http_query(const char *query, const char *name, char *out, size_t cap);

#endif
