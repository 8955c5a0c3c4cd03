/* scan.h — the conservative reachability scan behind the exit report and live leak checks. */
#ifndef DRIP_PRELOAD_SCAN_H
#define DRIP_PRELOAD_SCAN_H

#include "internal.h"

enum drip_kind { DRIP_UNREACHED = 0, DRIP_REACHABLE, DRIP_POSSIBLE, DRIP_INDIRECT, DRIP_DEFINITE };

/* valgrind's leak-check heuristics (--leak-check-heuristics): interior pointers that C++ makes
 * on purpose. A block reached only through one of them, from a root or a reachable block, is
 * reachable "via heuristic". Bit i of the option's mask is heuristic i + 1. */
enum drip_heur { DRIP_HEUR_NONE = 0, DRIP_HEUR_STDSTRING, DRIP_HEUR_LENGTH64, DRIP_HEUR_NEWARRAY,
                 DRIP_HEUR_MULTIPLEINHERITANCE, DRIP_HEUR_COUNT };
extern const char *const drip__heur_name[DRIP_HEUR_COUNT];

/* A block as the retention summary's optional parts (retained sizes, log_roots) and the
 * heuristics read it. The scan itself reads the live map in place (scan_index.h). */
struct drip__block {   /* 24 bytes */
    uintptr_t addr;
    uint64_t size : 48;   /* as struct drip__rec's */
    uint64_t kind : 8;    /* enum drip_kind once the scan is over */
    uint64_t heur : 7;    /* enum drip_heur: reachable only via that heuristic (valgrind's rule) */
    uint64_t inherited : 1;   /* a forked child: allocated before the fork (drip__inherited) */
    uint32_t site;
    uint32_t ioff;        /* possible: offset into the block of the interior pointer that reached it */
};
_Static_assert(sizeof(struct drip__block) == 24, "struct drip__block");
/* What the scan hands out: the live blocks of one (kind, allocation site), the report's record. */
struct drip__scan_group {
    uint32_t site;
    uint8_t kind, pad[3];
    uint32_t ioff_min, ioff_max;   /* possible: where the interior pointers point, over the blocks */
    uint64_t bytes, blocks;
};
struct drip__roots;
/* valgrind's heuristic_reachedness (scan_heur.c): which heuristic of heur_set, if any, makes w,
 * an interior pointer into blk, count as a pointer to its start. */
uint8_t drip__heuristic(unsigned heur_set, const struct drip__roots *rt, const struct drip__block *blk, uintptr_t w);

/* A thread the report names, as it was while the world was stopped (a thread woken by the
 * pause may end before the report is written: it was running at exit all the same). */
struct drip__scan_thread {
    int os_tid;              /* 0: created, not started yet */
    uint32_t create_site;
    uintptr_t start_routine;
    uint8_t running;         /* else finished, never joined nor detached */
};

struct drip__scan {
    struct drip__scan_thread *threads;   /* arena memory */
    size_t nthreads, threads_bytes;
    struct drip__scan_group *groups;   /* arena memory; a forked child's inherited blocks left out */
    size_t ngroups, groups_bytes;
    uint64_t inh_bytes, inh_blocks;    /* a forked child: the blocks it inherited (the parent's) */
    int threads_stopped, threads_unstopped;
    struct { uint64_t bytes, blocks; } heur[DRIP_HEUR_COUNT];   /* reachable via heuristic */
    long long paused_us;          /* how long the program's other threads were stopped */
    struct drip__rsum *retain;    /* who holds what (retain.h); arena memory; NULL: not recorded */
    size_t retain_bytes;
};
struct drip__rsum;

/* Stops the other threads, snapshots the live table, scans the roots and classifies every live
 * block; threads are running again when it returns. `final`: the process is exiting, tracking
 * stops for good; otherwise (a live check from drip's own thread) tracking goes on and the
 * calling thread's stack is not a root. Returns 0, or -1 when drip's own memory ran out (the
 * report then says so). The calling thread must hold the guard. */
/* ---- roots.c: the memory read as roots (see there) ---------------------------------------- */
struct drip__range { uintptr_t lo, hi; };

/* Sorts n elements of `size` bytes (at most 64) by the uintptr_t each begins with (a block's
 * address, a range's lo), in place: a heap sort, because qsort may allocate (glibc's does for
 * large arrays) and the scan runs with the world stopped. */
void drip__sort_by_address(void *base, size_t n, size_t size);
struct drip__ranges {
    struct drip__range *r;   /* arena memory */
    size_t n, cap;
};
struct drip__roots {
    struct drip__ranges maps;   /* candidate mappings, in address order */
    struct drip__ranges excl;   /* what to leave out of them */
    struct drip__ranges file_r, file_x;   /* readable / executable file mappings (vtables) */
};
/* valgrind's test for a vtable: p lies in a readable file mapping and, among its first 20
 * words, at least two non-null ones come before any that is not a pointer into an executable
 * file mapping. */
bool drip__roots_is_vtable(const struct drip__roots *r, uintptr_t p);
/* Reads the candidate mappings and drip's own memory. Before any thread is stopped. */
bool drip__roots_read(struct drip__roots *r);
/* The same from maps text the caller read (the scan reads /proc/self/maps once for both). */
bool drip__roots_parse(struct drip__roots *r, const char *maps);
/* /proc/self/maps whole, NUL-terminated, in drip's arena (*cap: its size, for drip__arena_free). */
char *drip__roots_maps_text(size_t *cap);
/* The candidate mapping that holds address a, or NULL. */
const struct drip__range *drip__roots_mapping(const struct drip__roots *r, uintptr_t a);
bool drip__roots_exclude(struct drip__roots *r, uintptr_t lo, uintptr_t hi);
/* The part of the stack mapping that holds sp below sp: dead frames. */
bool drip__roots_dead_below(struct drip__roots *r, uintptr_t sp);
/* The candidates less the exclusions, in address order, appended to out. */
bool drip__roots_finish(struct drip__roots *r, struct drip__ranges *out);
void drip__roots_free(struct drip__roots *r);
void drip__ranges_free(struct drip__ranges *s);
/* The range of s (sorted, disjoint) holding a, or NULL. */
const struct drip__range *drip__ranges_find(const struct drip__ranges *s, uintptr_t a);
/* Called at the start of each of drip's own threads: its stack is never a root. */
void drip__roots_own_thread(void);
/* [lo, hi) is drip's (the exit report's stack): never a root. hi == 0 takes a range out. */
void drip__roots_own_range(uintptr_t lo, uintptr_t hi);

int drip__scan_run(struct drip__scan *out, int final);
/* The same; retainers: also record the heap graph and compute retained sizes (retain.h). */
int drip__scan_run_ex(struct drip__scan *out, int final, bool retainers);
void drip__scan_free(struct drip__scan *s);

#endif
