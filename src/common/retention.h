/* retention.h — who holds each record (issue #16), from a raw report's retention lines (raw.h):
 * the roots named (a global by its symbol and definition, a stack slot by thread and function,
 * TLS, a register, a mapping), the paths whose roots have the same name merged, and for a
 * record the path that holds most of its bytes; the top retainers by retained size. Text for the
 * leak report, JSON for --json and the live endpoints. Allocates through libc; no locks. */
#ifndef DRIP_COMMON_RETENTION_H
#define DRIP_COMMON_RETENTION_H

#include "raw.h"
#include "writer.h"

struct drip_retention;

/* NULL when the raw report has no retention lines (or out of memory). */
struct drip_retention *drip__retention_new(const struct drip_raw *r, const struct drip_symbols *sym);
void drip__retention_free(struct drip_retention *t);

/* The record (kind, any of the sites): its best path as text lines (==pid== prefixed) or as the
 * JSON member `"retained_by": {...}, ` (nothing when it has no path). record_blocks: the
 * record's blocks, for "9,980 of 10,000 blocks". */
void drip__retention_text(struct drip_writer *w, struct drip_retention *t, int pid, int kind, const uint32_t *sites,
                         int nsites, uint64_t record_blocks);
void drip__retention_json(struct drip_writer *w, struct drip_retention *t, int kind, const uint32_t *sites, int nsites);

/* The top retainers: text (at most max lines; nothing when retained sizes were not asked for)
 * and the JSON members `"retainers": [...], "retained_sites": [...], ` (also for the live
 * endpoint /debug/drip/retainers). */
void drip__retention_retainers_text(struct drip_writer *w, struct drip_retention *t, int pid, int max);
void drip__retention_retainers_json(struct drip_writer *w, struct drip_retention *t);

/* log_roots: the chains of blocks of the `why` lines, as text. */
void drip__retention_why_text(struct drip_writer *w, struct drip_retention *t, int pid, int kind, const uint32_t *sites,
                             int nsites);

/* The live endpoints' documents (render.c, want=retainers and want=retained): the top
 * retainers as JSON; a pprof profile whose stacks are retention paths (the held allocation site
 * on top, each hop's site below it, the root at the bottom), values the bytes and blocks held. */
int drip__retention_write_json(const struct drip_raw *r, const struct drip_symbols *sym, int fd);
int drip__retention_write_pprof(const struct drip_raw *r, const struct drip_symbols *sym, int fd);

#endif
