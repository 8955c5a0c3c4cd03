/* suppress.h — suppression files in two formats, which may be mixed in one file:
 *  - LeakSanitizer's: one `leak:<pattern>` per line, `#` comments. A pattern matches when it
 *    occurs in a frame's function name, source file or module path; `*` matches any run of
 *    characters, a leading `^` / trailing `$` anchor the match. Never suppresses reachable blocks.
 *  - valgrind's: `{ name / Memcheck:Leak / [match-leak-kinds: K,...] / frame lines / }`, frame
 *    lines `fun:`, `obj:`, `src:` (glob with `*` and `?`, whole name) or `...` (any frames),
 *    matched from the innermost frame on. valgrind's stacks start in the allocation function
 *    (malloc, operator new), drip's in its caller: an entry matches with or without such a first
 *    frame. A fun: pattern of symbol characters (letters, digits, `_ . $ @`, wildcards) is
 *    matched as valgrind matches it, against the frame's symbol name (mangled, with its version:
 *    drip_frame.symbol, else function); one written demangled (`::`, parentheses, spaces) is
 *    drip's extension, matched against the demangled name (valgrind never matches it). Entries
 *    for other kinds (Memcheck:Cond, Helgrind:...) are read and never match. */
#ifndef DRIP_COMMON_SUPPRESS_H
#define DRIP_COMMON_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

struct drip_vg_supp;

struct drip_suppressions {
    char **patterns;     /* LeakSanitizer: the pattern; valgrind: the entry's name */
    uint64_t *hits;      /* blocks suppressed by each pattern */
    struct drip_vg_supp **vg;   /* per entry: NULL for a LeakSanitizer line; NULL array: none */
    size_t n;
};

/* The kinds, for drip__suppressions_match_kind. */
enum { DRIP_SUPP_DEFINITE = 1, DRIP_SUPP_INDIRECT = 2, DRIP_SUPP_POSSIBLE = 4, DRIP_SUPP_REACHABLE = 8 };

/* Parses `text` (len bytes). Returns 0, or -1 with "line N: ..." in err. */
int drip__suppressions_parse(struct drip_suppressions *s, const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses the files, one path per line (option suppressions, given once per file), into
 * one set in their order. Returns 0, or -1 with a one-line message naming the file in err. */
int drip__suppressions_load(struct drip_suppressions *s, const char *path, char *err, size_t errlen);
/* Index of the first pattern matching any frame, or -1 (valgrind entries: as a definite leak). */
int drip__suppressions_match(const struct drip_suppressions *s, const struct drip_frame *frames, size_t n);
/* The same for a record of one kind (DRIP_SUPP_*): LeakSanitizer lines never match reachable
 * records, valgrind entries match the kinds their match-leak-kinds line names (default: all). */
int drip__suppressions_match_kind(const struct drip_suppressions *s, unsigned kind, const struct drip_frame *frames,
                                  size_t n);
/* 1 when the set holds a valgrind entry (reachable records then need their whole stacks). */
int drip__suppressions_have_vg(const struct drip_suppressions *s);
/* valgrind's frame-name glob: the whole of s against p, `*` any run, `?` one character. */
int drip__vg_glob(const char *p, const char *s);
/* The pattern matcher itself (exposed for tests). */
int drip__template_match(const char *pattern, const char *s);
void drip__suppressions_free(struct drip_suppressions *s);
/* The LeakSanitizer pattern that suppresses a record with these frames (innermost first): the
 * innermost function outside the C/C++ runtime (libc, the loader, libstdc++, libgcc_s, drip),
 * anchored as ^name$, else the first module outside the runtime. One line: control characters
 * become '*'. 0, or -1 when no frame names anything but the runtime. */
int drip__suppression_pattern(const struct drip_frame *frames, size_t n, char *out, size_t cap);

#endif
