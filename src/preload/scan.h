/* scan.h — the conservative reachability scan behind the exit report and live leak checks. */
#ifndef DRIP_PRELOAD_SCAN_H
#define DRIP_PRELOAD_SCAN_H

#include "internal.h"

enum drip_kind { DRIP_UNREACHED = 0, DRIP_REACHABLE, DRIP_POSSIBLE, DRIP_INDIRECT, DRIP_DEFINITE };

struct drip__block {
    uintptr_t addr;
    size_t size;
    uint32_t site;
    uint8_t kind;      /* enum drip_kind once the scan is over */
    uint8_t queued;
};

struct drip__scan {
    struct drip__block *blocks;   /* sorted by address; arena memory */
    size_t n, blocks_bytes;
    int threads_stopped, threads_unstopped;
};

/* Stops the other threads, snapshots the live table, scans the roots and classifies every live
 * block; threads are running again when it returns. `final`: the process is exiting, tracking
 * stops for good; otherwise (a live check from drip's own thread) tracking goes on and the
 * calling thread's stack is not a root. Returns 0, or -1 when drip's own memory ran out (the
 * report then says so). The calling thread must hold the guard. */
/* ---- roots.c: the memory read as roots (see there) ---------------------------------------- */
struct drip__range { uintptr_t lo, hi; };
struct drip__ranges {
    struct drip__range *r;   /* arena memory */
    size_t n, cap;
};
struct drip__roots {
    struct drip__ranges maps;   /* candidate mappings, in address order */
    struct drip__ranges excl;   /* what to leave out of them */
};
/* Reads the candidate mappings and drip's own memory. Before any thread is stopped. */
bool drip__roots_read(struct drip__roots *r);
/* The candidate mapping that holds address a, or NULL. */
const struct drip__range *drip__roots_mapping(const struct drip__roots *r, uintptr_t a);
bool drip__roots_exclude(struct drip__roots *r, uintptr_t lo, uintptr_t hi);
/* The part of the stack mapping that holds sp below sp: dead frames. */
bool drip__roots_dead_below(struct drip__roots *r, uintptr_t sp);
/* The candidates less the exclusions, in address order, appended to out. */
bool drip__roots_finish(struct drip__roots *r, struct drip__ranges *out);
void drip__roots_free(struct drip__roots *r);
void drip__ranges_free(struct drip__ranges *s);
/* Called at the start of each of drip's own threads: its stack is never a root. */
void drip__roots_own_thread(void);

int drip__scan_run(struct drip__scan *out, int final);
void drip__scan_free(struct drip__scan *s);

#endif
