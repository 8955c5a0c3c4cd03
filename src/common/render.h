/* render.h — everything a raw report (raw.h) asks for, written out: the leak report (text and
 * JSON), the heap profile (pprof, or its text form), the growth suspects, names of addresses.
 * The one entry point of both `drip symbolize` (libdw names) and the traced process's own
 * fallback when no symbolizer could be started (module+offset names). */
#ifndef DRIP_COMMON_RENDER_H
#define DRIP_COMMON_RENDER_H

#include "raw.h"

struct drip_render_out {
    int text_fd, json_fd;   /* the leak report (want=exit|leaks); -1: not written */
    int profile_fd;         /* the heap profile at exit (want=exit with samples); -1: none */
    int out_fd;             /* the answer of want=pprof|pprof_text|suspects|names */
    const char *note;       /* a line for the text report's head (NULL: none) */
};

/* Writes what r->want asks for. *leaked = 1 when the leak report found unsuppressed definite or
 * indirect leaks. Returns 0, or -errno of the first failed write. */
int drip__render(const struct drip_raw *r, const struct drip_symbols *sym, const struct drip_render_out *o, int *leaked);

#endif
