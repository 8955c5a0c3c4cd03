/* json.c — a recursive-descent JSON parser for the CLI's report converters (sarif.c,
 * suppress.c). Strict RFC 8259 apart from accepting any number text strtod takes; nesting is
 * limited to 64 levels so a hostile file cannot exhaust the stack. No locks, no globals.
 */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *s, *end, *start;
    char *err;
    size_t errlen;
    int failed;
};

static void fail(struct parser *p, const char *what)
{
    if (!p->failed)
        snprintf(p->err, p->errlen, "offset %zu: %s", (size_t)(p->s - p->start), what);
    p->failed = 1;
}

static void skip_ws(struct parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static struct json *node(enum json_type t)
{
    struct json *j = calloc(1, sizeof *j);
    if (j)
        j->type = t;
    return j;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string at p->s (on the opening quote); returns it decoded, malloc'd. */
static char *parse_string(struct parser *p)
{
    p->s++;
    const char *q = p->s;
    while (q < p->end && *q != '"')
        q += (*q == '\\' && q + 1 < p->end) ? 2 : 1;
    if (q >= p->end) {
        fail(p, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(q - p->s) + 1), *o = out;   /* decoding never grows the text */
    if (!out) {
        fail(p, "out of memory");
        return NULL;
    }
    while (p->s < q) {
        unsigned char c = (unsigned char)*p->s++;
        if (c < 0x20) {
            fail(p, "control character in string");
            free(out);
            return NULL;
        }
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        char e = *p->s++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - p->s < 4 || hex4(p->s, &cp)) {
                fail(p, "bad \\u escape");
                free(out);
                return NULL;
            }
            p->s += 4;
            /* a surrogate pair is 12 bytes of escapes for 4 bytes of UTF-8: still no growth */
            if (cp >= 0xd800 && cp < 0xdc00 && q - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u' &&
                !hex4(p->s + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p->s += 6;
            }
            o += put_utf8(o, cp);
            break;
        }
        default:
            fail(p, "bad escape in string");
            free(out);
            return NULL;
        }
    }
    *o = 0;
    p->s = q + 1;
    return out;
}

static struct json *parse_value(struct parser *p, int depth);

static int add_item(struct json *j, struct json *v, char *key)
{
    if ((j->n & (j->n - 1)) == 0) {   /* grow at 0, 1, 2, 4, 8 ... */
        size_t cap = j->n ? j->n * 2 : 1;
        struct json **items = realloc(j->items, cap * sizeof *items);
        if (!items)
            return -1;
        j->items = items;
        if (j->type == JSON_OBJECT) {
            char **keys = realloc(j->keys, cap * sizeof *keys);
            if (!keys)
                return -1;
            j->keys = keys;
        }
    }
    j->items[j->n] = v;
    if (j->type == JSON_OBJECT)
        j->keys[j->n] = key;
    j->n++;
    return 0;
}

static struct json *parse_container(struct parser *p, int depth, int object)
{
    struct json *j = node(object ? JSON_OBJECT : JSON_ARRAY);
    if (!j) {
        fail(p, "out of memory");
        return NULL;
    }
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == (object ? '}' : ']')) {
        p->s++;
        return j;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (object) {
            if (p->s >= p->end || *p->s != '"') {
                fail(p, "expected a string key");
                break;
            }
            if (!(key = parse_string(p)))
                break;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') {
                fail(p, "expected ':'");
                free(key);
                break;
            }
            p->s++;
        }
        struct json *v = parse_value(p, depth + 1);
        if (!v || add_item(j, v, key) != 0) {
            if (v)
                fail(p, "out of memory");
            json_free(v);
            free(key);
            break;
        }
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == (object ? '}' : ']')) {
            p->s++;
            return j;
        }
        fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    json_free(j);
    return NULL;
}

static struct json *parse_value(struct parser *p, int depth)
{
    if (depth > 64) {
        fail(p, "nested too deeply");
        return NULL;
    }
    skip_ws(p);
    if (p->s >= p->end) {
        fail(p, "unexpected end of input");
        return NULL;
    }
    char c = *p->s;
    if (c == '{' || c == '[')
        return parse_container(p, depth, c == '{');
    if (c == '"') {
        char *s = parse_string(p);
        struct json *j = s ? node(JSON_STRING) : NULL;
        if (s && !j)
            fail(p, "out of memory");
        if (!j)
            free(s);
        else
            j->str = s;
        return j;
    }
    static const struct { const char *word; enum json_type t; double v; } words[] = {
        {"null", JSON_NULL, 0}, {"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t wl = strlen(words[i].word);
        if ((size_t)(p->end - p->s) >= wl && !memcmp(p->s, words[i].word, wl)) {
            p->s += wl;
            struct json *j = node(words[i].t);
            if (j)
                j->num = words[i].v;
            else
                fail(p, "out of memory");
            return j;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char small[64], *buf = small;
        size_t n = 0;
        while (p->s + n < p->end && p->s[n] && strchr("+-.eE0123456789", p->s[n]))
            n++;
        /* a number of any length (drip's own SARIF writes a huge count as all its digits) */
        if (n >= sizeof small && !(buf = malloc(n + 1))) {
            fail(p, "out of memory");
            return NULL;
        }
        memcpy(buf, p->s, n);
        buf[n] = 0;
        char *endp;
        errno = 0;
        double v = strtod(buf, &endp);
        int bad = endp != buf + n || errno == ERANGE;
        if (buf != small)
            free(buf);
        if (bad) {
            fail(p, "bad number");
            return NULL;
        }
        p->s += n;
        struct json *j = node(JSON_NUMBER);
        if (j)
            j->num = v;
        else
            fail(p, "out of memory");
        return j;
    }
    fail(p, "unexpected character");
    return NULL;
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct parser p = {text, text + len, text, err, errlen, 0};
    struct json *j = parse_value(&p, 0);
    if (j) {
        skip_ws(&p);
        if (p.s != p.end) {
            fail(&p, "trailing data after the document");
            json_free(j);
            j = NULL;
        }
    }
    return j;
}

struct json *json_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        snprintf(err, errlen, "cannot read %s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return NULL;
    }
    char perr[128] = "";
    struct json *j = json_parse(buf, len, perr, sizeof perr);
    free(buf);
    if (!j)
        snprintf(err, errlen, "%s is not valid JSON (%s)", path, perr);
    return j;
}

void json_free(struct json *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        json_free(j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    free(j);
}

const struct json *json_get(const struct json *j, const char *key)
{
    if (!j || j->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (!strcmp(j->keys[i], key))
            return j->items[i];
    return NULL;
}

const char *json_str(const struct json *j, const char *key)
{
    const struct json *v = json_get(j, key);
    return v && v->type == JSON_STRING ? v->str : NULL;
}

double json_num(const struct json *j, const char *key, double dflt)
{
    const struct json *v = json_get(j, key);
    return v && v->type == JSON_NUMBER ? v->num : dflt;
}
