/* export.h — export.c: the raw report (src/common/raw.h) out of the traced process, and the
 * names of frames for drip's own uses. */
#ifndef DRIP_PRELOAD_EXPORT_H
#define DRIP_PRELOAD_EXPORT_H

#include "internal.h"

struct dl_phdr_info;
struct drip_writer;
struct drip__suspect;
char *drip__read_maps(void);   /* /proc/self/maps in the arena (NULL: unreadable) */
void drip__maps_free(char *maps);
void drip__maps_path(const char *maps, uintptr_t addr, char *out, size_t cap);
void drip__build_id(const struct dl_phdr_info *info, char *out, size_t cap);
/* The module's program headers, read so that a truncated file cannot fault (count copied). */
int drip__module_phdrs(const struct dl_phdr_info *info, void *out, int max);
void drip__raw_header(struct drip_writer *w, const char *want);
/* Keeps main's argv for the report's command (runtime.c, before main). */
void drip__raw_keep_cmdline(int argc, char **argv);
void drip__raw_modules(struct drip_writer *w, int with_maps);
/* Before a fork: keeps the executable's path and the module lines for the child's report. */
void drip__export_fork_prime(void);
struct drip__siteset { uint8_t *seen; uint32_t n; };   /* which stacks a document already has */
void drip__siteset_init(struct drip__siteset *s);
void drip__raw_site(struct drip_writer *w, struct drip__siteset *set, uint32_t id);
void drip__siteset_free(struct drip__siteset *s);
void drip__raw_suspects(struct drip_writer *w, struct drip__siteset *set, const struct drip__suspect *s, int n);
int drip__raw_memfd(void);
struct drip_frame;
struct drip__names { char *buf; struct drip_frame *f; size_t n; };
int drip__names(const uintptr_t *addrs, size_t n, struct drip__names *names);
void drip__names_free(struct drip__names *names);

#endif
