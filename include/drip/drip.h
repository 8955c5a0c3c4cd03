/*
 * drip/drip.h — the program-side API of drip's tracker: Go's runtime.MemStats for C, heap
 * profiles on demand, and (later in this file) leak assertions for tests.
 *
 * Nothing to link: each call looks up libdrip.so's entry point at run time (dlsym, cached), so a
 * program built with these calls runs unchanged without drip. Without drip every function
 * returns -ENOSYS ("not tracked") and leaves its output zeroed.
 * Thread-safe. Error convention: 0 or -errno.
 */
#ifndef DRIP_DRIP_H
#define DRIP_DRIP_H

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The MemStats fields a C program can have. Live and total figures are exact (summed over the
 * allocation sites at the time of the call); peak_live_bytes is exact to within 64 KiB per
 * thread (threads report their changes in batches). In sampling mode the byte and object figures
 * are estimates scaled from the samples, as Go's are. */
struct drip_stats {
    uint64_t live_bytes;        /* Go: HeapAlloc, Alloc */
    uint64_t live_objects;      /* Go: HeapObjects */
    uint64_t total_alloc_bytes; /* Go: TotalAlloc */
    uint64_t mallocs;           /* Go: Mallocs */
    uint64_t frees;             /* Go: Frees */
    uint64_t peak_live_bytes;   /* highest live_bytes seen */
    uint64_t rss_bytes;         /* resident set of the process (Go: Sys is the closest) */
    uint64_t threads;           /* threads of the program alive now, main included */
    uint64_t sites;             /* distinct allocation stacks seen */
    uint64_t tracker_bytes;     /* memory drip itself uses inside the process */
    uint64_t sample_rate;       /* 0 when every allocation is recorded, else bytes per sample */
};

/* Looks up a libdrip.so entry point once; NULL when the process runs without drip. */
static inline void *drip__api(const char *name, void **cache, int *looked)
{
    if (!__atomic_load_n(looked, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(cache, dlsym(RTLD_DEFAULT, name), __ATOMIC_RELAXED);
        __atomic_store_n(looked, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(cache, __ATOMIC_RELAXED);
}

typedef int (*drip__stats_fn)(struct drip_stats *, size_t);
typedef int (*drip__path_fn)(const char *);

/* Fills *s. Returns 0, or -ENOSYS when the process is not tracked (s is zeroed). */
static inline int drip_read_stats(struct drip_stats *s)
{
    static void *cache;
    static int looked;
    drip__stats_fn fn = (drip__stats_fn)drip__api("drip_api_read_stats", &cache, &looked);
    memset(s, 0, sizeof *s);
    return fn ? fn(s, sizeof *s) : -ENOSYS;
}

/* Writes a heap profile (pprof profile.proto, gzipped) of the live heap and of every allocation
 * so far to path. Returns 0, -errno when the file cannot be written, -ENOSYS when not tracked. */
static inline int drip_write_profile(const char *path)
{
    static void *cache;
    static int looked;
    drip__path_fn fn = (drip__path_fn)drip__api("drip_api_write_profile", &cache, &looked);
    return fn ? fn(path) : -ENOSYS;
}

/* 1 when the process runs under drip's tracker, else 0. */
static inline int drip_tracked(void)
{
    static void *cache_;
    static int looked_;
    return drip__api("drip_api_read_stats", &cache_, &looked_) != NULL;
}

#ifdef __cplusplus
}
#endif

#endif
