/* retain.h — who holds each reachable block: the retention paths and retained sizes of issue #16
 * (retain.c). The mark phase of the scan gives each block it reaches the path of the first holder
 * it found (a block, or a root word) plus a hop, and counts it there; with `retainers`, it also
 * records every pointer from a root or a reachable block (the heap graph), and with `retainers`
 * or log_roots each block's first holder. After the marking retain.c turns that into a flat
 * summary: the root words, the paths as chains of allocation sites, how many blocks of each
 * record each path holds, and the retained sizes from the dominator tree. The symbolizer names
 * it all.
 * Memory: drip's arena, only during a scan: a few bytes a path (not a block); with `retainers` or
 * log_roots, 8 bytes a block (its first holder) and 8 an edge. */
#ifndef DRIP_PRELOAD_RETAIN_H
#define DRIP_PRELOAD_RETAIN_H

#include "scan.h"

enum { DRIP_RET_ROOT = 1u << 31, DRIP_RET_MAX_ROOTS = 65536, DRIP_RET_MAX_REGS = 64 };
/* A path node's prev with DRIP_RET_ELIDED: hops were left out between that node (a path of
 * DRIP_RET_MAX_DEPTH hops) and this one. A list whose nodes come from sites in no order would
 * otherwise make one path per node. */
enum { DRIP_RET_ELIDED = 1u << 30, DRIP_RET_MAX_DEPTH = 8 };

/* What holds a root word. MEMORY: a global or an anonymous mapping (the symbolizer tells which
 * from the modules' writable segments). */
enum drip_root_kind { DRIP_ROOT_MEMORY = 0, DRIP_ROOT_STACK, DRIP_ROOT_TLS, DRIP_ROOT_REGISTER };
extern const char *const drip__root_kind_name[4];

/* The recording, during the mark phase. */
struct drip__retain {
    struct drip__link {   /* per block, side by side: one cache line touched per mark */
        uint32_t parent;  /* 0 none, block index + 1, or DRIP_RET_ROOT | root index */
        uint32_t off;     /* offset of the pointer inside its holder block */
    } *link;              /* only with want_links (retained sizes, log_roots); NULL otherwise */
    size_t n;
    uintptr_t *roots;   /* the root words that hold something, in the order met */
    size_t nroots, roots_cap;
    uint32_t *edges;    /* pairs (holder, block): holder as in parent, less 1 for a block */
    size_t nedges, edges_cap;
    bool want_edges, want_links, oom;
    struct { uintptr_t lo, hi; int tid; } regs[DRIP_RET_MAX_REGS];   /* copies of registers */
    int nregs;
    struct drip__rsum_root *named;   /* the root words named while the world was stopped */
    size_t named_bytes;
    /* The paths, made as the blocks are marked (a holder is marked before what it holds, so its
     * path is known): the nodes (prev, site), interned; the blocks of each record per node. */
    struct drip__rsum_node *node;
    size_t nnodes, node_cap;
    uint32_t *hash;   /* node index + 1; 0 empty */
    size_t hcap;
    uint32_t memo_prev, memo_site, memo_id;   /* the node found last */
    struct drip__rsum_held *held;
    size_t nheld, held_cap;
    uint32_t *hix;    /* per node: held index + 1 of its reachable blocks, then of its possible ones */
    size_t hix_cap;
};

/* Starts the recording for n blocks (edges too with want_edges, a parent per block with
 * want_links). false when out of memory: the scan then goes on without paths. */
bool drip__retain_begin(struct drip__retain *r, size_t n, bool want_edges, bool want_links);
void drip__retain_end(struct drip__retain *r);
/* The root index for the root word at address src (the last one again when it is the same word;
 * past DRIP_RET_MAX_ROOTS, the last one: the nearest word below, met before). */
uint32_t drip__retain_root(struct drip__retain *r, uintptr_t src);
/* A register copy [lo, hi) of thread tid (0: the exiting thread), to name roots found there. */
void drip__retain_note_regs(struct drip__retain *r, uintptr_t lo, uintptr_t hi, int tid);
void drip__retain_edge_slow(struct drip__retain *r, uint32_t holder, uint32_t to);

