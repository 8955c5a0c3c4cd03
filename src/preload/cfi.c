/* cfi.c — a stack walk for code built without frame pointers, driven by the DWARF call frame
 * information in each module's .eh_frame (the same tables the C++ unwinder uses), with the rule
 * for each return address decoded once and cached.
 *
 * For a return address, all a walk needs is where the caller's frame starts (the CFA: %rsp or
 * %rbp plus an offset) and whether %rbp was saved, and where. A cache of 16 Ki such rules (256 KiB: it stays in L2),
 * shared by all threads and read without locks, makes a frame cost a hash lookup and two loads.
 * Anything this walker does not model (CFA expressions: signal trampolines and PLT stubs; a
 * return address kept outside CFA-8; a frame outside the stack) makes it answer -1, and the
 * caller takes the stack with libunwind instead.
 * A cache entry is written rule first, address second; a reader checks 24 bits of the address
 * stored inside the rule, so a torn read is recognised as a miss.
 */
#include "internal.h"
#include "arena.h"
#include "depot.h"
#include "modules.h"
#include "unwind.h"

#include <string.h>

enum { CACHE_BITS = 14 };
enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };

#define R_VALID (1ULL << 63)
#define R_UNSUPPORTED (1ULL << 62)
#define R_CFA_RBP (1ULL << 61)
#define R_RBP_SAVED (1ULL << 36)

struct entry {
    _Atomic uintptr_t ip;
    _Atomic uint64_t rule;
};

static struct entry *_Atomic cache;

static uint64_t check_bits(uintptr_t ip) { return ((uint64_t)(ip >> 4) & 0xffffff) << 37; }

/* ---- decoding one rule ------------------------------------------------------------------- */
struct state {
    int cfa_reg;
    int64_t cfa_off;
    int rbp_saved;     /* 1: at CFA + rbp_off; 0: unchanged */
    int64_t rbp_off;
    int ra_ok;         /* the return address is at CFA-8 */
    int bad;
};

/* Runs CFA instructions [p, end) from location `loc` until the row that covers `target`. */
static void run(struct state *st, const struct state *initial, const struct drip__cie *c, const uint8_t *p,
                const uint8_t *end, uintptr_t loc, uintptr_t target)
{
    struct state stack[8];
    int depth = 0;
    int sz = drip__enc_size(c->fde_enc);
    while (p < end && !st->bad) {
        uint8_t op = *p++;
        uint64_t reg;
        int64_t off;
        switch (op & 0xc0) {
        case 0x40:
            loc += (op & 0x3f) * c->code_align;
            if (loc > target)
                return;
            continue;
        case 0x80:
            reg = op & 0x3f;
            off = (int64_t)drip__uleb(&p, end) * c->data_align;
            goto set_offset;
        case 0xc0:
            reg = op & 0x3f;
            goto restore;
        }
        switch (op) {
        case 0x00: break;
        case 0x01: loc = (uintptr_t)drip__read_enc(p, c->fde_enc & 0x0f); p += sz; if (loc > target) return; break;
        case 0x02: loc += *p++ * c->code_align; if (loc > target) return; break;
        case 0x03: { uint16_t d; memcpy(&d, p, 2); p += 2; loc += d * c->code_align; if (loc > target) return; break; }
        case 0x04: { uint32_t d; memcpy(&d, p, 4); p += 4; loc += d * c->code_align; if (loc > target) return; break; }
        case 0x05: reg = drip__uleb(&p, end); off = (int64_t)drip__uleb(&p, end) * c->data_align; goto set_offset;
        case 0x11: reg = drip__uleb(&p, end); off = drip__sleb(&p, end) * c->data_align; goto set_offset;
        case 0x06: reg = drip__uleb(&p, end); goto restore;
        case 0x07: case 0x08: /* undefined, same_value */
            reg = drip__uleb(&p, end);
            if (reg == REG_RBP)
                st->rbp_saved = 0;
            if (reg == REG_RA)
                st->bad = 1;
            break;
        case 0x09: reg = drip__uleb(&p, end); drip__uleb(&p, end); if (reg == REG_RBP || reg == REG_RA) st->bad = 1; break;
        case 0x0a: if (depth == 8) st->bad = 1; else stack[depth++] = *st; break;
        case 0x0b: if (!depth) st->bad = 1; else *st = stack[--depth]; break;
        case 0x0c: st->cfa_reg = (int)drip__uleb(&p, end); st->cfa_off = (int64_t)drip__uleb(&p, end); break;
        case 0x12: st->cfa_reg = (int)drip__uleb(&p, end); st->cfa_off = drip__sleb(&p, end) * c->data_align; break;
        case 0x0d: st->cfa_reg = (int)drip__uleb(&p, end); break;
        case 0x0e: st->cfa_off = (int64_t)drip__uleb(&p, end); break;
        case 0x13: st->cfa_off = drip__sleb(&p, end) * c->data_align; break;
        case 0x0f: st->bad = 1; break;   /* def_cfa_expression */
        case 0x10: case 0x16: {          /* expression, val_expression */
            reg = drip__uleb(&p, end);
            uint64_t l = drip__uleb(&p, end);
            p += l;
            if (reg == REG_RBP || reg == REG_RA)
                st->bad = 1;
            break;
        }
        case 0x14: case 0x15: reg = drip__uleb(&p, end); if (op == 0x14) drip__uleb(&p, end); else drip__sleb(&p, end);
            if (reg == REG_RBP || reg == REG_RA) st->bad = 1;
            break;
        case 0x2e: drip__uleb(&p, end); break;   /* GNU_args_size */
        case 0x2f: reg = drip__uleb(&p, end); off = -(int64_t)drip__uleb(&p, end) * c->data_align; goto set_offset;
        default: st->bad = 1; break;
        }
        continue;
    set_offset:
        if (reg == REG_RBP) {
            st->rbp_saved = 1;
            st->rbp_off = off;
        } else if (reg == REG_RA) {
            st->ra_ok = off == -8;
        }
        continue;
    restore:
        if (reg == REG_RBP) {
            st->rbp_saved = initial->rbp_saved;
            st->rbp_off = initial->rbp_off;
        } else if (reg == REG_RA) {
            st->ra_ok = initial->ra_ok;
        }
    }
}

