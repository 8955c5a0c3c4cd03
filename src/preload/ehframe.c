/* ehframe.c — drip's one reader of DWARF call frame information: LEB128 and DW_EH_PE_* values,
 * CIEs and FDEs, the .eh_frame_hdr search table, and the CFA interpreter. Used by modules.c
 * (which modules keep frame pointers) and cfi.c (the .eh_frame stack walker). It models only
 * what those need on x86-64: the CFA from %rsp or %rbp plus an offset, where %rbp was saved,
 * whether the return address is at CFA-8; anything else is "unsupported" and the callers fall
 * back to libunwind. Written with the names of <dwarf.h>.
 * Reads only mapped memory the dynamic linker already trusts; no locks, no allocation.
 */
#include "internal.h"
#include "ehframe.h"

#include <dwarf.h>
#include <string.h>

uint64_t drip__uleb(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (*p < end) {
        uint8_t b = *(*p)++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    return v;
}

int64_t drip__sleb(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;   /* unsigned: a group shifted into bit 63 would overflow int64_t */
    unsigned shift = 0;
    uint8_t b = 0;
    while (*p < end) {
        b = *(*p)++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* The value format is the low 4 bits; the application (pcrel, datarel) is the caller's. */
int drip__enc_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case DW_EH_PE_absptr: return 8;
    case DW_EH_PE_udata2: case DW_EH_PE_sdata2: return 2;
    case DW_EH_PE_udata4: case DW_EH_PE_sdata4: return 4;
    case DW_EH_PE_udata8: case DW_EH_PE_sdata8: return 8;
    default: return 0;   /* uleb128, sleb128: not in what GNU tools write for FDEs */
    }
}

int64_t drip__read_enc(const uint8_t *p, uint8_t enc)
{
    switch (enc & 0x0f) {
    case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8: { int64_t v; memcpy(&v, p, 8); return v; }
    case DW_EH_PE_udata4: { uint32_t v; memcpy(&v, p, 4); return v; }
    case DW_EH_PE_sdata4: { int32_t v; memcpy(&v, p, 4); return v; }
    case DW_EH_PE_udata2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case DW_EH_PE_sdata2: { int16_t v; memcpy(&v, p, 2); return v; }
    default: return 0;
    }
}

int drip__parse_cie(const uint8_t *cie, struct drip__cie *c)
{
    uint32_t len;
    memcpy(&len, cie, 4);
    if (len == 0 || len == 0xffffffffu)   /* a terminator; 64-bit DWARF */
        return -1;
    const uint8_t *end = cie + 4 + len, *p = cie + 8;
    uint8_t version = *p++;
    const char *aug = (const char *)p;
    p += strnlen(aug, (size_t)(end - p)) + 1;
    c->code_align = drip__uleb(&p, end);
    c->data_align = drip__sleb(&p, end);
    uint64_t ra = version == 1 ? *p++ : drip__uleb(&p, end);
    if (ra != DRIP_DWARF_RA)
        return -1;
    c->fde_enc = DW_EH_PE_absptr;
    c->has_z = aug[0] == 'z';
    if (c->has_z) {
        uint64_t alen = drip__uleb(&p, end);
        const uint8_t *a = p;
        p += alen;
        for (const char *ch = aug + 1; *ch; ch++) {
            if (*ch == 'R')
                c->fde_enc = *a++;
            else if (*ch == 'L')
                a++;
            else if (*ch == 'P') {
                int sz = drip__enc_size(*a++);
                if (!sz)
                    return -1;
                a += sz;
            } else if (*ch == 'S') {
                return -1;   /* a signal frame: libunwind knows those */
            } else if (*ch != 'B') {
                return -1;
            }
        }
    } else if (aug[0]) {
        return -1;
    }
    c->insns = p;
    c->end = end;
    return 0;
}

int drip__parse_fde(const uint8_t *fde, struct drip__fde *f) { return drip__parse_fde_cached(fde, f, NULL); }

int drip__parse_fde_cached(const uint8_t *fde, struct drip__fde *f, struct drip__cie_cache *cache)
{
    uint32_t len;
    int32_t cie_off;
    memcpy(&len, fde, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    memcpy(&cie_off, fde + 4, 4);
    if (cie_off == 0)
        return -1;   /* a CIE, not an FDE */
    const uint8_t *cie = fde + 4 - cie_off;
    if (!cache) {
        if (drip__parse_cie(cie, &f->cie) != 0)
            return -1;
    } else {
        if (cache->at != cie) {
            cache->at = cie;
            cache->rc = drip__parse_cie(cie, &cache->cie);
        }
        if (cache->rc != 0)
            return -1;
        f->cie = cache->cie;
    }
    int sz = drip__enc_size(f->cie.fde_enc);
    if (!sz)
        return -1;
    const uint8_t *q = fde + 8, *end = fde + 4 + len;
    /* pc_begin (q) is not read: the callers take the start from .eh_frame_hdr */
    f->range = drip__read_enc(q + sz, f->cie.fde_enc & 0x0f);
    q += 2 * sz;
    if (f->cie.has_z)
        q += drip__uleb(&q, end);
    f->insns = q;
    f->end = end;
    return 0;
}

int drip__eh_hdr_open(const uint8_t *hdr, struct drip__eh_hdr *h)
{
    if (!hdr || hdr[0] != 1)
        return -1;
    uint8_t ptr_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
    if (table_enc != (DW_EH_PE_datarel | DW_EH_PE_sdata4) || !drip__enc_size(ptr_enc) || !drip__enc_size(count_enc))
        return -1;
    const uint8_t *p = hdr + 4 + drip__enc_size(ptr_enc);   /* past eh_frame_ptr */
    h->base = hdr;
    h->count = drip__read_enc(p, count_enc);
    h->table = p + drip__enc_size(count_enc);
    return 0;
}

void drip__eh_hdr_entry(const struct drip__eh_hdr *h, int64_t i, uintptr_t *start, const uint8_t **fde)
{
    int32_t s, f;
    memcpy(&s, h->table + i * 8, 4);
    memcpy(&f, h->table + i * 8 + 4, 4);
    *start = (uintptr_t)(h->base + s);
    *fde = h->base + f;
}

int64_t drip__eh_hdr_lookup(const struct drip__eh_hdr *h, uintptr_t pc)
{
    int64_t a = 0, b = h->count;   /* the first entry whose start > pc */
    while (a < b) {
        int64_t mid = (a + b) / 2;
        int32_t start;
        memcpy(&start, h->table + mid * 8, 4);
        if ((uintptr_t)(h->base + start) <= pc)
            a = mid + 1;
        else
            b = mid;
    }
    return a - 1;
}

/* ---- the CFA interpreter ------------------------------------------------------------------- */
static void set_offset(struct drip__cfa *st, uint64_t reg, int64_t off)
{
    if (reg == DRIP_DWARF_RBP) {
        st->row.rbp_saved = 1;
        st->row.rbp_off = off;
    } else if (reg == DRIP_DWARF_RA) {
        st->row.ra_ok = off == -8;
        st->row.ra_undefined = 0;
    }
}

static void restore(struct drip__cfa *st, uint64_t reg)
{
    if (!st->initial_set)
        return;
    if (reg == DRIP_DWARF_RBP) {
        st->row.rbp_saved = st->initial.rbp_saved;
        st->row.rbp_off = st->initial.rbp_off;
    } else if (reg == DRIP_DWARF_RA) {
        st->row.ra_ok = st->initial.ra_ok;
        st->row.ra_undefined = st->initial.ra_undefined;
    }
}

/* A register's rule that the walkers cannot follow: fine for any register but %rbp and the
 * return address. */
static void other_rule(struct drip__cfa *st, uint64_t reg)
{
    if (reg == DRIP_DWARF_RBP || reg == DRIP_DWARF_RA)
        st->unsupported = 1;
}

static void cfa_register(struct drip__cfa *st, uint64_t reg)
{
    st->row.cfa_reg = (int)reg;
    if (reg == DRIP_DWARF_RBP && !st->first)
        st->first = DRIP_CFA_FIRST_RBP;
}

/* A factored offset: wraps (as the walkers' address arithmetic does) rather than overflow. */
static int64_t scaled(int64_t v, int64_t align) { return (int64_t)((uint64_t)v * (uint64_t)align); }

/* 1 when n bytes of operand are left before end; else the program is cut short: stop there. */
static int operand(struct drip__cfa *st, const uint8_t *p, const uint8_t *end, uint64_t n)
{
    if ((uint64_t)(end - p) >= n)
        return 1;
    st->unsupported = 1;
    st->stopped = 1;
    return 0;
}

void drip__cfa_execute(struct drip__cfa *st, const struct drip__cie *c, const uint8_t *p, const uint8_t *end,
                       uintptr_t loc, uintptr_t target)
{
    struct drip__cfa_row stack[8];   /* DW_CFA_remember_state */
    int depth = 0;
    int sz = drip__enc_size(c->fde_enc);
    while (p < end && !st->stopped) {
        uint8_t op = *p++;
        uint64_t reg, len;
        switch (op & 0xc0) {   /* the three opcodes with an operand in their low 6 bits */
        case DW_CFA_advance_loc:
            loc += (op & 0x3f) * c->code_align;
            if (loc > target)
                return;
            continue;
        case DW_CFA_offset:
            set_offset(st, op & 0x3f, scaled((int64_t)drip__uleb(&p, end), c->data_align));
            continue;
        case DW_CFA_restore:
            restore(st, op & 0x3f);
            continue;
        }
        switch (op) {
        case DW_CFA_nop:
            break;
        case DW_CFA_set_loc:
            if (!operand(st, p, end, sz ? (uint64_t)sz : UINT64_MAX))   /* 0: cannot skip it */
                break;
            loc = (uintptr_t)drip__read_enc(p, c->fde_enc & 0x0f);
            p += sz;
            if (loc > target)
                return;
            break;
        case DW_CFA_advance_loc1:
            if (!operand(st, p, end, 1))
                break;
            loc += *p++ * c->code_align;
            if (loc > target)
                return;
            break;
        case DW_CFA_advance_loc2: {
            uint16_t d;
            if (!operand(st, p, end, 2))
                break;
            memcpy(&d, p, 2);
            p += 2;
            loc += d * c->code_align;
            if (loc > target)
                return;
            break;
        }
        case DW_CFA_advance_loc4: {
            uint32_t d;
            if (!operand(st, p, end, 4))
                break;
            memcpy(&d, p, 4);
            p += 4;
            loc += d * c->code_align;
            if (loc > target)
                return;
            break;
        }
        case DW_CFA_offset_extended:
            reg = drip__uleb(&p, end);
            set_offset(st, reg, scaled((int64_t)drip__uleb(&p, end), c->data_align));
            break;
        case DW_CFA_offset_extended_sf:
            reg = drip__uleb(&p, end);
            set_offset(st, reg, scaled(drip__sleb(&p, end), c->data_align));
            break;
        case DW_CFA_GNU_negative_offset_extended:
            reg = drip__uleb(&p, end);
            set_offset(st, reg, scaled((int64_t)(0 - drip__uleb(&p, end)), c->data_align));
            break;
        case DW_CFA_restore_extended:
            restore(st, drip__uleb(&p, end));
            break;
        case DW_CFA_undefined:
        case DW_CFA_same_value:
            reg = drip__uleb(&p, end);
            if (reg == DRIP_DWARF_RBP)
                st->row.rbp_saved = 0;
            /* an undefined return address marks the outermost frame (glibc's _start, the
             * dynamic loader's): the walk ends there, complete */
            if (reg == DRIP_DWARF_RA && op == DW_CFA_undefined)
                st->row.ra_undefined = 1, st->row.ra_ok = 0;
            else if (reg == DRIP_DWARF_RA)
                st->unsupported = 1;
            break;
        case DW_CFA_register:
            reg = drip__uleb(&p, end);
            drip__uleb(&p, end);
            other_rule(st, reg);
            break;
        case DW_CFA_remember_state:
            if (depth == 8)
                st->unsupported = 1;
            else
                stack[depth++] = st->row;
            break;
        case DW_CFA_restore_state:
            if (!depth)
                st->unsupported = 1;
            else
                st->row = stack[--depth];
            break;
        case DW_CFA_def_cfa:
            cfa_register(st, drip__uleb(&p, end));
            st->row.cfa_off = (int64_t)drip__uleb(&p, end);
            break;
        case DW_CFA_def_cfa_sf:
            cfa_register(st, drip__uleb(&p, end));
            st->row.cfa_off = scaled(drip__sleb(&p, end), c->data_align);
            break;
        case DW_CFA_def_cfa_register:
            cfa_register(st, drip__uleb(&p, end));
            break;
        case DW_CFA_def_cfa_offset:
            st->row.cfa_off = (int64_t)drip__uleb(&p, end);
            break;
        case DW_CFA_def_cfa_offset_sf:
            st->row.cfa_off = scaled(drip__sleb(&p, end), c->data_align);
            break;
        case DW_CFA_def_cfa_expression:   /* signal trampolines, PLT stubs */
            st->unsupported = 1;
            if (!st->first)
                st->first = DRIP_CFA_FIRST_EXPRESSION;
            len = drip__uleb(&p, end);
            if (operand(st, p, end, len))
                p += len;
            break;
        case DW_CFA_expression:
        case DW_CFA_val_expression:
            reg = drip__uleb(&p, end);
            len = drip__uleb(&p, end);
            if (operand(st, p, end, len))
                p += len;
            other_rule(st, reg);
            break;
        case DW_CFA_val_offset:
            reg = drip__uleb(&p, end);
            drip__uleb(&p, end);
            other_rule(st, reg);
            break;
        case DW_CFA_val_offset_sf:
            reg = drip__uleb(&p, end);
            drip__sleb(&p, end);
            other_rule(st, reg);
            break;
        case DW_CFA_GNU_args_size:
            drip__uleb(&p, end);
            break;
        default:   /* an opcode whose operands it cannot skip */
            st->unsupported = 1;
            st->stopped = 1;
            break;
        }
    }
}
