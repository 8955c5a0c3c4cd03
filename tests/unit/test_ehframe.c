/* Unit tests of drip's DWARF call frame reader (src/preload/ehframe.c) on synthetic .eh_frame
 * bytes: LEB128, a CIE and an FDE as GCC writes them, the CFA interpreter's rows at each step of
 * a frame-pointer prologue, remember/restore_state, DW_CFA_restore, what it refuses (an
 * expression, an unknown opcode, a signal frame, another return-address column), and the
 * .eh_frame_hdr search table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dwarf.h>
#include <string.h>

#include "internal.h"
#include "ehframe.h"

DRIP_TLS int drip__guard;   /* internal.h declares them; the reader does not use them */
DRIP_TLS int *drip__errno_at;

/* ---- a tiny .eh_frame assembler --------------------------------------------------------------- */
struct buf { _Alignas(8) uint8_t b[512]; size_t n; };
static void put(struct buf *o, const void *p, size_t n) { memcpy(o->b + o->n, p, n); o->n += n; }
static void u8(struct buf *o, uint8_t v) { put(o, &v, 1); }
static void u32(struct buf *o, uint32_t v) { put(o, &v, 4); }
static void i32(struct buf *o, int32_t v) { put(o, &v, 4); }
static void bytes(struct buf *o, const uint8_t *p, size_t n) { put(o, p, n); }
/* Patches the length word at `at` to cover what follows it, padded with DW_CFA_nop to 4. */
static void close_record(struct buf *o, size_t at)
{
    while ((o->n - at) % 4)
        u8(o, DW_CFA_nop);
    uint32_t len = (uint32_t)(o->n - at - 4);
    memcpy(o->b + at, &len, 4);
}

/* A CIE as GCC writes it for x86-64 ("zR", code 1, data -8, RA column 16, pcrel|sdata4), with
 * the initial rule CFA = rsp+8, RA at CFA-8. Returns its offset. */
static size_t cie(struct buf *o, const char *aug, uint8_t ra_col)
{
    size_t at = o->n;
    u32(o, 0);   /* length, patched */
    u32(o, 0);   /* CIE id */
    u8(o, 1);    /* version */
    put(o, aug, strlen(aug) + 1);
    u8(o, 1);    /* code_align */
    u8(o, 0x78); /* data_align: sleb -8 */
    u8(o, ra_col);
    if (aug[0] == 'z') {
        u8(o, 1);   /* augmentation data length */
        u8(o, DW_EH_PE_pcrel | DW_EH_PE_sdata4);
    }
    static const uint8_t init[] = {DW_CFA_def_cfa, 7, 8, DW_CFA_offset | 16, 1};
    bytes(o, init, sizeof init);
    close_record(o, at);
    return at;
}

/* An FDE covering `range` bytes with the given CFA program. Returns its offset. */
static size_t fde(struct buf *o, size_t cie_at, int32_t range, const uint8_t *prog, size_t n)
{
    size_t at = o->n;
    u32(o, 0);
    u32(o, (uint32_t)(o->n - cie_at));   /* CIE pointer: back from this field */
    i32(o, 0);                           /* pc_begin (not read: .eh_frame_hdr has it) */
    i32(o, range);
    u8(o, 0);                            /* augmentation data length */
    bytes(o, prog, n);
    close_record(o, at);
    return at;
}

/* push %rbp (1 byte); mov %rsp,%rbp (3); ... at 0x40: a block between remember/restore_state
 * that switches the CFA back to rsp+8 (an early return), restored after it. */
static const uint8_t prologue[] = {
    DW_CFA_advance_loc | 1, DW_CFA_def_cfa_offset, 16, DW_CFA_offset | 6, 2,
    DW_CFA_advance_loc | 3, DW_CFA_def_cfa_register, 6,
    DW_CFA_advance_loc1, 0x3c, DW_CFA_remember_state, DW_CFA_def_cfa, 7, 8, DW_CFA_restore | 6,
    DW_CFA_advance_loc | 2, DW_CFA_restore_state,
};

