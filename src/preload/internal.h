/* internal.h — declarations shared by the files of libdrip.so (the preload library).
 *
 * Naming: drip__ for anything shared across these files; static for the rest.
 * Nothing here is exported: the library is built with -fvisibility=hidden and only hooks.c,
 * threads.c and api.c mark symbols with DRIP_EXPORT.
 */
#ifndef DRIP_PRELOAD_INTERNAL_H
#define DRIP_PRELOAD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRIP_EXPORT __attribute__((visibility("default")))
#define DRIP_TLS __thread __attribute__((tls_model("initial-exec")))
#define DRIP_LIKELY(x) __builtin_expect(!!(x), 1)
#define DRIP_UNLIKELY(x) __builtin_expect(!!(x), 0)

enum { DRIP_MAX_FRAMES = 64 };

/* ---- leaf spinlocks for the hot path -------------------------------------------------------
 * Held for a few dozen instructions and never around anything that waits: cheaper than a mutex
 * when free (one exchange, one store), and they yield the CPU instead of burning it when a
 * holder has been preempted. */
#include <sched.h>
typedef struct { atomic_int v; } drip__spinlock;
#define DRIP_SPINLOCK_INIT {0}

static inline void drip__spin_lock(drip__spinlock *l)
{
    if (DRIP_LIKELY(!atomic_exchange_explicit(&l->v, 1, memory_order_acquire)))
        return;
    for (unsigned i = 0;; i++) {
        while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
            if (i++ < 100)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
    }
}

static inline void drip__spin_unlock(drip__spinlock *l) { atomic_store_explicit(&l->v, 0, memory_order_release); }

/* ---- reentrancy guard (runtime.c) ----------------------------------------------------------
 * Set while a thread runs drip code that may allocate. A hook that finds it set forwards to the
 * real allocator without recording anything. Initial-exec TLS: reading it never allocates. */
extern DRIP_TLS int drip__guard;

/* Global state of the tracker. `tracking` is read on every hook without a lock. */
struct drip__state {
    atomic_int tracking;        /* 1 between init and the exit report */
    atomic_int initialised;
    atomic_int reported;        /* the exit report has started (once per process) */
    int pid;
    int foreign;                /* the program brings its own malloc: drip tracks nothing */
    uintptr_t self_lo, self_hi; /* address range of libdrip.so itself (frames to hide) */
};
extern struct drip__state drip__g;

void drip__init(void);
/* Where the exit scan starts reading the calling thread's stack: set on entry to drip's report,
 * just after the program's callee-saved registers were stored there. */
extern uintptr_t drip__scan_start;
/* The program's callee-saved registers where it called exit, _exit or _Exit or returned from
 * main (roots: a pointer may live only there), and the call: its stack below that point is dead
 * (the frames of exit's handlers, destructors and drip's report), as valgrind sees it. Each hook
 * saves the registers first thing, before its own code can change them. */
extern uintptr_t drip__exit_regs[6];
extern int drip__exit_regs_valid;
#if defined(__x86_64__)
#define DRIP_SAVE_EXIT_REGS()                                                                   \
    __asm__ volatile("mov %%rbx, drip__exit_regs+0(%%rip)\n\tmov %%rbp, drip__exit_regs+8(%%rip)\n\t" \
                     "mov %%r12, drip__exit_regs+16(%%rip)\n\tmov %%r13, drip__exit_regs+24(%%rip)\n\t"  \
                     "mov %%r14, drip__exit_regs+32(%%rip)\n\tmov %%r15, drip__exit_regs+40(%%rip)"       \
                     : : : "memory")
#else
#define DRIP_SAVE_EXIT_REGS() ((void)0)
#endif
/* `cfa`: the caller's stack pointer at the call (the hook's canonical frame address). The first
 * call wins. */
void drip__note_exit(uintptr_t cfa);
#define DRIP_NOTE_EXIT()                                                                        \
    do {                                                                                        \
        DRIP_SAVE_EXIT_REGS();                                                                  \
        drip__note_exit((uintptr_t)__builtin_frame_address(0) + 2 * sizeof(void *));           \
    } while (0)
