/* report.h — report.c: the leak report of the traced process (not src/common/report.h, which
 * renders a raw report into text and JSON). */
#ifndef DRIP_PRELOAD_REPORT_H
#define DRIP_PRELOAD_REPORT_H

#include "internal.h"

struct drip_render_out;
/* The leak report (text and/or JSON) from a fresh scan. 1 when definite or indirect leaks were
 * found. */
int drip__leak_report(int text_fd, int json_fd, int final);
/* The report at exit, to the destinations the options name. 1 when leaks were found. */
int drip__report(void);
/* After drip__report: a line saying which report file could not be written, or NULL. */
const char *drip__report_lost(void);
/* Where a report pattern goes (resolved, FILE.<pid> for a forked child); 1 when the path exists
 * and is not a regular file (written in place, never renamed). */
int drip__report_path(const char *pattern, char *path, size_t cap);
/* Runs `drip symbolize` on the raw report in memfd for the outputs in o; writes them here with
 * unnamed frames when it cannot run. 1 when the leak report found leaks. */
int drip__symbolize(int memfd, const struct drip_render_out *o);
void drip__suspects_json(int fd);

#endif
