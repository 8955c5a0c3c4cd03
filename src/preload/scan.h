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
    long long paused_us;          /* how long the program's other threads were stopped */
};

/* Stops the other threads, snapshots the live table, scans the roots and classifies every live
 * block; threads are running again when it returns. `final`: the process is exiting, tracking
 * stops for good; otherwise (a live check from drip's own thread) tracking goes on and the
 * calling thread's stack is not a root. Returns 0, or -1 when drip's own memory ran out (the
 * report then says so). The calling thread must hold the guard. */
int drip__scan_run(struct drip__scan *out, int final);
void drip__scan_free(struct drip__scan *s);

#endif