static struct drip__cfa row_at(const uint8_t *fde_at, uintptr_t begin, uintptr_t pc)
{
    struct drip__fde f;
    assert_int_equal(drip__parse_fde(fde_at, &f), 0);
    struct drip__cfa st = {.row = {.cfa_reg = -1}};
    drip__cfa_execute(&st, &f.cie, f.cie.insns, f.cie.end, 0, UINTPTR_MAX);
    st.initial = st.row;
    st.initial_set = 1;
    drip__cfa_execute(&st, &f.cie, f.insns, f.end, begin, pc);
    return st;
}

static void test_leb128(void **state)
{
    static const uint8_t u[] = {0xe5, 0x8e, 0x26}, s[] = {0xc0, 0xbb, 0x78}, m1[] = {0x7f};
    const uint8_t *p = u;
    assert_int_equal(drip__uleb(&p, u + 3), 624485);
    assert_ptr_equal(p, u + 3);
    p = s;
    assert_int_equal(drip__sleb(&p, s + 3), -123456);
    p = m1;
    assert_int_equal(drip__sleb(&p, m1 + 1), -1);
    p = u;   /* truncated: stops at the end */
    assert_int_equal(drip__uleb(&p, u + 1), 0x65);
    assert_ptr_equal(p, u + 1);
}

static void test_encodings(void **state)
{
    assert_int_equal(drip__enc_size(DW_EH_PE_pcrel | DW_EH_PE_sdata4), 4);
    assert_int_equal(drip__enc_size(DW_EH_PE_udata2), 2);
    assert_int_equal(drip__enc_size(DW_EH_PE_absptr), 8);
    assert_int_equal(drip__enc_size(DW_EH_PE_uleb128), 0);
    static const uint8_t neg[4] = {0xfe, 0xff, 0xff, 0xff};
    assert_int_equal(drip__read_enc(neg, DW_EH_PE_sdata4), -2);
    assert_int_equal(drip__read_enc(neg, DW_EH_PE_udata4), 0xfffffffeLL);
    assert_int_equal(drip__read_enc(neg, DW_EH_PE_sdata2), -2);
}

static void test_cie_fde(void **state)
{
    struct buf o = {0};
    size_t c = cie(&o, "zR", 16);
    size_t f = fde(&o, c, 0x100, prologue, sizeof prologue);
    struct drip__cie ci;
    assert_int_equal(drip__parse_cie(o.b + c, &ci), 0);
    assert_int_equal(ci.code_align, 1);
    assert_int_equal(ci.data_align, -8);
    assert_int_equal(ci.fde_enc, DW_EH_PE_pcrel | DW_EH_PE_sdata4);
    assert_true(ci.has_z);
    struct drip__fde fd;
    assert_int_equal(drip__parse_fde(o.b + f, &fd), 0);
    assert_int_equal(fd.range, 0x100);
    assert_ptr_equal(fd.insns, o.b + f + 17);   /* length, CIE pointer, begin, range, aug length */
    assert_int_equal(drip__parse_fde(o.b + c, &fd), -1);   /* a CIE is not an FDE */
}

static void test_rows(void **state)
{
    struct buf o = {0};
    size_t c = cie(&o, "zR", 16);
    size_t f = fde(&o, c, 0x100, prologue, sizeof prologue);
    const uintptr_t B = 0x1000;
    struct drip__cfa st = row_at(o.b + f, B, B);   /* at entry: CFA = rsp+8, RA at CFA-8 */
    assert_false(st.unsupported);
    assert_int_equal(st.row.cfa_reg, DRIP_DWARF_RSP);
    assert_int_equal(st.row.cfa_off, 8);
    assert_true(st.row.ra_ok);
    assert_false(st.row.rbp_saved);
    st = row_at(o.b + f, B, B + 1);   /* after push %rbp */
    assert_int_equal(st.row.cfa_reg, DRIP_DWARF_RSP);
    assert_int_equal(st.row.cfa_off, 16);
    assert_true(st.row.rbp_saved);
    assert_int_equal(st.row.rbp_off, -16);
    st = row_at(o.b + f, B, B + 4);   /* after mov %rsp,%rbp */
    assert_int_equal(st.row.cfa_reg, DRIP_DWARF_RBP);
    assert_int_equal(st.row.cfa_off, 16);
    assert_int_equal(st.first, DRIP_CFA_FIRST_RBP);
    st = row_at(o.b + f, B, B + 0x40);   /* the early-return block: rsp+8, %rbp restored */
    assert_int_equal(st.row.cfa_reg, DRIP_DWARF_RSP);
    assert_int_equal(st.row.cfa_off, 8);
    assert_false(st.row.rbp_saved);
    st = row_at(o.b + f, B, B + 0x42);   /* restore_state: back to rbp+16, %rbp at CFA-16 */
    assert_int_equal(st.row.cfa_reg, DRIP_DWARF_RBP);
    assert_int_equal(st.row.cfa_off, 16);
    assert_true(st.row.rbp_saved);
    assert_int_equal(st.row.rbp_off, -16);
    assert_false(st.unsupported);
}

