/* suppress_vg.h — suppress_vg.c: valgrind's suppression entries, for suppress.c. */
#ifndef DRIP_COMMON_SUPPRESS_VG_H
#define DRIP_COMMON_SUPPRESS_VG_H

#include <stddef.h>

#include "suppress.h"

/* The next line of text from *pos that is neither blank nor a `#` comment, both formats' rule:
 * 1 with its bounds [*a, *b) trimmed of blanks, *pos past it and *lineno counting every line
 * read; 0 at the end of the text. */
int drip__supp_next_line(const char *text, size_t len, size_t *pos, int *lineno, size_t *a, size_t *b);
/* Parses one entry whose "{" line ended just before text[*pos]; on return *pos is past its "}"
 * line and *lineno counts the lines read. *name: the entry's name (malloc'd). 0, or -1 with
 * "line N: ..." in err. */
int drip__vg_supp_parse(const char *text, size_t len, size_t *pos, int *lineno, struct drip_vg_supp **out,
                        char **name, char *err, size_t errlen);
/* A frame's name as valgrind's suppressions spell it: the symbol table's (mangled, with its
 * version), "(below main)" for glibc's start-up code; NULL when the frame has no name. */
struct drip_frame;
const char *drip__vg_frame_name(const struct drip_frame *fr);
/* 1 when the frame is one of C++'s operator new (new, new[], nothrow, aligned: `_Zn...`), which
 * valgrind replaces where drip's stacks show libstdc++'s own, calling malloc. */
int drip__vg_is_operator_new(const struct drip_frame *fr);
/* glibc functions memcheck wraps (shared/vg_replace_strmem.c: putenv, setenv, unsetenv, to check
 * their argument): the wrapper, in memcheck's preload object, is a frame of valgrind's stacks
 * just outside the real function's. The name of the wrapper that follows frame k of f[0..n) in
 * valgrind's stack, or NULL. */
const char *drip__vg_wrapped(const struct drip_frame *f, size_t k, size_t n);
int drip__vg_supp_match(const struct drip_vg_supp *v, unsigned kind, const struct drip_frame *frames, size_t n);
void drip__vg_supp_free(struct drip_vg_supp *v);
/* A record's suppression in valgrind's format (--gen-suppressions), bare as valgrind prints it:
 * kind is drip's kind name (definite, indirect, possible, reachable). In render.c (the writer's
 * side), so that the parser stays free of it. */
struct drip_writer;
void drip__vg_supp_write(struct drip_writer *w, const char *kind, const struct drip_frame *frames, int n);

#endif
