/* http.h — the request side of drip's HTTP/1.1 responder: parsing a request head into method,
 * path and query. No allocation; fuzzed (fuzz/http). */
#ifndef DRIP_PRELOAD_HTTP_H
#define DRIP_PRELOAD_HTTP_H

#include <stddef.h>

struct drip_http_req {
    char method[8];
    char path[256];
    char query[256];
    size_t content_length;
    size_t head_len;   /* bytes up to and including the blank line */
};

/* Parses buf[0..len). Returns 1 when a whole head was parsed, 0 when more bytes are needed,
 * -1 for a malformed request (400), -2 when the head is too large (431). */
int drip_http_parse(const char *buf, size_t len, struct drip_http_req *r);

/* Copies the value of `name` from a query string (a=1&b=2) into out; 1 if present, else 0. */
int drip_http_query(const char *query, const char *name, char *out, size_t cap);

#endif
