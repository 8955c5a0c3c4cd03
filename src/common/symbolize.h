/* symbolize.h — addresses to function, file, line and module, with elfutils libdw.
 * Used at report time (never in a hook): it allocates through libc, so inside a traced process
 * it must run with drip's reentrancy guard set. */
#ifndef DRIP_COMMON_SYMBOLIZE_H
#define DRIP_COMMON_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct drip_frame {
    uintptr_t addr;        /* the return address as captured */
    const char *function;  /* demangled; NULL when unknown */
    const char *file;      /* NULL when no line information */
    int line;
    const char *module;    /* path of the ELF file; NULL when no module maps the address */
};

struct drip_symbolizer;

/* A symbolizer for process pid (getpid() for the calling process). NULL on failure. */
struct drip_symbolizer *drip_symbolizer_new(pid_t pid);
/* Fills *f for a return address (looked up at addr - 1, inside the call instruction). The
 * strings belong to the symbolizer and live until drip_symbolizer_free. */
void drip_symbolize(struct drip_symbolizer *s, uintptr_t addr, struct drip_frame *f);
void drip_symbolizer_free(struct drip_symbolizer *s);
/* Names to use before asking libdw: fn fills *f and returns 1 for an address it knows (drip keeps
 * the names of code that was unloaded, whose addresses libdw can no longer resolve). */
void drip_symbolizer_set_override(struct drip_symbolizer *s, int (*fn)(uintptr_t addr, struct drip_frame *f));

/* The GNU build ID of the module mapping addr, in hex, into out ("" when it has none). */
void drip_symbolizer_build_id(struct drip_symbolizer *s, uintptr_t addr, char *out, size_t cap);

#endif
