/* test_fastfmt.c — src/common/fastfmt.c: drip__fastfmt gives vsnprintf's bytes for the
 * directives it knows and declines the rest; the hex and number readers give strtoull's values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastfmt.h"

/* drip__fastfmt's result for fmt, or -1; out holds its text. */
static int fast(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = drip__fastfmt(out, cap, fmt, ap);
    va_end(ap);
    return n;
}

#define SAME(fmt, ...)                                                                             \
    do {                                                                                           \
        char a_[256], b_[256];                                                                     \
        int n_ = fast(a_, sizeof a_, fmt, __VA_ARGS__);                                            \
        int m_ = snprintf(b_, sizeof b_, fmt, __VA_ARGS__);                                        \
        assert_int_equal(n_, m_);                                                                  \
        assert_string_equal(a_, b_);                                                               \
    } while (0)

static void known_directives(void **state)
{
    (void)state;
    SAME("%s", "plain");
    SAME("a%sb%dc%ud", "x", -42, 42u);
    SAME("%d %d %d", INT_MIN, INT_MAX, 0);
    SAME("%ld %lld %lu %llu", LONG_MIN, LLONG_MIN, ULONG_MAX, ULLONG_MAX);
    SAME("%x %lx %llx", 0u, 0xdeadbeefUL, 0xffffffffffffffffULL);
    SAME("%zu %c %% %i", (size_t)123456789, 'q', 7);
    SAME("site id=%u frames=%lx,%lx\n", 17u, 0x7f12345678UL, 0x1UL);
    SAME("%s", "");
    char out[8];
    assert_int_equal(fast(out, sizeof out, "no directive"), -1);   /* longer than the buffer */
    assert_int_equal(fast(out, sizeof out, "1234567"), 7);
    assert_string_equal(out, "1234567");
}

static void declined(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(fast(out, sizeof out, "%5d", 3), -1);
    assert_int_equal(fast(out, sizeof out, "%.1f", 2.5), -1);
    assert_int_equal(fast(out, sizeof out, "%-3s", "a"), -1);
    assert_int_equal(fast(out, sizeof out, "%p", (void *)out), -1);
    assert_int_equal(fast(out, sizeof out, "%zd", (ssize_t)-1), -1);
    assert_int_equal(fast(out, sizeof out, "%s", (char *)NULL), -1);   /* glibc's "(null)" */
    assert_int_equal(fast(out, sizeof out, "%04x", 5u), -1);
}

static void hex_list(void **state)
{
    (void)state;
    const char *cases[] = {"1f,abc,0", "7fffdeadbeef", "ffffffffffffffff,1", "10000000000000000,2", "0x10,3",
                           "ABC,4", " 5,6", "12zz,7", ",8"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *p = cases[c], *end = p + strlen(p), *q = cases[c];
        while (p < end) {
            char *e;
            uintptr_t want = (uintptr_t)strtoull(q, &e, 16);
            const char *next = e < end && *e == ',' ? e + 1 : end;
            assert_int_equal(drip__hex_next(&p, end), want);
            assert_ptr_equal(p, next);
            q = next;
        }
    }
}

static void numbers(void **state)
{
    (void)state;
    const char *dec[] = {"0", "123", "18446744073709551615", "99999999999999999999", "-5", "12a", "", "+7"};
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++)
        assert_int_equal(drip__num_scan(dec[i], strlen(dec[i]), 10), strtoull(dec[i], NULL, 10));
    const char *hex[] = {"0", "7f3a", "ffffffffffffffff", "1ffffffffffffffff", "x1", "AB"};
    for (size_t i = 0; i < sizeof hex / sizeof hex[0]; i++)
        assert_int_equal(drip__num_scan(hex[i], strlen(hex[i]), 16), strtoull(hex[i], NULL, 16));
    /* a value in the middle of a line: only its own bytes are digits */
    const char *line = "pid=4242 ppid=1";
    assert_int_equal(drip__num_scan(line + 4, 4, 10), 4242);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_directives), cmocka_unit_test(declined), cmocka_unit_test(hex_list),
        cmocka_unit_test(numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
