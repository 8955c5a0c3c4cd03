/* raw.h — the raw report: what the traced process hands to the symbolizer (`drip symbolize`).
 *
 * The traced process never names its own frames (no libdw, no debug files, no network inside
 * someone else's program): at exit, and for each live request, it writes this document, and the
 * `drip` binary turns it into the text report, the JSON and the pprof profile.
 *
 * Format, version 1: UTF-8 text, one item per line, `\n`-terminated. The first line is
 * `drip-raw 1`; the last is `end` (a document without it was cut short and is refused). Every
 * other line is a tag followed by space-separated `key=value` fields. Values are numbers (hex for
 * addresses, decimal otherwise, %.17g for fractions) or strings with every byte outside
 * 0x21..0x7e and every `%` and `=` written as %XX. Readers ignore tags and keys they do not know,
 * so a new per-record field is one more `key=value` on the line (version stays 1); a change that
 * old readers would misread bumps the version.
 *
 *   proc pid= ppid= exe= cwd= forked=0|1      the process: ids, executable, start directory
 *   arg s=                                    one per element of the command line, in order
 *   opt name= value=                          an option of DRIP_OPTIONS as the process saw it
 *   want what=exit|leaks|pprof|pprof_text|suspects|names [allocs=1]
 *   module id= bias= build_id= path= x=LO-HI... [w=LO-HI...] [unloaded=1]   an ELF object, its
 *                                             code ranges and its writable ranges (.data, .bss)
 *   kept addr= module=                        a frame recorded in code that dlclose later unloaded
 *   site id= frames=A,B,C                     an allocation stack, innermost first
 *   rec kind= site= bytes= blocks= [ioff_min= ioff_max=]   leak records grouped by (kind, site);
 *                                             possible: offsets of the interior pointers
 *   heur name= bytes= blocks=                 reachable only via a valgrind heuristic, in order
 *   inherited bytes= blocks= parent=          a forked child: the live blocks it inherited at fork,
 *                                             left out of its rec lines (the parent reports them)
 *   thread tid= state=running|unjoined start= site=    (tid 0: created, not started yet)
 *   suspect site= bps= live_bytes= live_objects= oldest= share= window=
 *   sample site= v=AO,AS,IO,IS block_size=    heap profile samples (values already scaled)
 *   pprof period= time= duration= maps_key=
 *   maps line=                                /proc/self/maps, verbatim, for the profile
 *   addr a=                                   an address to name (want=names)
 *   retain dom=off|done|over_budget|oom dom_us= nodes= edges= budget_ms=   retention (issue #16):
 *   root id= kind=memory|stack|tls|register addr= [tid=] [ret=] [start=] [lo= hi=]
 *        [tls_bias= tls_off= [tls_dtv=1]] [map_site=]   a root word that holds something (ret: the return
 *                                             address below a stack slot; lo-hi: its mapping;
 *                                             tls_*: the module whose static TLS block holds it,
 *                                             by load bias, and the offset in the block (tls_dtv:
 *                                             the word is the DTV entry of that module, id tls_off);
 *                                             map_site: the stack that mmap'd lo-hi)
 *   path id= prev= root=0|1 site= bytes= blocks= [in=A-B] [self=A-B] [elided=1]
 *                                             a chain of sites from a root word (prev: root id
 *                                             when root=1, else the previous path); in: offsets
 *                                             of the pointers in the previous hop; self: links
 *   held kind= path= bytes= blocks=           a record's blocks (kind, path's site) on one path
 *   retained lo= hi= bytes= blocks=           what root words lo..hi retain together
 *   rsite site= bytes= blocks=                what a site's blocks retain
 *   why kind= site= root= chain=ADDR+OFF,...  log_roots: how a record's first block was reached
 *   info threads_unpaused= oom= paused_us= untraced_execs= untraced_first= sampling=
 */
#ifndef DRIP_COMMON_RAW_H
#define DRIP_COMMON_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "symbolize.h"
#include "writer.h"

enum { DRIP_RAW_VERSION = 1 };