/* A block of `site` and `size` was just marked `kind` (reachable or possible) from its holder:
 * the root word at src (hnode ignored), or a block whose path is node hnode - 1 (0: it has
 * none), the pointer `off` bytes into it. Returns the block's path (node index + 1; 0: none),
 * which its own blocks' paths go on from; counts it there (and, unless inherited, in its
 * record's blocks held along that path). A block's path is the one of its first holder met:
 * marked again (possible, then reachable), drip__retain_unpath takes it off the first one. */
uint32_t drip__retain_path(struct drip__retain *r, bool root, uint32_t hnode, uintptr_t src, uint32_t off,
                           uint32_t site, uint64_t size, int kind, bool inherited);
void drip__retain_unpath(struct drip__retain *r, uint32_t node, uint64_t size, int kind, bool inherited);

/* Block idx was just marked (reachable, or possible) from holder (block index + 1, or 0: a root
 * word) whose first byte is at hbase; the pointer lies at src (with want_links only). */
static inline void drip__retain_mark(struct drip__retain *r, size_t idx, uint32_t holder, uintptr_t hbase, uintptr_t src)
{
    if (!r->link)
        return;
    if (holder) {
        r->link[idx].parent = holder;
        r->link[idx].off = src - hbase > UINT32_MAX ? UINT32_MAX : (uint32_t)(src - hbase);
    } else {
        uint32_t rid = drip__retain_root(r, src);
        r->link[idx].parent = rid == UINT32_MAX ? 0 : DRIP_RET_ROOT | rid;
        r->link[idx].off = 0;
    }
}

/* A start pointer from a root or a reachable block to block idx: an edge of the heap graph. */
static inline void drip__retain_edge(struct drip__retain *r, size_t idx, uint32_t holder, uintptr_t src)
{
    if (!r->want_edges)
        return;
    uint32_t h = holder ? holder - 1 : drip__retain_root(r, src);
    if (!holder)
        h = h == UINT32_MAX ? h : (DRIP_RET_ROOT | h);
    if (h != UINT32_MAX)
        drip__retain_edge_slow(r, h, (uint32_t)idx);
}

/* ---- the summary (flat, so a snapshot sends it through a pipe as it is) ---- */
struct drip__rsum_root {
    uintptr_t addr;     /* the holding word */
    uintptr_t ret;      /* stack: the return address found below the word (names the frame); 0 */
    uintptr_t start;    /* stack, tls, register: the thread's start routine (0: the main thread) */
    uintptr_t lo, hi;   /* memory: the mapping that holds it */
    int32_t tid;
    uint32_t kind;      /* enum drip_root_kind */
    /* tls: the module (load bias) whose static TLS block holds it and the offset in that block
     * (has_tls 1), or whose dynamic block the thread's DTV entry at it points to (2; tls_off: the
     * module's TLS id);
     * memory: the stack that mmap'd the mapping (0: unknown; then lo-hi is /proc's mapping) */
    uintptr_t tls_bias, tls_off;
    uint32_t has_tls, map_site;
};
struct drip__rsum_node {   /* a path: a chain of allocation sites from a root word */
    uint32_t prev;         /* DRIP_RET_ROOT | root index, or the index of the previous node */
    uint32_t site;
    uint32_t in_min, in_max;       /* offsets, in the previous hop's blocks, of the pointers here */
    uint32_t self_min, self_max;   /* offsets of the links between blocks of this hop (a list) */
    uint32_t depth, pad;           /* hops from the root word, this one included */
    uint64_t bytes, blocks;        /* the blocks whose path ends here */
};
struct drip__rsum_held {   /* a record's blocks (kind, node's site) held along one path */
    uint32_t node, kind;
    uint64_t bytes, blocks;
};
struct drip__rsum_ret {    /* retained sizes: what the root words lo..hi hold between them */
    uint32_t lo, hi;
    uint64_t bytes, blocks;
};
struct drip__rsum_site {   /* retained sizes per allocation site */
    uint32_t site, pad;
    uint64_t bytes, blocks;
};
enum { DRIP_WHY_HOPS = 32 };
struct drip__rsum_why {    /* log_roots: how a record's first block (in address order) was reached */
    uint32_t kind, site, root, n;   /* n pairs in chain, from the root's block down to the block */
    uintptr_t chain[2 * DRIP_WHY_HOPS];   /* (block address, offset of the pointer to the next);
                                           * address 0: a gap of `offset` blocks left out */
};
enum { DRIP_DOM_NOT_ASKED = 0, DRIP_DOM_DONE, DRIP_DOM_OVER_BUDGET, DRIP_DOM_OOM };
struct drip__rsum {
    size_t total;   /* bytes of the whole buffer, arrays included */
    uint32_t nroots, nnodes, nheld, nret, nsite, dom, nwhy, pad;
    long long dom_us, sum_us;   /* the dominator tree's time; the whole summary's */
    uint64_t graph_nodes, graph_edges;
    /* then, 8-aligned: roots, nodes, held, ret, site */
};
#define DRIP_RSUM_ROOTS(s) ((struct drip__rsum_root *)((s) + 1))
#define DRIP_RSUM_NODES(s) ((struct drip__rsum_node *)(DRIP_RSUM_ROOTS(s) + (s)->nroots))
#define DRIP_RSUM_HELD(s) ((struct drip__rsum_held *)(DRIP_RSUM_NODES(s) + (s)->nnodes))
#define DRIP_RSUM_RET(s) ((struct drip__rsum_ret *)(DRIP_RSUM_HELD(s) + (s)->nheld))
#define DRIP_RSUM_SITE(s) ((struct drip__rsum_site *)(DRIP_RSUM_RET(s) + (s)->nret))
#define DRIP_RSUM_WHY(s) ((struct drip__rsum_why *)(DRIP_RSUM_SITE(s) + (s)->nsite))

