/* fuzz_options.c — libFuzzer target for the DRIP_OPTIONS parser (src/common/options.c).
 * The input is one DRIP_OPTIONS string. Checks beyond "no crash" (ASan/UBSan):
 *  - on success every STR option is NUL-terminated inside its buffer;
 *  - on failure the message is NUL-terminated, non-empty and fits the buffer;
 *  - parsing is deterministic: a second parse from defaults gives the same bytes and status,
 *    and applying an accepted string a second time changes nothing;
 *  - drip__parse_size / drip__parse_duration on the raw input never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct drip_options a, b;
    char err_a[96], err_b[96];
    memset(err_a, 'X', sizeof err_a);
    err_a[0] = 0;
    drip__options_defaults(&a);
    int ra = drip__options_parse(&a, s, err_a, sizeof err_a);
    err_b[0] = 0;
    drip__options_defaults(&b);
    int rb = drip__options_parse(&b, s, err_b, sizeof err_b);
    if (ra != rb || memcmp(&a, &b, sizeof a) != 0)
        abort();
    if (ra != 0) {
        if (ra != -1 || !memchr(err_a, 0, sizeof err_a) || err_a[0] == 0 || strcmp(err_a, err_b))
            abort();
    } else {
#define CHECK_STR_BOOL(n)
#define CHECK_STR_INT(n)
#define CHECK_STR_SIZE(n)
#define CHECK_STR_DURATION(n)
#define CHECK_STR_STR(n) if (!memchr(a.n, 0, sizeof a.n)) abort();
#define CHECK_FIELD(name, type, def, help) CHECK_STR_##type(name)
        DRIP_OPTION_TABLE(CHECK_FIELD)
        /* applying the same string again changes nothing (every pair just sets its option) */
        struct drip_options c = a;
        if (drip__options_parse(&c, s, err_b, sizeof err_b) != 0 || memcmp(&a, &c, sizeof a) != 0)
            abort();
    }
    /* a tiny error buffer must still be terminated, never overrun */
    char tiny[4];
    drip__options_defaults(&b);
    if (drip__options_parse(&b, s, tiny, sizeof tiny) != 0 && !memchr(tiny, 0, sizeof tiny))
        abort();
    unsigned long long v;
    (void)drip__parse_size(s, size, &v);
    (void)drip__parse_duration(s, size, &v);
    free(s);
    return 0;
}
