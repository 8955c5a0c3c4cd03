/* writer.c — see writer.h. */
#include "writer.h"
#include "fastfmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void drip__writer_fd(struct drip_writer *w, int fd)
{
    w->fd = fd;   /* the buffer is not cleared: 64 KiB in the CLI, for every answer */
    w->len = 0;
    w->err = 0;
}

static void drain(struct drip_writer *w)
{
    size_t off = 0;
    while (off < w->len && !w->err) {
        ssize_t r = write(w->fd, w->buf + off, w->len - off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
        } else {
            off += (size_t)r;
        }
    }
    w->len = 0;
}

void drip__write(struct drip_writer *w, const void *p, size_t n)
{
    if (n <= sizeof w->buf - w->len) {   /* the common case: a piece that fits */
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        return;
    }
    const char *s = p;
    while (n && !w->err) {
        if (w->len == sizeof w->buf)
            drain(w);
        size_t k = sizeof w->buf - w->len;
        if (k > n)
            k = n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

void drip__puts(struct drip_writer *w, const char *s) { drip__write(w, s, strlen(s)); }

void drip__vprintf(struct drip_writer *w, const char *fmt, va_list ap)
{
    char tmp[4096];
    va_list cp;
    va_copy(cp, ap);
    int n = drip__fastfmt(tmp, sizeof tmp, fmt, cp);   /* libc's stdio only where needed */
    va_end(cp);
    if (n < 0)
        n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n < 0)
        return;
    drip__write(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void drip__printf(struct drip_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    drip__vprintf(w, fmt, ap);
    va_end(ap);
}

void drip__put_hex(struct drip_writer *w, uint64_t v)
{
    char d[16], *p = d + sizeof d;
    do {
        *--p = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    drip__write(w, p, (size_t)(d + sizeof d - p));
}

void drip__put_count(struct drip_writer *w, uint64_t n)
{
    char digits[32], out[48];
    int d = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    int o = 0;
    for (int i = 0; i < d; i++) {
        if (i && (d - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    drip__write(w, out, (size_t)o);
}

void drip__human_bytes(char *out, size_t cap, double b)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong form, no surrogate,
 * nothing past U+10FFFF), 0 when the byte at p starts none. */
static int utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (!n || c > 0xf4)
        return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    unsigned lo = p[1];
    if ((c == 0xe0 && lo < 0xa0) || (c == 0xed && lo > 0x9f) || (c == 0xf0 && lo < 0x90) || (c == 0xf4 && lo > 0x8f))
        return 0;
    return n;
}

void drip__put_json_str(struct drip_writer *w, const char *s)
{
    drip__write(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        /* a run of characters that need no escape in one copy (a JSON of 60,000 frames wrote
         * its names a byte at a time) */
        const unsigned char *q = p;
        while (*q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
            q++;
        if (q > p) {
            drip__write(w, p, (size_t)(q - p));
            p = q - 1;
            continue;
        }
        if (*p >= 0x80) {
            /* JSON is UTF-8: a byte that starts no UTF-8 character (an argument or a path in
             * Latin-1) is written as U+FFFD, so the document still parses */
            int n = utf8_len(p);
            if (n) {
                drip__write(w, p, (size_t)n);
                p += n - 1;
            } else {
                drip__write(w, "\\ufffd", 6);
            }
            continue;
        }
        switch (*p) {
        case '"': drip__write(w, "\\\"", 2); break;
        case '\\': drip__write(w, "\\\\", 2); break;
        case '\n': drip__write(w, "\\n", 2); break;
        case '\t': drip__write(w, "\\t", 2); break;
        case '\r': drip__write(w, "\\r", 2); break;
        default:
            if (*p < 0x20)
                drip__printf(w, "\\u%04x", *p);
            else
                drip__write(w, p, 1);
        }
    }
    drip__write(w, "\"", 1);
}

int drip__flush(struct drip_writer *w)
{
    drain(w);
    return w->err;
}
