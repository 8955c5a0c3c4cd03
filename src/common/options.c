/* options.c — the DRIP_OPTIONS parser. Used inside the traced process (from a constructor) and
 * by the CLI, so it never allocates and never calls stdio. */
#include "options.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const struct drip_option_info drip_option_infos[] = {
#define DRIP_OPT_INFO(name, type, def, help) {#name, DRIP_OPT_##type, def, help},
    DRIP_OPTION_TABLE(DRIP_OPT_INFO)
#undef DRIP_OPT_INFO
};
const size_t drip_option_count = sizeof drip_option_infos / sizeof drip_option_infos[0];

int drip__parse_error_kinds(const char *s, size_t len, unsigned *mask)
{
    /* bit order: DRIP_RAW_REACHABLE (1), POSSIBLE (2), INDIRECT (3), DEFINITE (4) */
    static const char *const names[] = {"", "reachable", "possible", "indirect", "definite"};
    *mask = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != '+' && s[j] != ',')
            j++;
        size_t n = j - i, k = 1;
        if (n == 3 && !memcmp(s + i, "all", 3))
            *mask |= 0x1e;
        else if (!(n == 4 && !memcmp(s + i, "none", 4))) {
            while (k < 5 && !(strlen(names[k]) == n && !memcmp(s + i, names[k], n)))
                k++;
            if (k == 5)
                return -1;
            *mask |= 1u << k;
        }
        i = j + 1;
    }
    return 0;
}

/* What each option accepts beyond its type: integer ranges and the words a text option takes.
 * The one source of truth for both the parsers (DRIP_OPTIONS and `drip run`'s flags) and the
 * help text; keyed by name so that the X-macro table keeps its shape. An option absent here
 * takes any value of its type. */
static const struct drip_option_limit limits[] = {
    {"error_exitcode", 0, 255, NULL},
    {"max_frames", 1, 64, NULL},
    {"stop_signal", 0, 64, NULL},
    {"scan_threads_timeout_ms", 0, 3600000, NULL},
    {"max_records", 0, 1000000000, NULL},
    {"nice", 0, 19, NULL},
    {"unwind", 0, 0, "auto|fp|cfi|libunwind"},
    {"gen_suppressions_format", 0, 0, "lsan|valgrind"},
};

const struct drip_option_limit *drip__option_limit(const char *name)
{
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        if (!strcmp(limits[i].name, name))
            return &limits[i];
    return NULL;
}

void drip__option_accepts(const char *name, const char *pre, char *out, size_t cap)
{
    const struct drip_option_limit *lim = drip__option_limit(name);
    if (!lim)
        snprintf(out, cap, "%s", "");
    else if (lim->choices)
        snprintf(out, cap, "%sone of %s", pre, lim->choices);
    else
        snprintf(out, cap, "%s%ld to %ld", pre, lim->lo, lim->hi);
}

/* 1 when val (len bytes) is one of the '|'-separated words of choices. */
static int is_choice(const char *choices, const char *val, size_t len)
{
    for (const char *c = choices; *c;) {
        const char *e = strchr(c, '|');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == len && !memcmp(c, val, len))
            return 1;
        c += n + (e ? 1 : 0);
    }
    return 0;
}

