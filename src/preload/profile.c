/* profile.c — what the depot's per-site counters tell while the program runs: MemStats-style
 * figures (drip_read_stats, /metrics, the monitor) and heap profiles (/debug/pprof/heap, the
 * --profile file, drip_write_profile). Runs on drip's thread or in the API caller's thread with
 * the guard set: it reads /proc and allocates through libc, untracked.
 */
#include "internal.h"
#include "arena.h"
#include "counters.h"
#include "depot.h"
#include "export.h"
#include "hooks.h"
#include "modules.h"
#include "profile.h"
#include "report.h"
#include "threads.h"
#include "drip/drip.h"
#include "pprof_write.h"
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Virtual and resident size of the process, in bytes, from /proc/self/statm (0 if unreadable). */
void drip__statm(uint64_t *vsz, uint64_t *rss)
{
    char buf[128];
    *vsz = *rss = 0;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = 0;
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    *vsz = (uint64_t)size * page;
    *rss = (uint64_t)resident * page;
}

/* Go's scaleHeapSample (runtime/pprof/protomem.go): a block of average size a was sampled with
 * probability 1 - exp(-a/rate), so counts and bytes are divided by it. */
static void unsample(int64_t *count, int64_t *bytes)
{
    double rate = (double)drip__opt.sample;
    if (rate <= 1 || *count <= 0 || *bytes <= 0)
        return;
    double avg = (double)*bytes / (double)*count;
    double scale = 1.0 / (1.0 - exp(-avg / rate));
    *count = (int64_t)((double)*count * scale + 0.5);
    *bytes = (int64_t)((double)*bytes * scale + 0.5);
}

/* A site's four figures, scaled when sampling. */
static void site_values(struct drip__site *s, int64_t (*pend)[4], int64_t v[4])
{
    int64_t c[4];
    drip__site_counts(s, pend, c);
    int64_t lb = c[0] - c[2], lo = c[1] - c[3];
    v[DRIP_PPROF_ALLOC_OBJECTS] = c[1];
    v[DRIP_PPROF_ALLOC_SPACE] = c[0];
    v[DRIP_PPROF_INUSE_OBJECTS] = lo > 0 ? lo : 0;
    v[DRIP_PPROF_INUSE_SPACE] = lb > 0 ? lb : 0;
    unsample(&v[DRIP_PPROF_ALLOC_OBJECTS], &v[DRIP_PPROF_ALLOC_SPACE]);
    unsample(&v[DRIP_PPROF_INUSE_OBJECTS], &v[DRIP_PPROF_INUSE_SPACE]);
}

void drip__stats(struct drip_stats *out)
{
    memset(out, 0, sizeof *out);
    uint32_t n = drip__depot_count();
    int64_t (*pend)[4] = drip__counters_pending_alloc(n);
    for (uint32_t id = 1; id <= n; id++) {
        struct drip__site *s = drip__depot_get(id);
        if (!s)
            continue;
        int64_t v[4];
        site_values(s, pend, v);
        out->live_bytes += (uint64_t)v[DRIP_PPROF_INUSE_SPACE];
        out->live_objects += (uint64_t)v[DRIP_PPROF_INUSE_OBJECTS];
        out->total_alloc_bytes += (uint64_t)v[DRIP_PPROF_ALLOC_SPACE];
        out->mallocs += (uint64_t)v[DRIP_PPROF_ALLOC_OBJECTS];
    }
    free(pend);
    out->frees = out->mallocs - out->live_objects;
    out->peak_live_bytes = drip__peak_live();
    if (out->peak_live_bytes < out->live_bytes)
        out->peak_live_bytes = out->live_bytes;
    uint64_t vsz;
    drip__statm(&vsz, &out->rss_bytes);
    drip__threads_lock();
    for (struct drip__thread *t = drip__threads_list(); t; t = t->next)
        out->threads += atomic_load(&t->state) == DRIP_THREAD_RUNNING;
    drip__threads_unlock();
    out->sites = n;
    out->tracker_bytes = drip__arena_mapped();
    out->sample_rate = drip__opt.sample;
}

/* One pprof sample per site that has allocated anything. The array and the frames belong to the
 * depot (sites live as long as the process). */
struct drip_pprof_sample *drip__profile_snapshot(size_t *count)
{
    uint32_t n = drip__depot_count();
    int64_t (*pend)[4] = drip__counters_pending_alloc(n);
    struct drip_pprof_sample *s = calloc(n ? n : 1, sizeof *s);
    size_t k = 0;
    for (uint32_t id = 1; s && id <= n; id++) {
        struct drip__site *site = drip__depot_get(id);
        if (!site)
            continue;
        int64_t c[4];
        drip__site_counts(site, pend, c);
        uint64_t ab = (uint64_t)c[0], ao = (uint64_t)c[1];
        if (!ao)
            continue;
        s[k].frames = site->frames;
        s[k].nframes = (int)site->depth;
        site_values(site, pend, s[k].values);
        s[k].block_size = (int64_t)(ab / ao);
        k++;
    }
    free(pend);
    *count = k;
    return s;
}