/* What retain.c needs to name the roots: the scan's view of the threads. */
struct drip__retain_ctx {
    const struct drip__roots *rt;
    uintptr_t my_sp;     /* the exiting (or checking) thread's stack pointer where the scan began */
    bool racy;           /* a task runs on: read the program's memory through drip__safe_read */
    long long budget_us; /* for the dominator tree (with want_edges); 0: over budget at once */
    bool log_roots;      /* also the chain of blocks to each record's first block */
};

/* Retained sizes (retain_dom.c): what the root words and the sites hold, into d (arena memory).
 * Returns DRIP_DOM_DONE, DRIP_DOM_OVER_BUDGET or DRIP_DOM_OOM; *us: the time it took. */
struct drip__dom_out {
    struct drip__rsum_ret *ret;
    size_t nret, ret_cap;
    struct drip__rsum_site *site;
    size_t nsite, site_cap;
    uint64_t graph_nodes;
};
int drip__retain_dominators(struct drip__retain *r, const struct drip__block *b, size_t n,
                            const struct drip__retain_ctx *ctx, struct drip__dom_out *d, long long *us);

/* Names the root words (reads the program's stacks and code): while the world is stopped. */
void drip__retain_name_roots(struct drip__retain *r, const struct drip__retain_ctx *ctx);
/* Builds the summary (arena memory; NULL when out of memory) from the recording and, with
 * want_links, the classified blocks b[0..n) (NULL otherwise); reads only drip's memory, so the
 * program may run meanwhile. */
struct drip__rsum *drip__retain_summarize(struct drip__retain *r, const struct drip__block *b, size_t n,
                                          const struct drip__retain_ctx *ctx);

/* The summary as raw report lines (retain_raw.c); the sites its paths name too. */
struct drip_writer;
struct drip__siteset;
/* drip__leak_report with retained sizes when retainers (report.c); want (NULL: the leak report):
 * "retainers" (the JSON of /debug/drip/retainers) or "retained" (the pprof of
 * /debug/pprof/retained), written on json_fd. */
int drip__leak_report_ex(int text_fd, int json_fd, int final, bool retainers, const char *want);
void drip__retain_raw(struct drip_writer *w, struct drip__siteset *set, const struct drip__rsum *s);

#endif