/* Set when the report runs from a fatal-signal handler: the interrupted context. */
extern void *drip__fatal_uc;
void drip__report_at_exit(int status_hint);
int drip__now_ms(void);

uint64_t drip__peak_live(void);   /* hooks.c */
void drip__sampling_init(void);   /* hooks.c: sets up sampling mode when sample > 0 */

/* ---- profile.c: heap profiles and stats from the depot's per-site counters ---------------- */
struct drip_stats;
void drip__stats(struct drip_stats *out);
/* Writes the heap profile to fd (gzipped pprof), or its text form when `text`. 0 or -errno. */
int drip__profile_write(int fd, int allocs_default, int text);
/* Bumped each time the module table is rebuilt (dlopen, dlclose). */
unsigned drip__modules_generation(void);
/* The per-site counters now, one pprof sample per site in id order (caller frees). */
struct drip_pprof_sample *drip__profile_snapshot(size_t *count);
/* The profile of what changed since snapshot p0 (Go's ?seconds=N delta). */
int drip__profile_write_delta(int fd, int allocs_default, const struct drip_pprof_sample *p0, size_t n0,
                              long long duration_ms);

/* ---- report.c: the leak report (text and/or JSON) from a fresh scan. 1 when definite or
 * indirect leaks were found. */
int drip__leak_report(int text_fd, int json_fd, int final);

/* ---- growth.c: the growth detector ---------------------------------------------------------- */
struct drip__suspect {
    uint32_t site;
    double bytes_per_second, net_bytes, window_seconds, heap_growth_share;
    double oldest_age_seconds;
    uint64_t live_bytes, live_objects;
};
long long drip__growth_tick(long long now_ms);
int drip__growth_suspects(struct drip__suspect *out, int max);
void drip__growth_fill(struct drip__suspect *s, int n);
long long drip__growth_interval(void);
struct drip_writer;

/* ---- metrics.c: Prometheus text, stats JSON, the monitor line ---------------------------- */
void drip__write_metrics(int fd);
void drip__statm(uint64_t *vsz, uint64_t *rss);
void drip__write_stats_json(int fd);
void drip__monitor_tick(int *above, double seconds_since_start);

/* ---- server.c: drip's own thread (HTTP endpoint, monitor) ----------------------------------- */
void drip__background_start(void);
void drip__background_child(void);
void drip__background_exit(void);

/* ---- arena.c: drip's own memory, never libc's allocator ----------------------------------- */
void *drip__arena_alloc(size_t size);          /* zeroed, 16-byte aligned; NULL when out of memory */
void drip__arena_free(void *p, size_t size);   /* size must be the size passed to alloc */
void drip__arena_lock_all(void);
void drip__arena_unlock_all(void);
void drip__arena_child_reset(void);
size_t drip__arena_mapped(void);
bool drip__arena_contains(uintptr_t p);
void drip__arena_range(uintptr_t *lo, uintptr_t *hi);

/* ---- depot.c: allocation stacks interned once, with per-site counters ------------------- */
struct drip__site {
    struct drip__site *_Atomic next;   /* hash chain; published with release, read lock-free */
    uint64_t hash;
    uint32_t id;
    uint32_t depth;
    /* cumulative counters; live = alloc - free. Two atomic adds per allocation and two per free:
     * the fewest that keep both live and total figures exact */
    _Atomic uint64_t alloc_bytes, alloc_objs;
    _Atomic uint64_t free_bytes, free_objs;
    uintptr_t frames[];                /* return addresses, innermost first */
};
/* counters.c: counting goes through per-thread tables (see there). `bytes` is negative to undo
 * a count (a realloc that failed). */
void drip__count(uint32_t site, int64_t bytes, int is_free);
void drip__counters_release(void);
void drip__counters_child_reset(void);
/* Adds every thread's not-yet-folded counts to out[site id][alloc bytes, alloc objs, free bytes,
 * free objs]; out has nsites + 1 rows. */
