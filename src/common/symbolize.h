/* symbolize.h — one named frame, as the report writers print it. The names come from the
 * symbolizer of the `drip` binary (src/cli/symbolizer.c, libdw) or, when none could run, from
 * the raw report's module table (module path and offset only: see raw.h). */
#ifndef DRIP_COMMON_SYMBOLIZE_H
#define DRIP_COMMON_SYMBOLIZE_H

#include <stdint.h>

struct drip_frame {
    uintptr_t addr;        /* the return address as captured */
    const char *function;  /* demangled; NULL when unknown */
    const char *file;      /* NULL when no line information */
    int line;
    const char *module;    /* path of the ELF file; NULL when no module maps the address */
    const char *build_id;  /* the module's GNU build ID in hex ("" or NULL: none) */
    uintptr_t offset;      /* addr relative to the module's load bias */
    const char *symbol;    /* the symbol table's own name (mangled, with its version: what
                            * valgrind's suppressions and --gen-suppressions name) when it is
                            * not function's; NULL: the same as function */
    const char *inlined;   /* the calls inlined at addr, as valgrind lists them before the
                            * function (their DWARF names, innermost first, joined by \x1f);
                            * NULL: none, or no line information asked */
};

#endif