static void test_refused(void **state)
{
    struct buf o = {0};
    size_t c = cie(&o, "zR", 16);
    /* a PLT: the CFA by expression; the %rbp rule after it does not count as "first" */
    static const uint8_t plt[] = {DW_CFA_def_cfa_expression, 2, 0x77, 8, DW_CFA_def_cfa_register, 6};
    size_t f1 = fde(&o, c, 0x100, plt, sizeof plt);
    struct drip__cfa st = row_at(o.b + f1, 0, UINTPTR_MAX);
    assert_true(st.unsupported);
    assert_int_equal(st.first, DRIP_CFA_FIRST_EXPRESSION);
    assert_int_equal(st.row.cfa_reg, DRIP_DWARF_RBP);   /* the operands were skipped, not misread */
    /* an opcode it cannot decode: stops there */
    static const uint8_t unknown[] = {DW_CFA_GNU_window_save, DW_CFA_def_cfa_register, 6};
    size_t f2 = fde(&o, c, 0x100, unknown, sizeof unknown);
    st = row_at(o.b + f2, 0, UINTPTR_MAX);
    assert_true(st.unsupported && st.stopped);
    assert_int_equal(st.first, 0);
    /* the return address kept elsewhere than CFA-8 */
    static const uint8_t ra[] = {DW_CFA_offset | 16, 2};
    size_t f3 = fde(&o, c, 0x100, ra, sizeof ra);
    st = row_at(o.b + f3, 0, UINTPTR_MAX);
    assert_false(st.row.ra_ok);
    /* %rbp by expression */
    static const uint8_t rbpx[] = {DW_CFA_expression, 6, 1, 0x70};
    size_t f4 = fde(&o, c, 0x100, rbpx, sizeof rbpx);
    assert_true(row_at(o.b + f4, 0, UINTPTR_MAX).unsupported);
    /* restore_state with nothing remembered */
    static const uint8_t pop[] = {DW_CFA_restore_state};
    size_t f5 = fde(&o, c, 0x100, pop, sizeof pop);
    assert_true(row_at(o.b + f5, 0, UINTPTR_MAX).unsupported);
    /* CIEs drip does not handle */
    struct buf o2 = {0};
    size_t s = cie(&o2, "zRS", 16), r = cie(&o2, "zR", 15), e = cie(&o2, "eh", 16);
    struct drip__cie ci;
    assert_int_equal(drip__parse_cie(o2.b + s, &ci), -1);   /* a signal frame */
    assert_int_equal(drip__parse_cie(o2.b + r, &ci), -1);   /* another return-address column */
    assert_int_equal(drip__parse_cie(o2.b + e, &ci), -1);   /* an unknown augmentation */
}

/* A CFA program cut short inside an operand (the FDE's length says where it ends) stops there:
 * the bytes past its end are not read. Out-of-range factored offsets wrap instead of overflowing
 * (UBSan, make test-asan). */
