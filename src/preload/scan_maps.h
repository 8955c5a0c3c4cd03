/* scan_maps.h — the memory the scan may read: /proc/self/maps of the stopped world, and sets of
 * address ranges with how each may be read (scan_maps.c). Arena memory only. */
#ifndef DRIP_PRELOAD_SCAN_MAPS_H
#define DRIP_PRELOAD_SCAN_MAPS_H

#include "scan.h"

/* How a range may be read: directly, or through drip__safe_read because a task still running
 * could unmap it (RACY) or because it is file-backed (FILE: a truncated file raises SIGBUS). */
enum { READ_DIRECT = 0, READ_RACY = 1, READ_FILE = 2 };

struct range { uintptr_t lo, hi; int how; };

struct rangeset {
    struct range *r;
    size_t n, cap;
};

struct maps {
    struct rangeset readable;   /* merged where adjacent and read the same way */
    int racy;                   /* READ_RACY when some task runs on: nothing is read directly */
    uintptr_t stack_hi;         /* end of the [stack] mapping */
    uintptr_t ldso_lo, ldso_hi; /* executable range of the dynamic linker */
};

bool drip__rs_add_how(struct rangeset *s, uintptr_t lo, uintptr_t hi, int how);
bool drip__rs_add(struct rangeset *s, uintptr_t lo, uintptr_t hi);
void drip__rs_free(struct rangeset *s);
/* Reads /proc/self/maps into m (readable ranges, merged). false when out of memory. */
/* The hex number at *p (a /proc/self/maps address), *p left on the first character after it. */
uintptr_t drip__maps_hex(const char **p);
bool drip__maps_read(struct maps *m);
/* The same from maps text the caller read (the scan reads /proc/self/maps once for itself and the
 * roots: drip__roots_maps_text, drip__roots_parse). */
bool drip__maps_parse(struct maps *m, const char *text);
/* How r may be read, given whether a task runs on. */
int drip__how_of(const struct maps *m, const struct range *r);
/* Clips [lo, hi) to the readable mappings, less drip's arena, and adds the pieces to out. */
void drip__add_readable(struct rangeset *out, const struct maps *m, uintptr_t lo, uintptr_t hi);
/* Can [lo, hi) be read directly, in one piece? */
bool drip__maps_direct(const struct maps *m, uintptr_t lo, uintptr_t hi);

/* The page directory of find_block (scan.c): for each 4 KiB page where some block starts, the
 * index of the first such block + 1 (two levels, arena memory). */
enum { PAGE_SHIFT_ = 12, DIR_BITS = 18, DIR_TOP = 1 << (47 - PAGE_SHIFT_ - DIR_BITS) };
struct drip__pagedir {
    uint32_t **top;   /* DIR_TOP entries */
    uint32_t used[16];   /* the entries of top that were filled, when at most 16 (most heaps) */
    size_t nused;        /* how many were; above 16, every entry is looked at */
};
void drip__dir_free(struct drip__pagedir *d);
/* Builds the directory of the n blocks b (sorted by address). false when out of memory (the
 * lookups then search every block). */
bool drip__dir_build(struct drip__pagedir *d, const struct drip__block *b, size_t n);

#endif
