/* pprof_write.h — heap profiles in pprof's profile.proto, gzipped, the way Go writes them:
 * four sample types in Go's order (alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes), period type space/bytes, values already scaled when sampling, functions,
 * files and lines filled in, mappings with file names and build IDs. Also the legacy text form
 * (`?debug=1`). Allocates through libc: in a traced process, call it with the guard set. */
#ifndef DRIP_COMMON_PPROF_WRITE_H
#define DRIP_COMMON_PPROF_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "raw.h"
#include "writer.h"

enum { DRIP_PPROF_ALLOC_OBJECTS, DRIP_PPROF_ALLOC_SPACE, DRIP_PPROF_INUSE_OBJECTS, DRIP_PPROF_INUSE_SPACE };

struct drip_pprof_sample {
    const uintptr_t *frames;   /* return addresses, innermost first */
    int nframes;
    int64_t values[4];         /* in the order of the enum above, already scaled */
    int64_t block_size;        /* the `bytes` label: average block size (0: none) */
};

struct drip_pprof_meta {
    int default_alloc_space;   /* the allocs profile: default_sample_type = alloc_space */
    int64_t period;            /* 1 when every allocation is recorded, else the sampling rate */
    int64_t time_nanos, duration_nanos;
    const struct drip_raw *raw;  /* the mappings (its maps lines) and the modules' build IDs */
};

/* Encodes the profile and writes it gzipped to fd (uncompressed when built with DRIP_NO_ZLIB,
 * as inside the traced process). sym NULL or raw: no function names. Returns 0 or -errno. */
int drip__pprof_write(int fd, const struct drip_pprof_sample *s, size_t n, const struct drip_pprof_meta *m,
                      const struct drip_symbols *sym);

/* The legacy text heap profile (gperftools / Go debug=1) on w. */
void drip__pprof_write_text(struct drip_writer *w, const struct drip_pprof_sample *s, size_t n,
                            const struct drip_pprof_meta *m, const struct drip_symbols *sym);

#endif
