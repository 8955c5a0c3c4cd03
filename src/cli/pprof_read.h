/* pprof_read.h — reads a pprof profile (profile.proto), gzipped or raw, from a file or memory.
 *
 * The reader streams: gzip is inflated through a window and each top-level field is decoded as
 * it arrives, so memory holds the decoded tables plus the samples in a compact varint arena
 * (about the size of the samples' own encoding), never the whole file. Unknown fields are
 * skipped; anything that cannot be a valid profile (bad wire type, truncated data, a sample that
 * names a missing location, a string index out of range, ...) is rejected with a one-line
 * message. Labels are skipped: drip's views do not use them.
 *
 * CLI only: it allocates with libc and is not meant to run inside a traced process.
 */
#ifndef DRIP_CLI_PPROF_READ_H
#define DRIP_CLI_PPROF_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRIP_PPROF_NONE UINT32_MAX /* "no mapping" / "no function" in an index field */

struct drip_pprof_vtype {
    const char *type, *unit; /* "" when unset, never NULL */
};

struct drip_pprof_mapping {
    uint64_t id, start, limit, offset;
    const char *file, *build_id;
    bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct drip_pprof_function {
    uint64_t id;
    const char *name, *system_name, *filename;
    int64_t start_line;
};

/* One frame of a location; inline frames come callee first, caller last (as in the proto). */
struct drip_pprof_line {
    uint32_t function; /* index into functions, or DRIP_PPROF_NONE */
    int64_t line;
};

struct drip_pprof_location {
    uint64_t id, address;
    uint32_t mapping;            /* index into mappings, or DRIP_PPROF_NONE */
    uint32_t first_line, nlines; /* slice of lines[] */
};

/* A decoded profile. Strings point into the profile and live until drip__pprof_free. */
struct drip_pprof {
    struct drip_pprof_vtype *sample_types;
    size_t nsample_types;
    struct drip_pprof_vtype period_type;
    int64_t period, time_nanos, duration_nanos;
    const char *default_sample_type; /* NULL when the profile does not name one */
    const char *drop_frames, *keep_frames; /* "" when unset */
    const char **comments;
    size_t ncomments;
    struct drip_pprof_mapping *mappings;
    size_t nmappings;
    struct drip_pprof_location *locations;
    size_t nlocations;
    struct drip_pprof_function *functions;
    size_t nfunctions;
    struct drip_pprof_line *lines;
    size_t nlines;
    size_t nsamples;
    size_t max_depth; /* most locations in one sample */

    /* Private to pprof_read.c: the sample arena and the id -> index maps. */
    struct drip__pprof_priv *priv;
};

/* One sample as the iterator hands it out; arrays belong to the iterator. */
struct drip_pprof_entry {
    const uint32_t *locs; /* location indices, leaf first */
    size_t nlocs;
    const int64_t *values; /* nsample_types values */
};

struct drip_pprof_iter {
    const struct drip_pprof *p;
    size_t pos;
    uint32_t *locs;
    int64_t *values;
};

/* Reads the profile in file `path` into *out. On failure returns -1, leaves *out NULL and writes
 * a one-line message (without the "drip: " prefix, starting with the path) into err. */
int drip__pprof_read_file(const char *path, struct drip_pprof **out, char *err, size_t errlen);
/* Same for bytes in memory (which the profile does not keep); `name` prefixes messages. */
int drip__pprof_read_mem(const void *data, size_t len, const char *name, struct drip_pprof **out,
                        char *err, size_t errlen);
/* Frees a profile; NULL is fine. */
void drip__pprof_free(struct drip_pprof *p);

/* Index of sample type `type` ("inuse_space") or of its decimal position ("3"); -1 if none. */
int drip__pprof_find_type(const struct drip_pprof *p, const char *type);
/* The type shown when the user names none: default_sample_type if set and present, else the
 * last sample type (what pprof does). -1 only for a profile without sample types. */
int drip__pprof_default_type(const struct drip_pprof *p);

/* Iterates the samples in file order. init returns -1 on ENOMEM. next returns 1 with *s filled,
 * 0 at the end. */
int drip__pprof_iter_init(struct drip_pprof_iter *it, const struct drip_pprof *p);
int drip__pprof_next(struct drip_pprof_iter *it, struct drip_pprof_entry *s);
void drip__pprof_iter_done(struct drip_pprof_iter *it);

#endif
