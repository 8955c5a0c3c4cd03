/* report.h — the leak report from a raw report (raw.h): groups merged by symbolized stack,
 * suppressions applied, the text report (valgrind's shape) and the JSON report. Used by
 * `drip symbolize` with libdw's names and, when no symbolizer could be started, by the traced
 * process itself with module+offset names (drip__raw_symbols). Allocates through libc. */
#ifndef DRIP_COMMON_REPORT_H
#define DRIP_COMMON_REPORT_H

#include "raw.h"
#include "writer.h"

/* Writes the text report on text and the JSON on json (either may be NULL). note: a line the
 * text report prints after its first line (NULL: none). Returns 1 when definite or indirect leaks
 * that no suppression matched were found, else 0. */
int drip__report_write(const struct drip_raw *r, const struct drip_symbols *sym, struct drip_writer *text,
                       struct drip_writer *json, const char *note);

/* The growth suspects as a JSON array with symbolized stacks. */
void drip__report_suspects_json(struct drip_writer *w, const struct drip_raw *r, const struct drip_symbols *sym);

#endif