static uint64_t decode(uintptr_t ip)
{
    uintptr_t pc = ip - 1;   /* inside the call instruction */
    const uint8_t *hdr = drip__module_eh_frame_hdr(pc);
    if (!hdr || hdr[0] != 1 || hdr[3] != 0x3b || !drip__enc_size(hdr[1]) || !drip__enc_size(hdr[2]))
        return R_UNSUPPORTED;
    const uint8_t *p = hdr + 4 + drip__enc_size(hdr[1]);
    int64_t count = drip__read_enc(p, hdr[2]);
    p += drip__enc_size(hdr[2]);
    int64_t a = 0, b = count;   /* last entry whose start <= pc */
    while (a < b) {
        int64_t mid = (a + b) / 2;
        int32_t start;
        memcpy(&start, p + mid * 8, 4);
        if ((uintptr_t)(hdr + start) <= pc)
            a = mid + 1;
        else
            b = mid;
    }
    if (a == 0)
        return R_UNSUPPORTED;
    int32_t start_rel, fde_rel;
    memcpy(&start_rel, p + (a - 1) * 8, 4);
    memcpy(&fde_rel, p + (a - 1) * 8 + 4, 4);
    const uint8_t *fde = hdr + fde_rel;
    uint32_t len;
    int32_t cie_off;
    memcpy(&len, fde, 4);
    memcpy(&cie_off, fde + 4, 4);
    if (len == 0 || len == 0xffffffffu || cie_off == 0)
        return R_UNSUPPORTED;
    struct drip__cie c;
    if (drip__parse_cie(fde + 4 - cie_off, &c) != 0)
        return R_UNSUPPORTED;
    int sz = drip__enc_size(c.fde_enc);
    if (!sz)
        return R_UNSUPPORTED;
    const uint8_t *q = fde + 8, *end = fde + 4 + len;
    uintptr_t begin = (uintptr_t)(hdr + start_rel);
    uintptr_t range = (uintptr_t)drip__read_enc(q + sz, c.fde_enc & 0x0f);
    if (pc >= begin + range)
        return R_UNSUPPORTED;
    q += 2 * sz;
    if (c.has_z)
        q += drip__uleb(&q, end);
    struct state st = {.cfa_reg = -1, .ra_ok = 0};
    run(&st, &st, &c, c.insns, c.end, 0, UINTPTR_MAX);
    struct state initial = st;
    run(&st, &initial, &c, q, end, begin, pc);
    if (st.bad || !st.ra_ok || (st.cfa_reg != REG_RSP && st.cfa_reg != REG_RBP) || st.cfa_off < 8 ||
        st.cfa_off >= (1 << 19) || (st.rbp_saved && (st.rbp_off > 0 || st.rbp_off < -32768)))
        return R_UNSUPPORTED;
    uint64_t r = R_VALID | (uint64_t)st.cfa_off;
    if (st.cfa_reg == REG_RBP)
        r |= R_CFA_RBP;
    if (st.rbp_saved)
        r |= R_RBP_SAVED | ((uint64_t)(st.rbp_off + 32768) << 20);
    return r;
}

/* In front of the shared cache, each thread keeps the rules it used last in a small table of its
 * own that stays in L1: a program's hot paths return to a few hundred call sites. */