enum drip_raw_kind { DRIP_RAW_UNREACHED, DRIP_RAW_REACHABLE, DRIP_RAW_POSSIBLE, DRIP_RAW_INDIRECT, DRIP_RAW_DEFINITE };
extern const char *const drip_raw_kind_names[5];   /* "unreached" ... "definite" */

struct drip_raw_range { uintptr_t lo, hi; };

struct drip_raw_module {
    uint32_t id;
    uintptr_t bias;
    char *path, *build_id;          /* build_id: hex, "" when the module has none */
    struct drip_raw_range *x;       /* executable segments */
    int nx;
    struct drip_raw_range *w;       /* writable segments (globals) */
    int nw;
    int unloaded;
};

struct drip_raw_site {
    uint32_t id;
    uintptr_t *frames;
    int n;
};

struct drip_raw_rec {
    int kind;
    uint32_t site;
    uint64_t bytes, blocks;
    uint32_t ioff_min, ioff_max;   /* possible: where the interior pointers point */
};

struct drip_raw_heur {
    char *name;
    uint64_t bytes, blocks;
};

struct drip_raw_thread {
    int tid, running;
    uintptr_t start;
    uint32_t site;
};

struct drip_raw_suspect {
    uint32_t site;
    double bps, live_bytes, live_objects, oldest, share, window;
};

struct drip_raw_sample {
    uint32_t site;
    int64_t v[4];
    int64_t block_size;
};

struct drip_raw_root {
    int kind;   /* 0 memory, 1 stack, 2 tls, 3 register */
    int tid;
    uintptr_t addr, ret, start, lo, hi;
    int has_tls;                   /* tls: the module (by load bias) and offset in its TLS block;
                                    * 2: tls_off is the module's TLS id, the word its DTV entry */
    uintptr_t tls_bias, tls_off;
    uint32_t map_site;             /* memory: the stack that mmap'd lo-hi (0: unknown) */
};
extern const char *const drip_raw_root_kinds[4];

struct drip_raw_path {
    uint32_t prev, site;
    int from_root;                   /* prev is a root id */
    int elided;                      /* hops were left out between prev and this one */
    uint32_t in_min, in_max, self_min, self_max;   /* min > max: none */
    uint64_t bytes, blocks;
};

struct drip_raw_held {
    int kind;
    uint32_t path;
    uint64_t bytes, blocks;
};

struct drip_raw_retained {
    uint32_t lo, hi;                 /* root ids */
    uint64_t bytes, blocks;
};

struct drip_raw_why {
    int kind;
    uint32_t site, root;
    uintptr_t *chain;                /* pairs: block address, offset of the next pointer in it */
    int n;                           /* pairs */
};

struct drip_raw_retain {
    int has, dom;                    /* dom: 0 off, 1 done, 2 over budget, 3 out of memory */
    long long dom_us, budget_ms;
    uint64_t nodes, edges;
    struct drip_raw_root *roots;     /* indexed by id */
    size_t nroots;
    struct drip_raw_path *paths;     /* indexed by id */
    size_t npaths;
    struct drip_raw_held *held;
    size_t nheld;
    struct drip_raw_retained *retained;
    size_t nretained;
    struct drip_raw_held *rsites;    /* kind unused; path = the site */
    size_t nrsites;
    struct drip_raw_why *why;
    size_t nwhy;
};

struct drip_raw {
    int pid, ppid, forked;
    char *exe, *cwd;
    char **argv;
    int argc;
    struct drip_options opt;
    char want[32];
    int want_allocs;
    struct drip_raw_module *mods;
    size_t nmods;
    uintptr_t *kept_addr;
    uint32_t *kept_mod;
    size_t nkept;
    struct drip_raw_site *sites;    /* sorted by id after parsing */
    size_t nsites;
    struct drip_raw_rec *recs;
    size_t nrecs;
    struct drip_raw_thread *threads;
    size_t nthreads;
    struct drip_raw_heur *heur;
    size_t nheur;
    struct drip_raw_suspect *suspects;
    size_t nsuspects;
    struct drip_raw_sample *samples;
    size_t nsamples;
    int has_pprof;
    int64_t period, time_nanos, duration_nanos;
    unsigned maps_key;
    char **maps;                    /* lines of /proc/PID/maps, without their newline */
    size_t nmaps;
    uintptr_t *addrs;
    size_t naddrs;
    int threads_unpaused, oom;
    long long paused_us;            /* how long the scan stopped the program's other threads */
    unsigned untraced_execs;        /* children that ran a program drip did not follow */
    char *untraced_first;           /* the first of them (NULL: none) */
    unsigned long long sampling;
    int has_inherited;              /* a forked child's report: the blocks it inherited at fork */
    uint64_t inherited_bytes, inherited_blocks;
    int inherited_parent;
    struct drip_raw_retain ret;     /* who holds what (retain lines) */
};

