/* retention_int.h — what retention.c and retention_live.c share: the named roots and the
 * retention state built from a raw report. Internal to src/common. */
#ifndef DRIP_COMMON_RETENTION_INT_H
#define DRIP_COMMON_RETENTION_INT_H

#include "retention.h"
#include "writer.h"

#include <string.h>

enum { K_GLOBAL, K_MAPPING, K_STACK, K_TLS, K_REGISTER };

struct root {
    int kind;
    char *key;                 /* equal keys: the same variable, frame, thread or mapping */
    struct drip_data_name d;   /* global */
    struct drip_frame fn;      /* stack: the function of the frame; start routine otherwise */
    struct drip_frame thread;  /* the thread's start routine (function NULL: the main thread) */
    struct drip_frame mapper;  /* mapping: the function that mmap'd it (function NULL: unknown) */
    uintptr_t base;            /* offsets are from here: the variable's start, else the word */
};

struct retainer {
    size_t root;   /* a root with this key */
    uint64_t bytes, blocks;
};

struct drip_retention {
    const struct drip_raw *raw;
    const struct drip_symbols *sym;
    const struct drip_raw_retain *rt;
    struct root *roots;
    struct retainer *ret;
    size_t nret;
    uint32_t *by_site;   /* held entries by (site of their path, index); built on first need */
    size_t nby;
    int by_site_built;
};

enum { MAX_HOPS = 32 };
enum { GAP = UINT32_MAX };   /* in a chain: hops left out (an elided path) */

/* The chain of path ids from the root (out[0]) to path p, GAP where hops were left out; the
 * count, 0 when broken. *root: the root id. */
int drip__retention_chain(const struct drip_raw_retain *rt, uint32_t p, uint32_t *out, uint32_t *root);
/* Root i, named on first use (naming a global may read a module's DWARF variables). */
struct root *drip__retention_root(struct drip_retention *t, size_t i);
/* The same, with a global's definition file:line looked up (for printing it). */
struct root *drip__retention_root_where(struct drip_retention *t, size_t i);
/* Root i as the text report and the JSON print it (retention_roots.c). */
void drip__retention_root_text(struct drip_writer *w, struct drip_retention *t, size_t i);
void drip__retention_root_json(struct drip_writer *w, struct drip_retention *t, size_t i);
void drip__retention_dtv_var(struct drip_writer *w, struct drip_retention *t, size_t root, uint32_t off_min, uint32_t off_max);

static inline const char *drip__retention_base(const char *p)   /* a path's file name */
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p ? p : "?";
}

static inline void drip__retention_json_str(struct drip_writer *w, const char *s)   /* NULL: null */
{
    if (s)
        drip__put_json_str(w, s);
    else
        drip__puts(w, "null");
}

/* The allocating function of a site (its first frame), named. */
struct drip_frame drip__retention_site_top(struct drip_retention *t, uint32_t site);

#endif
