/* fastfmt.c — see fastfmt.h. A raw report of 2,800 records and the JSON of its 61,000 frames are
 * mostly "%s", "%llu" and "%lx" between literal text: through vsnprintf, which sets up a FILE
 * and walks every directive through its general path, that was 40% of `drip symbolize`'s
 * instructions (callgrind, nm -D libc.so.6 --json). Anything this does not know goes back to
 * vsnprintf, so the output is byte for byte libc's. Pure code: also safe in the traced process.
 * No locks. */
#include "fastfmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Digits of v in base 10 or 16 (lower case), written backwards ending at end; returns the start.
 * Each base its own loop: a division by a variable was most of the cost of a frame's "%lx". */
static char *digits(char *end, unsigned long long v, unsigned base)
{
    static const char hex[] = "0123456789abcdef";
    if (base == 16) {
        do {
            *--end = hex[v & 15];
            v >>= 4;
        } while (v);
    } else {
        do {
            *--end = (char)('0' + v % 10);
            v /= 10;
        } while (v);
    }
    return end;
}

int drip__fastfmt(char *out, size_t cap, const char *fmt, va_list ap)
{
    size_t o = 0;
    for (const char *p = fmt;; p++) {
        const char *lit = p;
        while (*p && *p != '%')
            p++;
        size_t n = (size_t)(p - lit);
        if (o + n >= cap)
            return -1;
        memcpy(out + o, lit, n);
        o += n;
        if (!*p)
            break;
        p++;   /* past '%' */
        int len = 0;   /* 0: int, 1: long, 2: long long, 3: size_t */
        if (*p == 'l') {
            len = 1;
            if (*++p == 'l') {
                len = 2;
                p++;
            }
        } else if (*p == 'z') {
            len = 3;
            p++;
        }
        char num[24], *s;
        size_t sl;
        switch (*p) {
        case '%':
            if (len)
                return -1;
            s = "%";
            sl = 1;
            break;
        case 'c':
            if (len)
                return -1;
            num[0] = (char)va_arg(ap, int);
            s = num;
            sl = 1;
            break;
        case 's':
            if (len || !(s = va_arg(ap, char *)))
                return -1;   /* glibc prints "(null)": left to it */
            sl = strlen(s);
            break;
        case 'd':
        case 'i': {
            if (len == 3)
                return -1;   /* %zd: ssize_t, rare; libc's */
            long long v = len == 0 ? va_arg(ap, int) : len == 1 ? va_arg(ap, long) : va_arg(ap, long long);
            unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            s = digits(num + sizeof num, m, 10);
            if (v < 0)
                *--s = '-';
            sl = (size_t)(num + sizeof num - s);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = len == 0 ? va_arg(ap, unsigned) : len == 1 ? va_arg(ap, unsigned long)
                                   : len == 2                       ? va_arg(ap, unsigned long long)
                                                                    : va_arg(ap, size_t);
            s = digits(num + sizeof num, v, *p == 'x' ? 16 : 10);
            sl = (size_t)(num + sizeof num - s);
            break;
        }
        default:
            return -1;   /* a flag, width, precision, float, pointer...: libc's */
        }
        if (o + sl >= cap)
            return -1;
        memcpy(out + o, s, sl);
        o += sl;
    }
    out[o] = 0;
    return (int)o;
}

/* A digit's value + 1 (0: not a lower-case hex digit). */
static const unsigned char hexval[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* A raw report of 61,000 frames is 61,000 hex numbers; strtoull (locale, sign, base prefix,
 * overflow) was a fifth of reading it. */
uintptr_t drip__hex_next(const char **pp, const char *end)
{
    const char *p = *pp;
    uintptr_t v = 0;
    const char *q = p;
    for (unsigned d; q < end && q - p < 16 && (d = hexval[(unsigned char)*q]); q++)
        v = v << 4 | (d - 1);
    if (q == p || (q < end && *q != ',')) {   /* not drip's own form: libc reads it */
        char *e;
        v = (uintptr_t)strtoull(p, &e, 16);
        q = e;
    }
    *pp = q < end && *q == ',' ? q + 1 : end;
    return v;
}

unsigned long long drip__num_scan(const char *s, size_t len, int base)
{
    unsigned long long v = 0;
    size_t i = 0;
    for (; i < len && i < (base == 16 ? 16u : 19u); i++) {   /* no overflow: strtoull's saturation */
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : base == 16 && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 99;
        if (d == 99)
            break;
        v = v * (unsigned)base + d;
    }
    return i && i == len ? v : strtoull(s, NULL, base);
}