/* ---- writing (the traced process) ---- */
/* Writes `s` escaped as described above. */
void drip__raw_put_str(struct drip_writer *w, const char *s);
/* "key=" then the escaped string, preceded by a space. */
void drip__raw_put_kv(struct drip_writer *w, const char *key, const char *s);
/* Every option of `o` as `opt` lines. */
void drip__raw_put_options(struct drip_writer *w, const struct drip_options *o);

/* ---- reading (both sides) ---- */
/* Parses len bytes. Returns 0, or -1 with a one-line message in err. *r is zeroed first and must
 * be released with drip__raw_free either way. */
int drip__raw_parse(struct drip_raw *r, const char *text, size_t len, char *err, size_t errlen);
void drip__raw_free(struct drip_raw *r);
/* The site with this id, or NULL. */
const struct drip_raw_site *drip__raw_site_of(const struct drip_raw *r, uint32_t id);
/* The module whose code holds the return address addr (frames kept at dlclose first), or NULL;
 * *offset = the address relative to the module's load bias. */
const struct drip_raw_module *drip__raw_module_of(const struct drip_raw *r, uintptr_t addr, uintptr_t *offset);

/* A global or static variable, named by the symbolizer (strings live as long as it does). */
struct drip_data_name {
    const char *symbol, *module, *file;   /* file NULL: no DWARF for it */
    int line;
    uintptr_t start, size;                /* where the variable lies in the process */
    int where;                            /* 1: file and line were looked up */
    const struct drip_raw_module *tls;    /* a TLS variable of this module: start is its offset
                                           * in the module's PT_TLS block */
};

/* The module whose writable segments (w= ranges) hold addr, or NULL (retention.c). */
const struct drip_raw_module *drip__raw_module_of_data(const struct drip_raw *r, uintptr_t addr);

/* ---- naming frames ----
 * The report writers name frames through this interface: `drip symbolize` backs it with libdw;
 * the traced process, when no symbolizer can be started, with drip__raw_symbols (module path and
 * offset only). */
struct drip_symbols {
    /* Fills *f for a return address (function NULL when unknown). Strings live as long as the
     * symbolizer. lines = 0: the function name is enough (no DWARF line tables). */
    void (*frame)(void *ctx, uintptr_t addr, int lines, struct drip_frame *f);
    void *ctx;
    int raw;   /* 1: frames are module+offset only; the writers then print offsets and build-ids */
    /* The variable (data symbol) that holds addr, with where DWARF says it is defined: 0, or -1
     * when unknown. NULL: this symbolizer names no data (the module+offset fallback). */
    int (*data)(void *ctx, uintptr_t addr, struct drip_data_name *d);
    /* Fills d->file and d->line of a variable data() named without them (d->where 0): reading
     * DWARF for the definition is paid only for the roots a report prints. NULL: none to add. */
    void (*data_where)(void *ctx, struct drip_data_name *d);
    /* The TLS variable (STT_TLS symbol) at offset off of module m's PT_TLS block: 0, or -1 when
     * unknown (d->tls and d->module are set either way). NULL: none (module+offset). */
    int (*tls)(void *ctx, const struct drip_raw_module *m, uintptr_t off, struct drip_data_name *d);
};
/* Module+offset naming from the raw report's own module table. */
struct drip_symbols drip__raw_symbols(const struct drip_raw *r);

#endif