static void ltoa10(long v, char *out)
{
    char tmp[24];
    int n = 0, neg = v < 0;
    unsigned long u = neg ? 0UL - (unsigned long)v : (unsigned long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (neg)
        *out++ = '-';
    while (n)
        *out++ = tmp[--n];
    *out = 0;
}

/* Copies at most n bytes of src into err as a NUL-terminated string, appending. */
static void err_add(char *err, size_t errlen, const char *src, size_t n)
{
    if (!err || !errlen)
        return;
    size_t have = strnlen(err, errlen - 1);
    size_t room = errlen - 1 - have;
    if (n > room)
        n = room;
    memcpy(err + have, src, n);
    err[have + n] = 0;
}

static void err_set(char *err, size_t errlen, const char *a, const char *b, size_t blen,
                    const char *c)
{
    if (!err || !errlen)
        return;
    err[0] = 0;
    err_add(err, errlen, a, strlen(a));
    err_add(err, errlen, b, blen);
    err_add(err, errlen, c, strlen(c));
}

int drip__parse_heuristics(const char *s, size_t len, unsigned *mask)
{
    static const char *const names[] = {"stdstring", "length64", "newarray", "multipleinheritance"};
    *mask = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != '+' && s[j] != ',')
            j++;
        size_t n = j - i;
        if (n == 3 && !memcmp(s + i, "all", 3))
            *mask |= 15;
        else if (!(n == 4 && !memcmp(s + i, "none", 4))) {
            size_t k = 0;
            while (k < 4 && !(strlen(names[k]) == n && !memcmp(s + i, names[k], n)))
                k++;
            if (k == 4) {
                *mask = 15;
                return -1;
            }
            *mask |= 1u << k;
        }
        i = j + 1;
    }
    return 0;
}

int drip__parse_size(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;
    if (len == 0)
        return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (ULLONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (i == 0)
        return -1;
    static const struct { const char *suffix; unsigned shift; } units[] = {
        {"", 0}, {"B", 0}, {"K", 10}, {"KB", 10}, {"KiB", 10}, {"k", 10}, {"M", 20}, {"MB", 20},
        {"MiB", 20}, {"G", 30}, {"GB", 30}, {"GiB", 30}, {"T", 40}, {"TiB", 40},
    };
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u].suffix);
        if (len - i == ul && memcmp(s + i, units[u].suffix, ul) == 0) {
            if (units[u].shift && v > (ULLONG_MAX >> units[u].shift))
                return -1;
            *out = v << units[u].shift;
            return 0;
        }
    }
    return -1;
}

int drip__parse_duration(const char *s, size_t len, unsigned long long *ms)
{
    unsigned long long v = 0;
    size_t i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > 1000000000ULL)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (i == 0)
        return -1;
    const char *u = s + i;
    size_t ul = len - i;
    unsigned long long mul;
    if (ul == 2 && !memcmp(u, "ms", 2))
        mul = 1;
    else if (ul == 0 || (ul == 1 && u[0] == 's'))
        mul = 1000;
    else if (ul == 1 && u[0] == 'm')
        mul = 60000;
    else if (ul == 1 && u[0] == 'h')
        mul = 3600000;
    else
        return -1;
    *ms = v * mul;
    return 0;
}

static void *field(struct drip_options *o, size_t idx)
{
    size_t i = 0;
#define DRIP_OPT_PTR(name, type, def, help)                                                        \
    if (i++ == idx)                                                                                \
        return &o->name;
    DRIP_OPTION_TABLE(DRIP_OPT_PTR)
#undef DRIP_OPT_PTR
    return NULL;
}

/* A list option given again (suppressions, as valgrind's repeated --suppressions): each of val's
 * lines is added to the list in `field` (one path per line) unless it is there already. */
static int add_line(const char *name, char *field, const char *val, size_t len, char *err, size_t errlen)
{
    for (size_t a = 0; a < len;) {
        const char *nl = memchr(val + a, '\n', len - a);
        size_t b = nl ? (size_t)(nl - val) : len, n = b - a;
        bool have = false;
        for (const char *q = field; *q && !have;) {
            const char *e = strchr(q, '\n');
            size_t m = e ? (size_t)(e - q) : strlen(q);
            have = m == n && !memcmp(q, val + a, n);
            q += m + (e != NULL);
        }
        size_t used = strlen(field);
        if (n && !have) {
            if (used + 1 + n >= DRIP_OPT_STR_MAX) {
                err_set(err, errlen, "option ", name, strlen(name), ": the files' paths are too long together");
                return -1;
            }
            field[used] = '\n';
            memcpy(field + used + 1, val + a, n);
            field[used + 1 + n] = 0;
        }
        a = b + 1;
    }
    return 0;
}

