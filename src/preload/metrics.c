/* metrics.c — drip's figures as text: the Prometheus exposition (/metrics), MemStats as JSON
 * (/debug/drip/stats) and the monitor's line. Runs on drip's own thread (guard held): it may
 * allocate through libc, read /proc and symbolize.
 */
#include "internal.h"
#include "depot.h"
#include "export.h"
#include "growth.h"
#include "metrics.h"
#include "profile.h"
#include "drip/drip.h"
#include "symbolize.h"
#include "writer.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void metric(struct drip_writer *w, const char *name, const char *type, const char *help, double v)
{
    drip__printf(w, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* Read once per process (the pid changes in a forked child, which has no server anyway). */
static double process_start_seconds(void)
{
    static double start;
    static pid_t of;
    struct stat st;
    char path[64];
    if (of == getpid())
        return start;
    snprintf(path, sizeof path, "/proc/%d", getpid());
    start = stat(path, &st) == 0 ? (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9 : 0;
    of = getpid();
    return start;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");   /* drip's thread: its allocations are untracked */
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n > 0 ? n - 1 : 0;   /* less the directory's own descriptor */
}

/* One buffered writer, so the whole exposition leaves in a few write(2) calls rather than one
 * dprintf (with its own fstat and lseek) per line. */
void drip__write_metrics(int fd)
{
    struct drip_writer wr, *w = &wr;
    drip__writer_fd(w, fd);
    struct drip_stats s;
    drip__stats(&s);
    metric(w, "drip_heap_inuse_bytes", "gauge", "Bytes in live heap blocks (Go: go_memstats_heap_alloc_bytes).", (double)s.live_bytes);
    metric(w, "drip_heap_inuse_objects", "gauge", "Live heap blocks (Go: go_memstats_heap_objects).", (double)s.live_objects);
    metric(w, "drip_heap_peak_inuse_bytes", "gauge", "Highest drip_heap_inuse_bytes seen, to within 64 KiB per thread.", (double)s.peak_live_bytes);
    metric(w, "drip_heap_alloc_bytes_total", "counter", "Bytes allocated since start (Go: go_memstats_alloc_bytes_total).", (double)s.total_alloc_bytes);
    metric(w, "drip_mallocs_total", "counter", "Allocations since start (Go: go_memstats_mallocs_total).", (double)s.mallocs);
    metric(w, "drip_frees_total", "counter", "Frees of tracked blocks since start (Go: go_memstats_frees_total).", (double)s.frees);
    metric(w, "drip_threads", "gauge", "Threads of the program alive now (Go: go_threads).", (double)s.threads);
    metric(w, "drip_allocation_sites", "gauge", "Distinct allocation stacks seen.", (double)s.sites);
    metric(w, "drip_tracker_memory_bytes", "gauge", "Memory drip itself uses in the process (Go: go_memstats_sys_bytes has no exact match).", (double)s.tracker_bytes);
    metric(w, "drip_sample_rate_bytes", "gauge", "Average bytes between recorded allocations; 1 when every allocation is recorded.", s.sample_rate ? (double)s.sample_rate : 1);
    struct drip__suspect sus[20];
    int ns = drip__growth_suspects(sus, 20);
    metric(w, "drip_growth_suspects", "gauge", "Allocation sites whose live bytes keep rising (the growth detector).", ns);
    if (ns) {
        uintptr_t addrs[20];
        for (int i = 0; i < ns; i++) {
            struct drip__site *site = drip__depot_get(sus[i].site);
            addrs[i] = site && site->depth ? site->frames[0] : 0;
        }
        struct drip__names names;
        int named = drip__names(addrs, (size_t)ns, &names) == 0;
        drip__printf(w, "# HELP drip_growth_bytes_per_second Growth rate of each suspect site's live bytes (Theil-Sen slope).\n"
                     "# TYPE drip_growth_bytes_per_second gauge\n");
        for (int i = 0; i < ns; i++) {
            const char *name = named && addrs[i] ? names.f[i].function : NULL;
            char fn[256];
            snprintf(fn, sizeof fn, "%s", name ? name : "unknown");
            for (char *c = fn; *c; c++)   /* label values: no quotes, backslashes or newlines */
                if (*c == '"' || *c == '\\' || *c == '\n')
                    *c = '_';
            drip__printf(w, "drip_growth_bytes_per_second{site=\"%u\",function=\"%s\"} %.17g\n", sus[i].site, fn,
                    sus[i].bytes_per_second);
        }
        if (named)
            drip__names_free(&names);
    }
    drip__printf(w, "# HELP drip_build_info drip's version and stack unwinder.\n# TYPE drip_build_info gauge\n"
                 "drip_build_info{version=\"%s\",unwind=\"%s\"} 1\n", DRIP_VERSION, drip__opt.unwind);
    /* the standard process collector names */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    metric(w, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
    metric(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", (double)s.rss_bytes);
    uint64_t vsz, rss;
    drip__statm(&vsz, &rss);
    metric(w, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", (double)vsz);
    metric(w, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", process_start_seconds());
    metric(w, "process_open_fds", "gauge", "Number of open file descriptors.", (double)count_fds());
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    metric(w, "process_max_fds", "gauge", "Maximum number of open file descriptors.", (double)rl.rlim_cur);
    drip__flush(w);
}

void drip__write_stats_json(int fd)
{
    struct drip_stats s;
    drip__stats(&s);
    dprintf(fd, "{\"live_bytes\": %llu, \"live_objects\": %llu, \"total_alloc_bytes\": %llu, \"mallocs\": %llu, "
                "\"frees\": %llu, \"peak_live_bytes\": %llu, \"rss_bytes\": %llu, \"threads\": %llu, \"sites\": %llu, "
                "\"tracker_bytes\": %llu, \"sample_rate\": %llu}\n",
            (unsigned long long)s.live_bytes, (unsigned long long)s.live_objects, (unsigned long long)s.total_alloc_bytes,
            (unsigned long long)s.mallocs, (unsigned long long)s.frees, (unsigned long long)s.peak_live_bytes,
            (unsigned long long)s.rss_bytes, (unsigned long long)s.threads, (unsigned long long)s.sites,
            (unsigned long long)s.tracker_bytes, (unsigned long long)s.sample_rate);
}

/* ---- the monitor --------------------------------------------------------------------------- */
/* The allocating function of a site (its innermost frame), for one-line messages. */
static const char *first_function(struct drip__site *site)
{
    static char name[128];
    struct drip__names names;
    uintptr_t a = site->frames[0];
    int named = drip__names(&a, 1, &names) == 0;
    snprintf(name, sizeof name, "%s", named && names.f[0].function ? names.f[0].function : "???");
    if (named)
        drip__names_free(&names);
    return name;
}

void drip__monitor_tick(int *above, double t)
{
    struct drip_stats s;
    drip__stats(&s);
    char live[32], peak[32], total[32], rss[32], alert[32];
    drip__human_bytes(live, sizeof live, (double)s.live_bytes);
    drip__human_bytes(peak, sizeof peak, (double)s.peak_live_bytes);
    drip__human_bytes(total, sizeof total, (double)s.total_alloc_bytes);
    drip__human_bytes(rss, sizeof rss, (double)s.rss_bytes);
    struct drip__suspect sus[1];
    int nsus = drip__growth_suspects(sus, 1);
    char grow[256] = "";
    if (nsus) {
        char rate[32];
        drip__human_bytes(rate, sizeof rate, (double)(uint64_t)sus[0].bytes_per_second);
        struct drip__site *site = drip__depot_get(sus[0].site);
        snprintf(grow, sizeof grow, ", growing: %s/s at %s", rate, site && site->depth ? first_function(site) : "?");
    }
    if (drip__opt.monitor)
        fprintf(stderr, "drip[%d] %.1fs: heap %s in %llu objects (peak %s), allocated %s in %llu allocs, %llu frees, rss %s, %llu threads%s\n",
                getpid(), t, live, (unsigned long long)s.live_objects, peak, total, (unsigned long long)s.mallocs,
                (unsigned long long)s.frees, rss, (unsigned long long)s.threads, grow);
    if (drip__opt.alert) {
        drip__human_bytes(alert, sizeof alert, (double)drip__opt.alert);
        if (!*above && s.live_bytes > drip__opt.alert) {
            *above = 1;
            fprintf(stderr, "drip[%d] %.1fs: warning: live heap %s is above the alert threshold %s\n", getpid(), t, live, alert);
        } else if (*above && s.live_bytes <= drip__opt.alert) {
            *above = 0;
            fprintf(stderr, "drip[%d] %.1fs: live heap %s is back below the alert threshold %s\n", getpid(), t, live, alert);
        }
    }
}

