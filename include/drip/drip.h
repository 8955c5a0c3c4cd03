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
#include <unistd.h>

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

/* ---- leak assertions for tests (goleak and TestNoMemoryLeak for C) ---------------------------
 *
 *     drip_check_t c;
 *     drip_check_begin(&c);
 *     code_under_test();
 *     drip_check_result_t r;
 *     drip_check_end(&c, &r);          // r.leaked_blocks, r.threads_running ...
 *
 * or, in any test framework:  assert_true(DRIP_NO_LEAKS(code_under_test()));
 * A leak is a block allocated inside the scope (by any thread) that is still live at its end, or
 * a thread started inside the scope that is still running (drip_check_end waits for such threads
 * up to thread_wait_ms first, as goleak does) or finished without being joined or detached.
 * Scopes nest. What leaked is printed on stderr, with allocation stacks. */
typedef struct drip_check {
    uint32_t generation;
    uint32_t started;
} drip_check_t;

typedef struct drip_check_result {
    uint64_t leaked_bytes, leaked_blocks;  /* allocated in the scope, still live */
    uint64_t ignored_bytes, ignored_blocks;/* the same, at sites matching an ignore pattern */
    uint64_t threads_running;              /* started in the scope, still running */
    uint64_t threads_unjoined;             /* started in the scope, finished, never joined/detached */
} drip_check_result_t;

struct drip_check_options {
    const char *const *ignore;  /* NULL-terminated; LSan-style patterns matched against the
                                   functions of a block's allocation stack */
    int thread_wait_ms;         /* how long to wait for the scope's threads to end (default 1000) */
    int quiet;                  /* 1: print nothing */
};

typedef int (*drip__check_begin_fn)(drip_check_t *);
typedef int (*drip__check_end_fn)(drip_check_t *, const struct drip_check_options *, drip_check_result_t *, size_t);

/* Starts a scope. Returns 0, or -ENOSYS when not tracked (the scope then checks nothing). */
static inline int drip_check_begin(drip_check_t *c)
{
    static void *cache;
    static int looked;
    drip__check_begin_fn fn = (drip__check_begin_fn)drip__api("drip_api_check_begin", &cache, &looked);
    memset(c, 0, sizeof *c);
    return fn ? fn(c) : -ENOSYS;
}

/* Ends a scope with options (NULL: defaults). Returns 0 when the scope is clean, 1 when it leaked
 * (r says what, stderr shows where), -ENOSYS when not tracked, -EINVAL for a scope never begun. */
static inline int drip_check_end_opts(drip_check_t *c, const struct drip_check_options *o, drip_check_result_t *r)
{
    static void *cache;
    static int looked;
    drip__check_end_fn fn = (drip__check_end_fn)drip__api("drip_api_check_end", &cache, &looked);
    memset(r, 0, sizeof *r);
    return fn ? fn(c, o, r, sizeof *r) : -ENOSYS;
}

static inline int drip_check_end(drip_check_t *c, drip_check_result_t *r) { return drip_check_end_opts(c, NULL, r); }

/* 1 when `stmt` leaves no leak behind (or when it cannot be checked: not under drip, said on
 * stderr once), 0 when it does. GNU C statement expression: gcc and clang. */
#define DRIP_NO_LEAKS(stmt)                                                                          \
    __extension__({                                                                              \
        drip_check_t drip_c_;                                                                    \
        drip_check_result_t drip_r_;                                                             \
        int drip_b_ = drip_check_begin(&drip_c_);                                                \
        stmt;                                                                                    \
        int drip_e_ = drip_b_ == 0 ? drip_check_end(&drip_c_, &drip_r_) : drip_b_;              \
        if (drip_e_ == -ENOSYS)                                                                  \
            drip__not_tracked_note();                                                            \
        drip_e_ != 1;                                                                            \
    })

static inline void drip__not_tracked_note(void)
{
    static int said;
    if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED)) {
        static const char msg[] = "drip: not running under drip (drip run or LD_PRELOAD=libdrip.so): leak checks are skipped\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
    }
}

/* ---- allocations per operation (testing.B's ReportAllocs for C) ------------------------------
 * Runs fn(arg) n times and reports the mean allocations and bytes allocated per call, process
 * wide (as Go's figures are). Returns 0, or -ENOSYS when not tracked. */
static inline int drip_allocs_per_op(void (*fn)(void *), void *arg, long n, double *allocs_per_op, double *bytes_per_op)
{
    struct drip_stats a, b;
    int rc = drip_read_stats(&a);
    for (long i = 0; i < n; i++)
        fn(arg);
    if (rc == 0)
        rc = drip_read_stats(&b);
    *allocs_per_op = rc == 0 && n > 0 ? (double)(b.mallocs - a.mallocs) / (double)n : 0;
    *bytes_per_op = rc == 0 && n > 0 ? (double)(b.total_alloc_bytes - a.total_alloc_bytes) / (double)n : 0;
    return rc;
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
