/* fuzz_http.c — libFuzzer target for drip's HTTP request parser (src/preload/http.c):
 * drip_http_parse on the raw input, then drip_http_query on the parsed query with a few names
 * and output sizes. Checks beyond ASan/UBSan: the return value is one of -2..1; on success
 * method, path and query are terminated inside their buffers, the head length is within the
 * input and ends with CRLFCRLF, the path starts with '/', the method is upper-case letters;
 * the parse of the same bytes is deterministic; the query value is always terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

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