static int set_index(struct drip_options *o, size_t idx, const char *val, size_t len, char *err,
                     size_t errlen)
{
    const struct drip_option_info *inf = &drip_option_infos[idx];
    void *p = field(o, idx);
    switch (inf->type) {
    case DRIP_OPT_BOOL:
        if ((len == 1 && (val[0] == '1' || val[0] == '0')) || (len == 4 && !memcmp(val, "true", 4)) ||
            (len == 5 && !memcmp(val, "false", 5))) {
            *(int *)p = (val[0] == '1' || val[0] == 't');
            return 0;
        }
        err_set(err, errlen, "option ", inf->name, strlen(inf->name), " takes 0 or 1");
        return -1;
    case DRIP_OPT_INT: {
        long v = 0;
        size_t i = 0;
        int neg = (len > 0 && val[0] == '-');
        if (neg)
            i = 1;
        if (i == len)
            goto bad_int;
        for (; i < len; i++) {
            if (val[i] < '0' || val[i] > '9' || v > (LONG_MAX - 9) / 10)
                goto bad_int;
            v = v * 10 + (val[i] - '0');
        }
        if (neg)
            v = -v;
        const struct drip_option_limit *lim = drip__option_limit(inf->name);
        if (lim && (v < lim->lo || v > lim->hi)) {
            char lo[24], hi[24], tail[64];
            ltoa10(lim->lo, lo);
            ltoa10(lim->hi, hi);
            tail[0] = 0;
            err_add(tail, sizeof tail, " takes ", 7);
            err_add(tail, sizeof tail, lo, strlen(lo));
            err_add(tail, sizeof tail, " to ", 4);
            err_add(tail, sizeof tail, hi, strlen(hi));
            err_add(tail, sizeof tail, ", not ", 6);
            err_set(err, errlen, "option ", inf->name, strlen(inf->name), tail);
            err_add(err, errlen, val, len);
            return -1;
        }
        *(long *)p = v;
        return 0;
    bad_int:
        err_set(err, errlen, "option ", inf->name, strlen(inf->name), " takes an integer");
        return -1;
    }
    case DRIP_OPT_SIZE:
        if (drip__parse_size(val, len, (unsigned long long *)p) == 0)
            return 0;
        err_set(err, errlen, "option ", inf->name, strlen(inf->name),
                " takes a size such as 512KiB or 64MiB");
        return -1;
    case DRIP_OPT_DURATION:
        if (drip__parse_duration(val, len, (unsigned long long *)p) == 0)
            return 0;
        err_set(err, errlen, "option ", inf->name, strlen(inf->name),
                " takes a duration such as 500ms, 5s or 2m");
        return -1;
    case DRIP_OPT_STR: {
        if (!strcmp(inf->name, "leak_check_heuristics")) {
            unsigned mask;
            if (drip__parse_heuristics(val, len, &mask) != 0) {
                err_set(err, errlen, "option ", inf->name, strlen(inf->name),
                        " takes all, none, or stdstring, length64, newarray, multipleinheritance joined by +");
                return -1;
            }
        }
        if (!strcmp(inf->name, "error_kinds")) {
            unsigned mask;
            if (drip__parse_error_kinds(val, len, &mask) != 0) {
                err_set(err, errlen, "option ", inf->name, strlen(inf->name),
                        " takes all, none, or definite, indirect, possible, reachable joined by +");
                return -1;
            }
        }
        const struct drip_option_limit *lim = drip__option_limit(inf->name);
        if (lim && lim->choices && !is_choice(lim->choices, val, len)) {
            err_set(err, errlen, "option ", inf->name, strlen(inf->name), " takes one of ");
            err_add(err, errlen, lim->choices, strlen(lim->choices));
            err_add(err, errlen, ", not ", 6);
            err_add(err, errlen, val, len);
            return -1;
        }
        if (!strcmp(inf->name, "suppressions") && len && *(char *)p)
            return add_line(inf->name, p, val, len, err, errlen);
        if (len >= DRIP_OPT_STR_MAX) {
            err_set(err, errlen, "option ", inf->name, strlen(inf->name), " is too long");
            return -1;
        }
        memset(p, 0, DRIP_OPT_STR_MAX);   /* no bytes of an older value left behind the new one */
        memcpy(p, val, len);
        return 0;
    }
    }
    return -1;
}