static void test_truncated(void **state)
{
    const struct drip__cie c = {.code_align = 1, .data_align = -8, .fde_enc = 0x1b, .has_z = 1};
    /* each program ends (end = prog + n) one byte into an operand; what follows is a lure */
    static const struct { uint8_t prog[8]; size_t n; } cut[] = {
        {{DW_CFA_advance_loc4, 0x10, 0, 0, 0, DW_CFA_def_cfa_offset, 32}, 2},
        {{DW_CFA_advance_loc2, 0x10, 0, DW_CFA_def_cfa_offset, 32}, 2},
        {{DW_CFA_advance_loc1}, 1},
        {{DW_CFA_set_loc, 0x10, 0, 0, 0}, 2},
        {{DW_CFA_def_cfa_expression, 100, 0x77}, 3},
        {{DW_CFA_val_expression, 6, 100, 0x70}, 4},
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        struct drip__cfa st = {0};
        drip__cfa_execute(&st, &c, cut[i].prog, cut[i].prog + cut[i].n, 0, UINTPTR_MAX);
        if (!st.stopped || !st.unsupported)
            fail_msg("program %zu: cut short, not stopped (%d, %d)", i, st.stopped, st.unsupported);
    }
    /* an expression that fits is skipped as before */
    static const uint8_t fits[] = {DW_CFA_def_cfa_expression, 1, 0x77, DW_CFA_def_cfa_offset, 32};
    struct drip__cfa st = {0};
    drip__cfa_execute(&st, &c, fits, fits + sizeof fits, 0, UINTPTR_MAX);
    assert_false(st.stopped);
    assert_int_equal(st.row.cfa_off, 32);
    /* ten groups: the last one lands on bit 63 */
    static const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f};
    const uint8_t *p = big;
    assert_int_equal(drip__sleb(&p, big + sizeof big), INT64_MIN);
    /* 2^62 * -8 wraps to 0 */
    static const uint8_t huge[] = {DW_CFA_def_cfa_offset_sf, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0xc0, 0x00};
    st = (struct drip__cfa){0};
    drip__cfa_execute(&st, &c, huge, huge + sizeof huge, 0, UINTPTR_MAX);
    assert_false(st.stopped);
    assert_int_equal(st.row.cfa_off, 0);
}

static void test_hdr(void **state)
{
    /* version 1, eh_frame_ptr pcrel|sdata4, count udata4, table datarel|sdata4; 3 functions */
    _Alignas(8) uint8_t h[12 + 3 * 8];
    h[0] = 1;
    h[1] = DW_EH_PE_pcrel | DW_EH_PE_sdata4;
    h[2] = DW_EH_PE_udata4;
    h[3] = DW_EH_PE_datarel | DW_EH_PE_sdata4;
    int32_t ptr = 0;
    uint32_t count = 3;
    memcpy(h + 4, &ptr, 4);
    memcpy(h + 8, &count, 4);
    int32_t tab[6] = {0x100, 0x1000, 0x200, 0x2000, 0x300, 0x3000};
    memcpy(h + 12, tab, sizeof tab);
    struct drip__eh_hdr hdr;
    assert_int_equal(drip__eh_hdr_open(h, &hdr), 0);
    assert_int_equal(hdr.count, 3);
    uintptr_t base = (uintptr_t)h;
    assert_int_equal(drip__eh_hdr_lookup(&hdr, base + 0xff), -1);
    assert_int_equal(drip__eh_hdr_lookup(&hdr, base + 0x100), 0);
    assert_int_equal(drip__eh_hdr_lookup(&hdr, base + 0x1ff), 0);
    assert_int_equal(drip__eh_hdr_lookup(&hdr, base + 0x200), 1);
    assert_int_equal(drip__eh_hdr_lookup(&hdr, base + 0x10000), 2);
    uintptr_t start;
    const uint8_t *at;
    drip__eh_hdr_entry(&hdr, 1, &start, &at);
    assert_int_equal(start, base + 0x200);
    assert_int_equal((uintptr_t)at, base + 0x2000);
    h[3] = DW_EH_PE_absptr;   /* a table drip does not read */
    assert_int_equal(drip__eh_hdr_open(h, &hdr), -1);
    h[3] = DW_EH_PE_datarel | DW_EH_PE_sdata4;
    h[0] = 2;
    assert_int_equal(drip__eh_hdr_open(h, &hdr), -1);
    assert_int_equal(drip__eh_hdr_open(NULL, &hdr), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leb128), cmocka_unit_test(test_encodings), cmocka_unit_test(test_cie_fde),
        cmocka_unit_test(test_rows),   cmocka_unit_test(test_refused),   cmocka_unit_test(test_hdr),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