/* The samples as raw-report lines (with their stacks) and the profile's meta line. */
static void raw_samples(struct drip_writer *w, struct drip__siteset *set, const struct drip_pprof_sample *s, size_t n,
                        const uint32_t *ids, long long duration_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    drip__printf(w, "pprof period=%lld time=%lld duration=%lld maps_key=%u\n",
                 (long long)(drip__opt.sample ? (int64_t)drip__opt.sample : 1),
                 (long long)ts.tv_sec * 1000000000 + ts.tv_nsec, duration_ms * 1000000, drip__modules_generation() + 1);
    for (size_t i = 0; i < n; i++) {
        drip__printf(w, "sample site=%u v=%lld,%lld,%lld,%lld block_size=%lld\n", ids[i], (long long)s[i].values[0],
                     (long long)s[i].values[1], (long long)s[i].values[2], (long long)s[i].values[3],
                     (long long)s[i].block_size);
        drip__raw_site(w, set, ids[i]);
    }
}

/* The site id of each sample (the snapshot keeps the depot's frames pointer). */
static uint32_t *sample_ids(const struct drip_pprof_sample *s, size_t n)
{
    uint32_t *ids = calloc(n ? n : 1, sizeof *ids);
    uint32_t count = drip__depot_count(), id = 1;
    for (size_t i = 0; ids && i < n; i++) {
        while (id <= count && (!drip__depot_get(id) || drip__depot_get(id)->frames != s[i].frames))
            id++;
        ids[i] = id <= count ? id : 0;
    }
    return ids;
}

void drip__raw_profile(struct drip_writer *w, struct drip__siteset *set, long long duration_ms,
                       const struct drip_pprof_sample *p0, size_t n0)
{
    (void)p0;
    (void)n0;
    size_t n;
    struct drip_pprof_sample *s = drip__profile_snapshot(&n);
    uint32_t *ids = s ? sample_ids(s, n) : NULL;
    if (ids)
        raw_samples(w, set, s, n, ids, duration_ms);
    free(ids);
    free(s);
}

/* Writes samples as a pprof profile (or its text form) on fd, through the symbolizer. */
static int write_samples(int fd, struct drip_pprof_sample *s, size_t n, int allocs_default, int text,
                         long long duration_ms)
{
    int memfd = drip__raw_memfd();
    if (memfd < 0)
        return -errno;
    uint32_t *ids = sample_ids(s, n);
    struct drip_writer w;
    drip__writer_fd(&w, memfd);
    struct drip__siteset set;
    drip__siteset_init(&set);
    drip__raw_header(&w, text ? "pprof_text" : "pprof");
    if (allocs_default)
        drip__puts(&w, "want what=pprof allocs=1\n");
    drip__raw_modules(&w, 1);
    if (ids)
        raw_samples(&w, &set, s, n, ids, duration_ms);
    drip__puts(&w, "end\n");
    drip__siteset_free(&set);
    free(ids);
    int rc = -drip__flush(&w);
    if (!rc) {
        struct drip_render_out o = {-1, -1, -1, fd, NULL};
        drip__symbolize(memfd, &o);
    }
    close(memfd);
    return rc;
}

int drip__profile_write(int fd, int allocs_default, int text)
{
    size_t n;
    struct drip_pprof_sample *s = drip__profile_snapshot(&n);
    if (!s)
        return -ENOMEM;
    int rc = write_samples(fd, s, n, allocs_default, text, 0);
    free(s);
    return rc;
}

int drip__profile_write_delta(int fd, int allocs_default, const struct drip_pprof_sample *p0, size_t n0,
                              long long duration_ms)
{
    size_t n;
    struct drip_pprof_sample *s = drip__profile_snapshot(&n);
    if (!s)
        return -ENOMEM;
    /* both snapshots list sites in id order and p0's sites are a subsequence of today's (sites
     * are never removed, and a site's frames never move): one walk matches them */
    size_t j = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (j < n0 && p0[j].frames == s[i].frames) {
            for (int t = 0; t < 4; t++)
                s[i].values[t] -= p0[j].values[t];
            j++;
        }
        int any = 0;
        for (int t = 0; t < 4; t++)
            any |= s[i].values[t] != 0;
        if (any)
            s[k++] = s[i];
    }
    int rc = write_samples(fd, s, k, allocs_default, 0, duration_ms);
    free(s);
    return rc;
}

/* ---- the API behind include/drip/drip.h ------------------------------------------------------ */
DRIP_EXPORT int drip_api_read_stats(struct drip_stats *out, size_t size)
{
    if (!atomic_load(&drip__g.initialised))
        return -ENOSYS;
    struct drip_stats s;
    struct drip__entry e = drip__enter();
    drip__stats(&s);
    drip__leave(e);
    memcpy(out, &s, size < sizeof s ? size : sizeof s);
    return 0;
}

DRIP_EXPORT int drip_api_write_profile(const char *path)
{
    if (!atomic_load(&drip__g.initialised))
        return -ENOSYS;
    struct drip__entry e = drip__enter();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : drip__profile_write(fd, 0, 0);
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = -errno;
    drip__leave(e);
    return rc;
}