enum { LOCAL_BITS = 9 };
static DRIP_TLS struct { uintptr_t ip; uint64_t rule; } local[1 << LOCAL_BITS];
static _Atomic unsigned flushes;
static DRIP_TLS unsigned local_flushes;

__attribute__((noinline)) static uint64_t rule_shared(uintptr_t ip);

/* The rule for ip: the thread's table, else the shared cache (or a decode). The walk checks the
 * table against `flushes` once, before its first frame. */
static inline uint64_t rule_for(uintptr_t ip)
{
    size_t i = (size_t)((ip ^ (ip >> LOCAL_BITS)) & ((1u << LOCAL_BITS) - 1));
    if (DRIP_LIKELY(local[i].ip == ip))
        return local[i].rule;
    uint64_t r = rule_shared(ip);
    local[i].ip = ip;
    local[i].rule = r;
    return r;
}

static uint64_t rule_shared(uintptr_t ip)
{
    struct entry *c = atomic_load_explicit(&cache, memory_order_acquire);
    if (DRIP_UNLIKELY(!c)) {
        struct entry *n = drip__arena_alloc(sizeof *n << CACHE_BITS);
        if (!n)
            return R_UNSUPPORTED;
        struct entry *expected = NULL;
        if (!atomic_compare_exchange_strong(&cache, &expected, n))
            drip__arena_free(n, sizeof *n << CACHE_BITS);
        c = atomic_load_explicit(&cache, memory_order_acquire);
    }
    struct entry *e = &c[(ip * 0x9e3779b97f4a7c15ULL) >> (64 - CACHE_BITS)];
    if (atomic_load_explicit(&e->ip, memory_order_acquire) == ip) {
        uint64_t r = atomic_load_explicit(&e->rule, memory_order_relaxed);
        if ((r & (0xffffffULL << 37)) == check_bits(ip))
            return r;
    }
    uint64_t r = decode(ip) | check_bits(ip);
    atomic_store_explicit(&e->ip, 0, memory_order_relaxed);
    atomic_store_explicit(&e->rule, r, memory_order_release);
    atomic_store_explicit(&e->ip, ip, memory_order_release);
    return r;
}

/* Invalidates every cached rule (a module went away: its addresses may be reused). */
void drip__cfi_flush(void)
{
    atomic_fetch_add(&flushes, 1);
    struct entry *c = atomic_load_explicit(&cache, memory_order_acquire);
    if (c)
        for (size_t i = 0; i < ((size_t)1 << CACHE_BITS); i++)
            atomic_store_explicit(&c[i].ip, 0, memory_order_relaxed);
}

__attribute__((noinline)) int drip__cfi_walk(uintptr_t *out, int max, uint64_t *hash)
{
    if (DRIP_UNLIKELY(local_flushes != atomic_load_explicit(&flushes, memory_order_relaxed))) {
        memset(local, 0, sizeof local);
        local_flushes = atomic_load_explicit(&flushes, memory_order_relaxed);
    }
    /* everything the loop compares against, read once into registers (the stores to out[]
     * would otherwise make the compiler reload each global for every frame); the bottom of the
     * program's stack is one address per thread: main's return for the main thread, the thread
     * entry's return for the others */
    const uintptr_t self_lo = drip__g.self_lo, self_len = drip__g.self_hi - drip__g.self_lo;
    const uintptr_t bottom = drip__thread_ret ? drip__thread_ret : drip__main_ret;
    uint64_t h = DRIP_HASH_SEED;
    /* start from this function's caller: its %rsp is just above our return address, its %rbp is
     * the one we saved (libdrip keeps frame pointers) */
    uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t ip = fp[1], rsp = (uintptr_t)(fp + 2), rbp = fp[0];
    const uintptr_t hi = drip__stack_hi ? drip__stack_hi : rsp + ((uintptr_t)8 << 20);
    long n = 0;
    while (n < max) {
        if (ip < 4096)
            break;
        if (ip - self_lo >= self_len) {
            out[n++] = ip;
            h = drip__hash_step(h, ip);
        }
        if (ip == bottom)
            break;   /* the bottom of the program's stack */
        uint64_t r = rule_for(ip);
        if (!(r & R_VALID) || (r & R_UNSUPPORTED))
            return -1;
        uintptr_t cfa = ((r & R_CFA_RBP) ? rbp : rsp) + (r & 0xfffff);
        if (cfa <= rsp || cfa > hi || (cfa & 7))
            return -1;
        if (r & R_RBP_SAVED) {
            uintptr_t at = cfa + (uintptr_t)((int64_t)((r >> 20) & 0xffff) - 32768);
            if (at < rsp || at + 8 > hi)
                return -1;
            rbp = *(uintptr_t *)at;
        }
        ip = *(uintptr_t *)(cfa - 8);
        rsp = cfa;
    }
    if (!n)
        return -1;
    *hash = drip__hash_finish(h, (int)n);
    return (int)n;
}
