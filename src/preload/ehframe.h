/* ehframe.h — ehframe.c: drip's one reader of DWARF call frame information (.eh_frame and
 * .eh_frame_hdr, already mapped in every module), for the module table (modules.c: which modules
 * keep frame pointers) and the .eh_frame stack walker (cfi.c). No locks, no allocation. */
#ifndef DRIP_PRELOAD_EHFRAME_H
#define DRIP_PRELOAD_EHFRAME_H

#include "internal.h"

/* x86-64's DWARF register numbers that the walkers follow. */
enum { DRIP_DWARF_RBP = 6, DRIP_DWARF_RSP = 7, DRIP_DWARF_RA = 16 };

uint64_t drip__uleb(const uint8_t **p, const uint8_t *end);
int64_t drip__sleb(const uint8_t **p, const uint8_t *end);
int drip__enc_size(uint8_t enc);   /* bytes of a DW_EH_PE_* encoded value; 0: unsupported */
int64_t drip__read_enc(const uint8_t *p, uint8_t enc);   /* its value, with no pc/data base applied */

/* A CIE, as far as the walkers need it. */
struct drip__cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    int has_z;
    const uint8_t *insns, *end;   /* its initial instructions */
};
/* -1 for what drip's walkers do not handle (signal frames, a return address column other than
 * 16, unknown augmentations). */
int drip__parse_cie(const uint8_t *cie, struct drip__cie *c);

/* An FDE: its CIE, the bytes of code it covers and its CFA program. */
struct drip__fde {
    struct drip__cie cie;
    int64_t range;
    const uint8_t *insns, *end;
};
/* -1 for a CIE, a terminator, a CIE drip does not handle or an address encoding it cannot read. */
int drip__parse_fde(const uint8_t *fde, struct drip__fde *f);
/* The same, with the last CIE parsed kept in *cache (zeroed before the first call): the FDEs of a
 * module mostly share one CIE, which modules.c's sample would otherwise parse for each. */
struct drip__cie_cache {
    const uint8_t *at;
    int rc;
    struct drip__cie cie;
};
int drip__parse_fde_cached(const uint8_t *fde, struct drip__fde *f, struct drip__cie_cache *cache);

/* .eh_frame_hdr: a table of (function start, FDE) sorted by start, both relative to the header. */
struct drip__eh_hdr {
    const uint8_t *base;    /* the header itself: what the entries are relative to */
    const uint8_t *table;
    int64_t count;
};
/* -1 unless version 1 with a DW_EH_PE_datarel | DW_EH_PE_sdata4 table (what every GNU linker
 * writes). */
int drip__eh_hdr_open(const uint8_t *hdr, struct drip__eh_hdr *h);
/* Entry i: the function's start and its FDE. */
void drip__eh_hdr_entry(const struct drip__eh_hdr *h, int64_t i, uintptr_t *start, const uint8_t **fde);
/* The entry of the last function that starts at or below pc; -1: none. */
int64_t drip__eh_hdr_lookup(const struct drip__eh_hdr *h, uintptr_t pc);

/* ---- the CFA interpreter ----------------------------------------------------------------------
 * One row of the call frame table, as far as the walkers need it: where the CFA is, whether and
 * where %rbp was saved, whether the return address is at CFA-8. */
struct drip__cfa_row {
    int cfa_reg;
    int64_t cfa_off;
    int rbp_saved;     /* 1: at CFA + rbp_off; 0: unchanged */
    int64_t rbp_off;
    int ra_ok;         /* the return address is at CFA-8 */
    int ra_undefined;  /* DW_CFA_undefined for the return address: the outermost frame (_start) */
};
enum { DRIP_CFA_FIRST_RBP = 1, DRIP_CFA_FIRST_EXPRESSION = 2 };
struct drip__cfa {
    struct drip__cfa_row row;
    struct drip__cfa_row initial;   /* DW_CFA_restore's row: the row after the CIE's instructions */
    int initial_set;                /* 0 while the CIE's own instructions run: restore is a no-op */
    /* sticky: a rule the walkers cannot follow (a CFA or %rbp or return address by expression,
     * the return address elsewhere than CFA-8, remember_state deeper than 8, ...) */
    int unsupported;
    /* the first thing the program did to the CFA register: moved it onto %rbp, or defined the
     * CFA by an expression (a PLT); 0: neither */
    int first;
    int stopped;       /* an opcode it cannot decode: what follows was not read */
};
/* Runs the CFA instructions [p, end) from code location `loc` until the row that covers
 * `target` (UINTPTR_MAX: the whole program). */
void drip__cfa_execute(struct drip__cfa *st, const struct drip__cie *c, const uint8_t *p, const uint8_t *end,
                       uintptr_t loc, uintptr_t target);

#endif
