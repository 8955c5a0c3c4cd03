/* fuzz_suppress.c — libFuzzer target for the suppressions parser and the pattern matcher
 * (src/common/suppress.c). The first byte chooses a mode:
 *   even: the rest is a suppressions file; parsed, then every pattern is matched against a few
 *         fixed frames; the parse's error message must be terminated; free must leave it empty;
 *   odd:  the rest is "pattern\nsubject": drip__template_match(pattern, subject), cross-checked
 *         against a simple reference matcher for patterns without '*' (substring / anchors). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

/* reference for '*'-free patterns: substring, '^' prefix, '$' suffix */
static int ref_match(const char *pat, const char *s)
{
    size_t pl = strlen(pat), sl = strlen(s);
    int start = pl && pat[0] == '^';
    if (start) {
        pat++;
        pl--;
    }
    int end = pl && pat[pl - 1] == '$';
    if (end)
        pl--;
    if (pl > sl)
        return 0;
    if (start && end)
        return pl == sl && !memcmp(pat, s, pl);
    if (start)
        return !memcmp(pat, s, pl);
    if (end)
        return !memcmp(pat, s + sl - pl, pl);
    for (size_t i = 0; i + pl <= sl; i++)
        if (!memcmp(s + i, pat, pl))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (mode == 0) {
        struct drip_suppressions s;
        char err[128];
        err[0] = 0;
        int rc = drip__suppressions_parse(&s, text, len, err, sizeof err);
        if (rc != 0) {
            if (rc != -1 || !memchr(err, 0, sizeof err) || !err[0] || s.n != 0 || s.patterns)
                abort();
            return 0;
        }
        static const struct drip_frame frames[] = {
            {0x1000, "main", "/src/main.c", 10, "/usr/bin/prog"},
            {0x2000, "std::vector<int>::push_back(int const&)", NULL, 0, "/usr/lib/libstdc++.so.6"},
            {0x3000, NULL, NULL, 0, NULL},
            {0x4000, "leak_*weird^name$", "/tmp/a b.c", 1, "/lib/x86_64-linux-gnu/libc.so.6"},
            {0x5000, "operator new(unsigned long)", NULL, 0, NULL, NULL, 0, "_Znwm"},
            {0x6000, "foo::Pool<int>::grab()", NULL, 0, NULL, NULL, 0, "_ZN3foo4PoolIiE4grabEv"},
            {0x7000, "__libc_start_call_main", NULL, 0, NULL},
        };
        for (size_t i = 0; i < s.n; i++) {
            if (!s.patterns[i] || !s.patterns[i][0] || s.hits[i] != 0)
                abort();
        }
        int m = drip__suppressions_match(&s, frames, sizeof frames / sizeof frames[0]);
        if (m < -1 || m >= (int)s.n)
            abort();
        drip__suppressions_free(&s);
        if (s.n || s.patterns || s.hits)
            abort();
        return 0;
    }
    const char *nl = memchr(text, '\n', len);
    if (!nl)
        return 0;
    size_t pl = (size_t)(nl - text), sl = len - pl - 1;
    if (memchr(text, 0, len))
        return 0;
    char *pat = strndup(text, pl), *subj = strndup(nl + 1, sl);
    if (!pat || !subj)
        abort();
    int got = drip__template_match(pat, subj);
    if (got != 0 && got != 1)
        abort();
    if (!strchr(pat, '*') && pl < 1024) {
        /* '^' or '$' inside the pattern (not as anchors) are literal characters */
        if (got != ref_match(pat, subj))
            abort();
    }
    /* a lone "*" matches everything, "^$" only the empty string */
    if (drip__template_match("*", subj) != 1 || drip__template_match("^$", subj) != (sl == 0))
        abort();
    free(pat);
    free(subj);
    return 0;
}
