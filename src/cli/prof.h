/* prof.h — what `drip top`, `drip diff` and `drip flame` share: a profile opened from a file or
 * an http:// URL, the sample type to show, frames named at function granularity exactly as
 * `go tool pprof` names them (so the figures agree), and value formatting.
 *
 * Naming (pprof's "functions" granularity): a frame is its function name; a location without a
 * function is "[file name of its mapping]", or "<unknown>" without one. Inline frames are
 * expanded, callee first. The profile's drop_frames / keep_frames are applied as pprof's
 * Profile.Prune does.
 */
#ifndef DRIP_CLI_PROF_H
#define DRIP_CLI_PROF_H

#include "args.h"
#include "pprof_read.h"
#include "writer.h"

#include <stddef.h>
#include <stdint.h>

/* Interned frame names: one id per distinct name, shared by the profiles of a diff. */
struct drip__names {
    char **s;
    size_t n, cap;
    uint32_t *ht; /* open addressing over ids + 1 (0 = empty) */
    size_t mask;
};

/* The id of name s[0..len), added if new. Exits with status 2 when out of memory (a CLI helper). */
uint32_t drip__names_intern(struct drip__names *nm, const char *s, size_t len);
void drip__names_free(struct drip__names *nm);

struct drip__prof {
    struct drip_pprof *p;
    const char *src;     /* as the user gave it */
    int type;            /* index of the sample type shown */
    const char *unit;    /* its unit */
    uint32_t *fn_node;   /* per function: name id */
    uint32_t *map_node;  /* per mapping: "[file]" id */
    uint32_t unknown_node;
    uint32_t *loc_skip;  /* per location: inline lines cut by drop_frames (callee side) */
    uint8_t *loc_prune;  /* per location: 1 prune it, 2 prune beneath it (pprof's Prune) */
    size_t max_frames;   /* bound on prof_frames' output */
};

/* Opens src (a file or http://host:port/path), picks sample type `type` (NULL: the profile's
 * default), and names its frames into nm. Prints "drip: ..." and returns 2 on failure, else 0. */
int drip__prof_open(struct drip__prof *pr, const char *src, const char *type, struct drip__names *nm);
void drip__prof_close(struct drip__prof *pr);

/* The frames of one sample as name ids, leaf first, after pruning; out holds max_frames ids. */
size_t drip__prof_frames(const struct drip__prof *pr, const struct drip_pprof_entry *e, uint32_t *out);

/* Formats v in the unit ("bytes" -> 1.50MiB, "nanoseconds" -> 1.50s, else 12345 or 1.23M). */
void drip__fmt_value(char *buf, size_t cap, int64_t v, const char *unit);
/* pprof's percentage: "  100%", "54.52%", " 0.5%" (always 6 columns). */
void drip__fmt_pct(char *buf, size_t cap, int64_t v, int64_t total);
/* "Nov 26, 2026 at 4:32am (UTC)" like pprof's Time: line. */
void drip__fmt_time(char *buf, size_t cap, int64_t nanos);

/* GETs an http:// or unix:/socket[:/path] URL (with DRIP_HTTP_TOKEN_FILE's bearer token, if
 * set); *body is malloc'ed. -1 with a one-line message (starting with the URL). */
int drip__http_get(const char *url, char **body, size_t *bodylen, char *err, size_t errlen);

#endif
