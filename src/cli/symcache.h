/* symcache.h — what the symbolizer learned about a module, kept on disk per build ID so that the
 * next report on the same binaries does not open their ELF and debug files again.
 *
 * One file per build ID under $XDG_CACHE_HOME/drip (else ~/.cache/drip): a header, then one line
 * per address offset (offset, whether file:line were looked up, line, function, file). Written to
 * a temporary file and renamed, so concurrent drip processes never see half a file (the last
 * writer wins; each file is whole). The directory is kept under 64 MiB, oldest files removed
 * first. A file is ignored when the separate debug file for its build ID appeared, changed or
 * went away since it was written. DRIP_CACHE=0 turns the cache off. */
#ifndef DRIP_CLI_SYMCACHE_H
#define DRIP_CLI_SYMCACHE_H

#include <stdint.h>

struct drip_symcache;

/* The cache of one module (loaded when a file exists), or NULL: no build ID, cache off. */
struct drip_symcache *drip_symcache_open(const char *build_id);
/* 1 when off is known with file:line looked up (or need_lines = 0); the strings (NULL: none)
 * live until drip_symcache_close. */
int drip_symcache_get(struct drip_symcache *c, uintptr_t off, int need_lines, const char **function,
                      const char **file, int *line);
void drip_symcache_put(struct drip_symcache *c, uintptr_t off, int lines, const char *function, const char *file,
                       int line);
/* Writes what is new, then frees. NULL is fine. */
void drip_symcache_close(struct drip_symcache *c);

#endif