void drip__counters_pending(int64_t (*out)[4], uint32_t nsites);
int64_t (*drip__counters_pending_alloc(uint32_t nsites))[4];

/* A site's cumulative figures now: its shared counters plus the pending counts in `pend` (from
 * drip__counters_pending; NULL: none). v = alloc bytes, alloc objs, free bytes, free objs. */
static inline void drip__site_counts(struct drip__site *s, int64_t (*pend)[4], int64_t v[4])
{
    v[0] = (int64_t)atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed);
    v[1] = (int64_t)atomic_load_explicit(&s->alloc_objs, memory_order_relaxed);
    v[2] = (int64_t)atomic_load_explicit(&s->free_bytes, memory_order_relaxed);
    v[3] = (int64_t)atomic_load_explicit(&s->free_objs, memory_order_relaxed);
    for (int k = 0; pend && k < 4; k++)
        v[k] += pend[s->id][k];
}
uint32_t drip__depot_intern(const uintptr_t *frames, int depth); /* 0 when out of memory */
/* The same, with the frames' hash already computed (drip__stack_hash). */
uint32_t drip__depot_intern_hashed(const uintptr_t *frames, int depth, uint64_t hash);
uint64_t drip__stack_hash(const uintptr_t *frames, int depth);
/* The stack hash one frame at a time, so that a walk folds each frame in as it finds it: the
 * multiply then runs in the shadow of the walk's chain of dependent loads, where it costs
 * nothing, instead of in a second pass over the frames. */
#define DRIP_HASH_SEED 0x9e3779b97f4a7c15ULL
static inline uint64_t drip__hash_step(uint64_t h, uintptr_t frame)
{
    h = (h ^ frame) * 0xff51afd7ed558ccdULL;
    return h << 29 | h >> 35;
}
static inline uint64_t drip__hash_finish(uint64_t h, int depth)
{
    h ^= (uint64_t)depth;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h ? h : 1;
}
struct drip__site *drip__depot_get(uint32_t id);
uint32_t drip__depot_count(void);                                /* ids are 1..count */
void drip__depot_lock_all(void);
void drip__depot_unlock_all(void);
void drip__depot_child_reset(void);

/* ---- table.c: the live map, address -> record (a radix map: constant cost, address order) -- */
struct drip__rec {
    uintptr_t addr;
    uint64_t size : 48;   /* 256 TiB: larger than any block */
    uint64_t gen : 16;    /* drip__generation when allocated: leak-check scopes (check.c) */
    uint32_t site;
    uint32_t birth_ms;    /* drip__now_ms() when allocated: ages for the growth detector */
};
/* Bumped by each drip_check_begin; every record keeps the value it saw. */
extern _Atomic uint32_t drip__generation;
/* A forked child: the generation its own blocks start at (bumped at fork) and the parent's pid;
 * 0 in a process that was not forked. A block of an older generation was inherited at fork: the
 * parent reports it. Compared as check.c compares scopes (16 bits, wrapping). */
extern uint32_t drip__fork_gen;
extern int drip__fork_parent;
static inline bool drip__inherited(uint32_t gen)
{
    if (!drip__fork_parent)
        return false;
    uint32_t now = atomic_load_explicit(&drip__generation, memory_order_relaxed);
    return (uint16_t)(gen - drip__fork_gen) > (uint16_t)(now - drip__fork_gen);
}
bool drip__table_insert(uintptr_t addr, size_t size, uint32_t site);
/* A hint: addr is about to be inserted (stage 0: its directory entry; 1: its leaf). */
void drip__table_prefetch(uintptr_t addr, int stage);
/* Calls fn on every live record in address order, with no lock held while fn runs (each 2 KiB
 * span's records are copied out under its lock). _chunked is the same (kept for its callers). */
