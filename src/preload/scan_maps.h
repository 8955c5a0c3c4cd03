/* scan_maps.h — the memory the scan may read: /proc/self/maps of the stopped world, and sets of
 * address ranges with how each may be read (scan_maps.c). Arena memory only. */
#ifndef DRIP_PRELOAD_SCAN_MAPS_H
#define DRIP_PRELOAD_SCAN_MAPS_H

#include "scan.h"

/* How a range may be read: directly, or through drip__safe_read because a task still running
 * could unmap it (RACY) or because it is file-backed (FILE: a truncated file raises SIGBUS). */
enum { READ_DIRECT = 0, READ_RACY = 1, READ_FILE = 2 };

/* zero: a private anonymous mapping (no file, [heap], [stack], [anon:NAME]), where a page the
 * program never touched (neither present nor swapped out) reads as zeroes: no pointer there. */
struct range { uintptr_t lo, hi; int how; int zero; };

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
/* Clips [lo, hi) to the readable mappings, less drip's arena, and adds the pieces to out; of a
 * private anonymous mapping, only the pages the program touched (/proc/self/pagemap): reading a
 * page never touched would fault in a zero page for nothing. *pagemap: -2 before the first call
 * of a scan; pagemap is opened once, on first need, and drip__pagemap_close closes it. */
void drip__add_readable(struct rangeset *out, const struct maps *m, uintptr_t lo, uintptr_t hi, int *pagemap);
void drip__pagemap_close(int *pagemap);
/* Can [lo, hi) be read directly, in one piece? */
bool drip__maps_direct(const struct maps *m, uintptr_t lo, uintptr_t hi);

#endif