void drip__options_defaults(struct drip_options *o)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < drip_option_count; i++)
        set_index(o, i, drip_option_infos[i].def, strlen(drip_option_infos[i].def), NULL, 0);
}

int drip__options_set(struct drip_options *o, const char *name, size_t name_len, const char *val,
                      size_t val_len, char *err, size_t errlen)
{
    for (size_t i = 0; i < drip_option_count; i++) {
        const char *n = drip_option_infos[i].name;
        if (strlen(n) == name_len && memcmp(n, name, name_len) == 0) {
            if (!val) {
                if (drip_option_infos[i].type != DRIP_OPT_BOOL) {
                    err_set(err, errlen, "option ", n, name_len, " needs a value (name=value)");
                    return -1;
                }
                val = "1";
                val_len = 1;
            }
            return set_index(o, i, val, val_len, err, errlen);
        }
    }
    err_set(err, errlen, "unknown option '", name, name_len, "'");
    return -1;
}

static int is_sep(char c) { return c == ':' || c == ' ' || c == '\t' || c == '\n' || c == ','; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

/* 1 when s starts a new option: a name made of [a-z0-9_] followed by '=', or a known option's
 * name alone (a yes/no option). A ':' in front of one ends the value before it; any other ':'
 * belongs to the value (http=127.0.0.1:6060, log_path=/tmp/a:b), so every documented example
 * parses as written while "json=a.json:bogus=1" still fails on the unknown name. */
static int starts_option(const char *s)
{
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_')
        n++;
    if (!n)
        return 0;
    if (s[n] == '=')
        return 1;
    if (s[n] && !is_sep(s[n]))
        return 0;
    for (size_t i = 0; i < drip_option_count; i++)
        if (strlen(drip_option_infos[i].name) == n && !memcmp(drip_option_infos[i].name, s, n))
            return 1;
    return 0;
}

int drip__options_parse(struct drip_options *o, const char *s, char *err, size_t errlen)
{
    if (!s)
        return 0;
    while (*s) {
        while (*s && is_sep(*s))
            s++;
        if (!*s)
            break;
        const char *name = s;
        while (*s && !is_sep(*s) && *s != '=')
            s++;
        size_t name_len = (size_t)(s - name);
        const char *val = NULL;
        size_t val_len = 0;
        if (*s == '=') {
            val = ++s;
            /* a value may be quoted to hold separators: json='/tmp/a b.json' */
            if (*s == '\'' || *s == '"') {
                char q = *s++;
                val = s;
                while (*s && *s != q)
                    s++;
                val_len = (size_t)(s - val);
                if (*s != q) {
                    err_set(err, errlen, "unterminated quote in option '", name, name_len, "'");
                    return -1;
                }
                s++;
            } else {
                while (*s && !is_space(*s) && !(*s == ':' && starts_option(s + 1)))
                    s++;
                val_len = (size_t)(s - val);
            }
        }
        if (name_len == 0) {
            err_set(err, errlen, "empty option name in '", name, strlen(name), "'");
            return -1;
        }
        if (drip__options_set(o, name, name_len, val, val_len, err, errlen) != 0)
            return -1;
    }
    return 0;
}

void drip__listen_split(const char *spec, char *host, size_t hcap, char *port, size_t pcap)
{
    snprintf(host, hcap, "%s", "127.0.0.1");
    snprintf(port, pcap, "%s", "");
    const char *colon = strrchr(spec, ':');
    if (!colon) {
        snprintf(port, pcap, "%s", spec);
        return;
    }
    size_t hl = (size_t)(colon - spec);
    if (hl && spec[0] == '[' && spec[hl - 1] == ']')
        snprintf(host, hcap, "%.*s", (int)(hl - 2), spec + 1);
    else if (hl)
        snprintf(host, hcap, "%.*s", (int)hl, spec);
    snprintf(port, pcap, "%s", colon + 1);
}