void drip__table_foreach(void (*fn)(const struct drip__rec *, void *), void *arg);
void drip__table_foreach_chunked(void (*fn)(const struct drip__rec *, void *), void *arg);
bool drip__table_remove(uintptr_t addr, struct drip__rec *out);
bool drip__table_restore(const struct drip__rec *rec);
size_t drip__table_count(void);
/* Record capacity and leaves over the whole map (for unit_table; racy like the count). */
void drip__table_shape(size_t *capacity, size_t *leaves);
/* Copies every live record, in address order, into an arena array (caller frees with
 * drip__arena_free). Must be called between drip__table_lock_all and unlock_all. */
struct drip__rec *drip__table_snapshot(size_t *n, size_t *bytes);
/* Freezes the map: when it returns no thread is changing it, and threads that try wait until
 * unlock_all. The freezing thread reads it (foreach, snapshot, count) without locks. */
void drip__table_lock_all(void);
void drip__table_unlock_all(void);
void drip__table_child_reset(void);
void drip__table_release(void);   /* the calling thread ends: its count cell goes to the next thread */

/* ---- modules.c: which modules keep frame pointers ------------------------------------------ */
void drip__modules_refresh(void);
/* The modules dlclose unloaded and the recorded frames inside them, as raw-report lines. */
void drip__modules_write_unloaded(struct drip_writer *w);
void drip__modules_child_reset(void);
void drip__growth_child_reset(void);
int drip__module_fp(uintptr_t addr);
int drip__module_fp_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
int drip__modules_fp_count(int *total);
const uint8_t *drip__module_eh_frame_hdr(uintptr_t addr);
/* DWARF primitives (modules.c), shared with cfi.c */
uint64_t drip__uleb(const uint8_t **p, const uint8_t *end);
int64_t drip__sleb(const uint8_t **p, const uint8_t *end);
int drip__enc_size(uint8_t enc);
int64_t drip__read_enc(const uint8_t *p, uint8_t enc);
struct drip__cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    int has_z;
    const uint8_t *insns, *end;
};
int drip__parse_cie(const uint8_t *cie, struct drip__cie *c);
/* cfi.c: a stack walk driven by .eh_frame, with the rule for each return address cached.
 * Returns the number of frames, or -1 when some frame needs more than it understands. */
int drip__cfi_walk(uintptr_t *out, int max, uint64_t *hash);
void drip__cfi_flush(void);

/* ---- unwind.c ------------------------------------------------------------------------------ */
/* Where the program's stacks end: the return address into libc of drip's main wrapper and of
 * each thread's start trampoline. A frame-pointer walk stops there. */
extern uintptr_t drip__main_ret;
extern DRIP_TLS uintptr_t drip__thread_ret;
void drip__unwind_init(void);
/* Takes the calling thread's stack, drip's own frames left out, and its drip__stack_hash. */
int drip__unwind(uintptr_t *frames, int max, uint64_t *hash);

/* ---- threads.c ------------------------------------------------------------------------------ */
struct drip__thread {
    struct drip__thread *next;
    pthread_t tid;
    int os_tid;
    uint32_t create_site;
    uintptr_t start_routine;
    uintptr_t start_arg;             /* a root while the thread runs: it may not have started yet */
    uintptr_t stack_lo, stack_hi;    /* whole mapping: includes TLS and the thread descriptor */
    atomic_int state;                /* THREAD_RUNNING / THREAD_FINISHED */
    int joined, detached, is_main;
    uint32_t gen;                    /* drip__generation at creation */
    /* filled in by the stop-the-world (threads.c) */
    _Atomic uintptr_t stopped_sp;    /* stopped stack pointer less the red zone */
    _Atomic uintptr_t stopped_regs_lo, stopped_regs_hi;   /* a copy of its registers: roots */
    atomic_int stopped;
};
enum { DRIP_THREAD_RUNNING = 1, DRIP_THREAD_FINISHED = 2 };
void drip__threads_init(void);
void drip__threads_register_main(void);
struct drip__thread *drip__threads_list(void); /* caller holds drip__threads_lock */
void drip__threads_lock(void);
void drip__threads_unlock(void);
void drip__threads_child_reset(void);
/* In a forked child: the threads that ran in the parent at fork (their stacks are roots). */
struct drip__thread *drip__threads_orphans(void);
/* Stops every other thread (ptrace from a tracer task; a signal where ptrace is refused) and
 * returns how many registered threads stopped. Called with drip's locks but not the arena's. */
