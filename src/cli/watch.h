/* watch.h — the pieces of `drip watch`: /proc sampling of a process tree (watch_proc.c), the
 * trend of RSS over time (watch_trend.c), the SVG chart (watch_plot.c); watch.c drives them. */
#ifndef DRIP_CLI_WATCH_H
#define DRIP_CLI_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One sample of a process and its descendants: sums over the live processes of the tree. */
struct drip__wsample {
    double t;              /* seconds since the watch started */
    uint64_t rss, pss, swap, hwm; /* bytes; hwm sums each process's VmHWM */
    long threads, fds;     /* fds: -1 when some process's fd table was unreadable */
    int procs;
};

/* Samples root and its descendants into *s (t left alone); the root's name goes to comm.
 * Returns 0, -ESRCH when root is gone (or a zombie), -EACCES (with path) when root's memory
 * figures are unreadable, another -errno for other failures. */
int drip__proc_sample(pid_t root, struct drip__wsample *s, char *comm, size_t commlen, char *path,
                      size_t pathlen);

enum drip__verdict { DRIP_TREND_FEW, DRIP_TREND_STEADY, DRIP_TREND_GROWING, DRIP_TREND_SHRINKING,
                     DRIP_TREND_PLATEAU };

struct drip__trend {
    enum drip__verdict verdict;
    size_t n;              /* samples used */
    double rate, lo, hi;   /* bytes per second of the judged window (Theil-Sen), its 95% CI */
    double from_t, to_t;   /* the judged window: the second half when there are 10+ samples */
    double b;              /* intercept of the fitted line: y = b + rate * t */
    double plateau_t;      /* PLATEAU: when RSS first reached the plateau level */
    uint64_t plateau_rss;  /* PLATEAU: the level (median of the window) */
    char text[256];        /* "growing at 12MiB/h", "steady", "plateau after warm-up ..." */
    char detail[320];      /* the figures behind it: CI, samples, window */
};

/* Judges the RSS series of n samples. */
void drip__trend(const struct drip__wsample *s, size_t n, struct drip__trend *out);

/* Writes an SVG chart of RSS (and PSS) over time with axes, units, the alert line (alert 0: none)
 * and the fitted trend. Returns 0 or -errno. */
int drip__plot(const char *path, const struct drip__wsample *s, size_t n, uint64_t alert,
               const struct drip__trend *tr, const char *title);

/* "1.5s", "2m05s", "1h02m" */
void drip__fmt_secs(char *buf, size_t cap, double s);
/* bytes per second as "36.00GiB/h" */
void drip__fmt_rate(char *buf, size_t cap, double bytes_per_s);

#endif
