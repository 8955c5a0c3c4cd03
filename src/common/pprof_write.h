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

#include "symbolize.h"
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
    pid_t pid;                 /* whose /proc/PID/maps gives the mappings */
    unsigned maps_key;         /* non-zero: reuse that pid's mappings read less than 1 s ago under
                                  the same key (the preload passes its module-set generation) */
};

/* Encodes the profile and writes it gzipped to fd. Returns 0 or -errno. */
int drip_pprof_write(int fd, const struct drip_pprof_sample *s, size_t n, const struct drip_pprof_meta *m,
                     struct drip_symbolizer *sym);

/* The legacy text heap profile (gperftools / Go debug=1) on w. */
void drip_pprof_write_text(struct drip_writer *w, const struct drip_pprof_sample *s, size_t n,
                           const struct drip_pprof_meta *m, struct drip_symbolizer *sym);

#endif
