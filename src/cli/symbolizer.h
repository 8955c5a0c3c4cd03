/* symbolizer.h — names for a raw report's addresses (function, file, line, module), with
 * elfutils libdw, in the `drip` process: never inside the traced program.
 *
 * Each module of the raw report is opened on first need from its path and load bias (so code that
 * dlclose unloaded is named from its file as it was). Debug information comes from local files
 * only: the module itself, /usr/lib/debug/.build-id/xx/yyyy.debug, and a .gnu_debuglink beside
 * it. debuginfod is asked only when `debuginfod` is set (DEBUGINFOD_URLS, with a time limit). */
#ifndef DRIP_CLI_SYMBOLIZER_H
#define DRIP_CLI_SYMBOLIZER_H

#include "raw.h"

struct drip_symbolizer;

/* A symbolizer for r's modules; r must outlive it. cache: use and update the on-disk cache of
 * names per build ID (symcache.h). NULL when out of memory. */
struct drip_symbolizer *drip_symbolizer_new(const struct drip_raw *r, int debuginfod, int cache);
/* The drip_symbols interface the report writers use. */
struct drip_symbols drip_symbolizer_symbols(struct drip_symbolizer *s);
void drip_symbolizer_free(struct drip_symbolizer *s);

/* ---- for symdata.c: naming variables (the roots of retention paths) ---- */
#include <elfutils/libdwfl.h>
Dwfl_Module *drip_symbolizer_dwfl(struct drip_symbolizer *s, const struct drip_raw_module *rm);
const struct drip_raw *drip_symbolizer_raw(struct drip_symbolizer *s);
/* dwfl_module_addrinfo(addr) of rm's module, answered from the symbolizer's sorted symbol index
 * where that gives libdw's own choice. */
const char *drip_symbolizer_addrinfo(struct drip_symbolizer *s, const struct drip_raw_module *rm, uintptr_t addr,
                                     GElf_Off *off, GElf_Sym *sym);
void **drip_symbolizer_data_slot(struct drip_symbolizer *s);
struct drip_symcache;
struct drip_symcache *drip_symbolizer_cache(struct drip_symbolizer *s, const struct drip_raw_module *rm);
/* symdata.c: the drip_symbols data callback (ctx: the symbolizer), and its index's release. */
int drip__symdata_name(void *ctx, uintptr_t addr, struct drip_data_name *d);
void drip__symdata_where(void *ctx, struct drip_data_name *d);
int drip__symdata_tls(void *ctx, const struct drip_raw_module *m, uintptr_t off, struct drip_data_name *d);
void drip__symdata_free(void *data);

#endif
