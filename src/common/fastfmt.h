/* fastfmt.h — fastfmt.c: printf for the plain directives reports are made of, without libc's
 * stdio machinery (writer.c's drip__vprintf uses it first), and the hex numbers of raw reports
 * read back. */
#ifndef DRIP_COMMON_FASTFMT_H
#define DRIP_COMMON_FASTFMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Formats fmt into out (at most cap bytes, NUL included) as vsnprintf would, when every directive
 * is one of %% %c %s %d %i %u %x with no flag, width or precision and an optional l, ll or z, no
 * string argument is NULL and the result fits. Returns its length; -1 otherwise, with ap in an
 * unspecified state (the caller formats from a copy and falls back to vsnprintf). */
int drip__fastfmt(char *out, size_t cap, const char *fmt, va_list ap);

/* The next number of a comma-separated hex list in [*p, end) (the raw report's frame lists), as
 * strtoull(*p, &q, 16) reads it; *p moves past the comma after it, or to end. The lower-case
 * digits drip writes are read here, anything else by strtoull. */
uintptr_t drip__hex_next(const char **p, const char *end);
/* strtoull(s, NULL, base) (base 10 or 16) for a value of len bytes: digits read here when they
 * are the whole value, anything else by strtoull. */
unsigned long long drip__num_scan(const char *s, size_t len, int base);

#endif