int drip__threads_stop_world(void);
void drip__threads_start_world(void);
/* While stopped: is every other task of the process stopped (no mapping can change under the
 * scan but by the scanning thread itself)? */
bool drip__threads_world_frozen(void);
uintptr_t drip__interrupted_sp(const void *ucontext);
/* The general registers saved in a signal's ucontext (not the FPU area: drip's own hooks leave
 * block addresses in vector registers). */
void drip__uc_regs(const void *ucontext, uintptr_t *lo, uintptr_t *hi);
extern DRIP_TLS struct drip__thread *drip__self;

/* ---- export.c, helper.c: the raw report and the symbolizer process (drip symbolize) -------- */
struct dl_phdr_info;
struct drip_render_out;
char *drip__read_maps(void);   /* /proc/self/maps, malloc'd (NULL: unreadable) */
void drip__maps_path(const char *maps, uintptr_t addr, char *out, size_t cap);
void drip__build_id(const struct dl_phdr_info *info, char *out, size_t cap);
/* The module's program headers, read so that a truncated file cannot fault (count copied). */
int drip__module_phdrs(const struct dl_phdr_info *info, void *out, int max);
void drip__raw_header(struct drip_writer *w, const char *want);
void drip__raw_modules(struct drip_writer *w, int with_maps);
struct drip__siteset { uint8_t *seen; uint32_t n; };   /* which stacks a document already has */
void drip__siteset_init(struct drip__siteset *s);
void drip__raw_site(struct drip_writer *w, struct drip__siteset *set, uint32_t id);
void drip__siteset_free(struct drip__siteset *s);
void drip__raw_suspects(struct drip_writer *w, struct drip__siteset *set, const struct drip__suspect *s, int n);
int drip__raw_memfd(void);
/* Runs `drip symbolize` on the raw report in memfd for the outputs in o; writes them here with
 * unnamed frames when it cannot run. 1 when the leak report found leaks. (report.c) */
int drip__symbolize(int memfd, const struct drip_render_out *o);
struct drip_frame;
struct drip__names { char *buf; struct drip_frame *f; size_t n; };
int drip__names(const uintptr_t *addrs, size_t n, struct drip__names *names);
void drip__names_free(struct drip__names *names);
void drip__start_dir(char *out, size_t cap);
void drip__resolve_path(const char *pattern, char *out, size_t cap);
void drip__report_dest_init(void);
void drip__suspects_json(int fd);   /* report.c */
int drip__report_fd(int *is_log);
int drip__helper_run(int in_fd, int err_fd, const int *keep, int nkeep, char *const *args, const char **why);
/* fd moved above 0-2 if it is one of them (the program may have closed its stdio): see helper.c */
int drip__fd_above_stdio(int fd);
int drip__helper_ask(int memfd, int out_fd, const char **why);

/* ---- foreign.c: a program that brings its own allocator ---------------------------------- */
int drip__foreign_detect(void);                       /* 1 when malloc comes from another object */
int drip__foreign_report(int text_fd, int json_fd);   /* the one line (and JSON) it gets instead */

/* ---- exec.c: the root process stays traced through its execs; untraced children counted -- */
void drip__exec_init(void);
void drip__exec_fork_child(void);
int drip__execve(const char *path, char *const argv[], char *const envp[]);
int drip__execvpe(const char *file, char *const argv[], char *const envp[]);
int drip__fexecve(int fd, char *const argv[], char *const envp[]);
void drip__spawned(const char *file, char *const envp[]);
/* How many children of this process ran a program drip did not follow; *first names one. */
unsigned drip__untraced_execs(const char **first);
/* Tells drip run (through DRIP_STATUS_DIR) that the root process wrote its report. */
void drip__status_reported(void);
extern int drip__is_fork_child;

/* ---- options.c ------------------------------------------------------------------------------ */
#include "options.h"
extern struct drip_options drip__opt;

#endif
