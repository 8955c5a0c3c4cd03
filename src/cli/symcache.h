/* symcache.h — what the symbolizer learned about a module, kept on disk per build ID so that the
 * next report on the same binaries does not open their ELF and debug files again.
 *
 * One file per build ID under $XDG_CACHE_HOME/drip (else ~/.cache/drip): a header with the
 * format's version, then one line per address offset (offset, how file:line were looked up:
 * DRIP_SYMCACHE_*, line, function, file, the symbol table's own name when it is not the
 * function's: mangled, or with its version, and the calls inlined at the address, found with the
 * lines). A file of an older version is not read. Written to
 * a temporary file and renamed, so concurrent drip processes never see half a file (the last
 * writer wins; each file is whole). The directory is kept under 64 MiB, oldest files removed
 * first. A file is ignored when the separate debug file for its build ID appeared, changed or
 * went away since it was written. DRIP_CACHE=0 turns the cache off. */
#ifndef DRIP_CLI_SYMCACHE_H
#define DRIP_CLI_SYMCACHE_H

#include <stdint.h>

struct drip_symcache;

/* How an entry's file:line were found (its second field). An answer must not depend on what
 * earlier runs asked: a frame asked without its line gets none from an entry that has one only
 * because a later question wanted it (a reachable summary line in the second run of `ls` named
 * `getpwuid (getXXbyYY.c:121)`, in the first run `getpwuid`). */
enum {
    DRIP_SYMCACHE_NOLINES = 0,   /* not looked up (symbol tables only) */
    DRIP_SYMCACHE_LINES = 1,     /* looked up because asked for (separate debug info) */
    DRIP_SYMCACHE_OWN = 2,       /* the module carries its own DWARF: part of every answer */
};

/* The cache of one module (loaded when a file exists), or NULL: no build ID, cache off. */
struct drip_symcache *drip_symcache_open(const char *build_id);
/* The entry's DRIP_SYMCACHE_* when off is known with file:line looked up (or need_lines = 0;
 * file:line and the inlined calls are then left out of a DRIP_SYMCACHE_LINES entry), else -1.
 * The strings (NULL: none; *symbol NULL: the same as *function; symbol and inlined may be NULL)
 * live until drip_symcache_close, also when the entry is replaced meanwhile. */
int drip_symcache_lookup(struct drip_symcache *c, uintptr_t off, int need_lines, const char **function,
                         const char **symbol, const char **inlined, const char **file, int *line);
/* drip_symcache_lookup(...) >= 0. */
int drip_symcache_get(struct drip_symcache *c, uintptr_t off, int need_lines, const char **function,
                      const char **file, int *line);
/* symbol: the symbol table's name when it is not function (NULL: the same); inlined: the calls
 * inlined at off (drip_frame.inlined; NULL: none). */
void drip_symcache_put(struct drip_symcache *c, uintptr_t off, int lines, const char *function, const char *symbol,
                       const char *inlined, const char *file, int line);
/* Writes what is new, then frees (a cache kept by drip_symcache_keep stays loaded). NULL is fine. */
void drip_symcache_close(struct drip_symcache *c);
/* From now on, caches stay loaded after drip_symcache_close and drip_symcache_open returns the
 * loaded one (drip run's symbolizer server: one load per build ID for the whole run). */
void drip_symcache_keep(void);

#endif
