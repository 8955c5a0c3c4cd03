/* suppress.h — LeakSanitizer's suppression format: one `leak:<pattern>` per line, `#` comments.
 * A pattern matches when it occurs in a frame's function name, source file or module path;
 * `*` matches any run of characters, a leading `^` / trailing `$` anchor the match. */
#ifndef DRIP_COMMON_SUPPRESS_H
#define DRIP_COMMON_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

struct drip_suppressions {
    char **patterns;
    uint64_t *hits;      /* blocks suppressed by each pattern */
    size_t n;
};

/* Parses `text` (len bytes). Returns 0, or -1 with "line N: ..." in err. */
int drip__suppressions_parse(struct drip_suppressions *s, const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses a file. Returns 0, or -1 with a one-line message in err. */
int drip__suppressions_load(struct drip_suppressions *s, const char *path, char *err, size_t errlen);
/* Index of the first pattern matching any frame, or -1. */
int drip__suppressions_match(const struct drip_suppressions *s, const struct drip_frame *frames, size_t n);
/* The pattern matcher itself (exposed for tests). */
int drip__template_match(const char *pattern, const char *s);
void drip__suppressions_free(struct drip_suppressions *s);
/* The LeakSanitizer pattern that suppresses a record with these frames (innermost first): the
 * innermost function outside the C/C++ runtime (libc, the loader, libstdc++, libgcc_s, drip),
 * anchored as ^name$, else the first module outside the runtime. One line: control characters
 * become '*'. 0, or -1 when no frame names anything but the runtime. */
int drip__suppression_pattern(const struct drip_frame *frames, size_t n, char *out, size_t cap);

#endif
