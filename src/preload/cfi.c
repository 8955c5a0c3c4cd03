/* cfi.c — a stack walk for code built without frame pointers, driven by the DWARF call frame
 * information in each module's .eh_frame (the same tables the C++ unwinder uses), with the rule
 * for each return address decoded once and cached.
 *
 * For a return address, all a walk needs is where the caller's frame starts (the CFA: %rsp or
 * %rbp plus an offset) and whether %rbp was saved, and where. A cache of 16 Ki such rules (256 KiB: it stays in L2),
 * shared by all threads and read without locks, makes a frame cost a hash lookup and two loads.
 * A signal frame (the handler's return into glibc's __restore_rt, recognised by its two
 * instructions) is crossed through the ucontext_t the kernel pushed there.
 * Anything else this walker does not model (CFA expressions: PLT stubs; no FDE; a
 * return address kept outside CFA-8; a frame outside the stack) makes it answer -1, and the
 * caller takes the stack with libunwind instead. An undefined return address (_start) and the
 * dynamic loader's start code end the walk, complete: they are the bottom of the stack.
 * A cache entry is written rule first, address second; a reader checks 24 bits of the address
 * stored inside the rule, so a torn read is recognised as a miss. In front of it each thread
 * keeps a 2-way table of its own (no atomics, no sharing), which answers nearly every frame.
 * unwind=auto enters the walk in the middle of a stack (drip__cfi_walk_from), where the
 * frame-pointer walk meets the first frame of code built without frame pointers.
 */
#include "internal.h"
#include "arena.h"
#include "depot.h"
#include "ehframe.h"
#include "modules.h"
#include "unwind.h"

#include <string.h>

enum { CACHE_BITS = 14 };

#define R_VALID (1ULL << 63)
#define R_UNSUPPORTED (1ULL << 62)
#define R_CFA_RBP (1ULL << 61)
#define R_RBP_SAVED (1ULL << 36)
/* not valid, but not a failure either: the return address is undefined, the outermost frame */
#define R_OUTERMOST (R_UNSUPPORTED | R_CFA_RBP)

struct entry {
    _Atomic uintptr_t ip;
    _Atomic uint64_t rule;
};

static struct entry *_Atomic cache;

static uint64_t check_bits(uintptr_t ip) { return ((uint64_t)(ip >> 4) & 0xffffff) << 37; }

/* ---- decoding one rule (ehframe.c interprets the FDE) ---------------------------------------- */
static uint64_t decode(uintptr_t ip)
{
    uintptr_t pc = ip - 1;   /* inside the call instruction */
    struct drip__eh_hdr hdr;
    if (drip__eh_hdr_open(drip__module_eh_frame_hdr(pc), &hdr) != 0)
        return R_UNSUPPORTED;
    int64_t i = drip__eh_hdr_lookup(&hdr, pc);
    if (i < 0)
        return R_UNSUPPORTED;
    uintptr_t begin;
    const uint8_t *fde_at;
    drip__eh_hdr_entry(&hdr, i, &begin, &fde_at);
    struct drip__fde fde;
    if (drip__parse_fde(fde_at, &fde) != 0 || pc >= begin + (uintptr_t)fde.range)
        return R_UNSUPPORTED;
    struct drip__cfa st = {.row = {.cfa_reg = -1}};
    drip__cfa_execute(&st, &fde.cie, fde.cie.insns, fde.cie.end, 0, UINTPTR_MAX);
    st.initial = st.row;
    st.initial_set = 1;
    drip__cfa_execute(&st, &fde.cie, fde.insns, fde.end, begin, pc);
    const struct drip__cfa_row *r = &st.row;
    if (!st.unsupported && r->ra_undefined)
        return R_OUTERMOST;
    if (st.unsupported || !r->ra_ok || (r->cfa_reg != DRIP_DWARF_RSP && r->cfa_reg != DRIP_DWARF_RBP) ||
        r->cfa_off < 8 || r->cfa_off >= (1 << 19) || (r->rbp_saved && (r->rbp_off > 0 || r->rbp_off < -32768)))
        return R_UNSUPPORTED;
    uint64_t rule = R_VALID | (uint64_t)r->cfa_off;
    if (r->cfa_reg == DRIP_DWARF_RBP)
        rule |= R_CFA_RBP;
    if (r->rbp_saved)
        rule |= R_RBP_SAVED | ((uint64_t)(r->rbp_off + 32768) << 20);
    return rule;
}

/* In front of the shared cache, each thread keeps the rules it used last in a small table of its
 * own that stays in L1: a program's hot paths return to a few hundred call sites. Sets of two,
 * indexed by a multiplicative hash of the address (the return addresses of one function's call
 * sites are a few bytes apart and must not collide). A thread starts with 2^SMALL_BITS rules in
 * its static TLS (1 KiB: glibc clears every thread's static TLS when it makes the thread); its
 * LOCAL_GROW-th fill gives it 2^LOCAL_BITS (8 KiB) from drip's arena, back there at its end. */
enum { LOCAL_BITS = 9, SMALL_BITS = 6, LOCAL_GROW = 128 };
/* A thread's copy of a rule, re-encoded so the walk tests its flags with 32-bit immediates:
 * bits 0-19 the CFA's offset, then the flags, and %rbp's offset from the CFA (signed) in bits
 * 32-63. 0: a rule the walk does not follow. */
#define L_CFA_RBP (1u << 20)
#define L_RBP_SAVED (1u << 21)
#define L_VALID (1u << 22)
#define L_OUTERMOST (1u << 23)   /* (without L_VALID) the outermost frame: the walk is complete */
struct local_rule {
    uintptr_t ip;
    uint64_t rule;
};
static DRIP_TLS struct local_rule small_local[1 << SMALL_BITS];
static DRIP_TLS struct local_rule *big_local;
static DRIP_TLS unsigned local_fills;
static _Atomic unsigned flushes;
static DRIP_TLS unsigned local_flushes;

/* The thread's table, and the mask of a set's byte offset in it. */
static inline struct local_rule *local_table(size_t *mask)
{
    struct local_rule *big = big_local;
    *mask = big ? ((size_t)16 << LOCAL_BITS) - 32 : ((size_t)16 << SMALL_BITS) - 32;
    return big ? big : small_local;
}

/* ip's set: two slots (ways), the first at tab[i] for the i returned; computed as a byte offset
 * (one shift and one mask), struct local_rule being 16 bytes. */
_Static_assert(sizeof(struct local_rule) == 16, "local_rule");
static inline struct local_rule *local_set(struct local_rule *tab, size_t mask, uintptr_t ip)
{
    size_t off = ((uint32_t)ip * 0x9e3779b1u >> (32 - LOCAL_BITS - 4)) & mask;
    return (struct local_rule *)((char *)tab + off);
}

void drip__cfi_release(void)
{
    if (big_local)
        drip__arena_free(big_local, sizeof(struct local_rule) << LOCAL_BITS);
    big_local = NULL;
    local_fills = LOCAL_GROW;   /* what it still walks on its way out stays small */
    memset(small_local, 0, sizeof small_local);
}

static uint64_t rule_shared(uintptr_t ip);

/* A miss in both ways of ip's set: the shared cache (or a decode) gives the rule, which takes
 * the first way, the first way's rule moving to the second (so of two hot return addresses in
 * one set, both stay). Out of line, so the walk's loop keeps its registers. */
__attribute__((noinline)) static uint64_t local_fill(struct local_rule *e, uintptr_t ip)
{
    uint64_t r = rule_shared(ip), l = 0;
    /* what the walk's loop takes for granted: the CFA is above %rsp (an offset of at least 8),
     * and with %rsp as its base, 8-aligned like %rsp itself (a rule that breaks either would
     * fail the walk's checks anyway) */
    if ((r & ~check_bits(ip)) == R_OUTERMOST)
        l = L_OUTERMOST;
    else if ((r & R_VALID) && !(!(r & R_CFA_RBP) && (r & 7))) {
        l = L_VALID | (r & 0xfffff);
        if (r & R_CFA_RBP)
            l |= L_CFA_RBP;
        if (r & R_RBP_SAVED)
            l |= L_RBP_SAVED | (uint64_t)((int64_t)((r >> 20) & 0xffff) - 32768) << 32;
    }
    e[1] = e[0];
    e[0].ip = ip;
    e[0].rule = l;
    if (DRIP_UNLIKELY(!big_local) && ++local_fills == LOCAL_GROW)
        big_local = drip__arena_alloc(sizeof(struct local_rule) << LOCAL_BITS);   /* the next walk's */
    return l;
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

/* x86-64's rt_sigreturn trampoline (glibc's __restore_rt): mov $15, %rax; syscall. Read only
 * in a module the table knows (mapped, executable). */
static bool sigreturn_at(uintptr_t ip)
{
    static const uint8_t code[9] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
    return drip__module_fp(ip) >= 0 && drip__module_fp(ip + sizeof code - 1) >= 0 && !memcmp((const void *)ip, code, sizeof code);
}
/* In the ucontext_t at the handler's CFA: uc_flags, uc_link, uc_stack (40 bytes), then gregs[]
 * (REG_RBP 10, REG_RSP 15, REG_RIP 16). */
enum { UC_RBP = 40 + 10 * 8, UC_RSP = 40 + 15 * 8, UC_RIP = 40 + 16 * 8 };

/* The walk from the frame whose return address is ip, with the caller's %rsp and %rbp; frames
 * already found are out[0..n) with hash state h. One frame costs the thread's table lookup, the
 * CFA, two bounds checks and a load (three with %rbp saved). */
int drip__cfi_walk_from(uintptr_t *out, int n0, int max, uint64_t h, uint64_t *hash, uintptr_t ip, uintptr_t rsp,
                        uintptr_t rbp, uintptr_t hi)
{
    if (DRIP_UNLIKELY(local_flushes != atomic_load_explicit(&flushes, memory_order_relaxed))) {
        memset(small_local, 0, sizeof small_local);
        if (big_local)
            memset(big_local, 0, sizeof(struct local_rule) << LOCAL_BITS);
        local_flushes = atomic_load_explicit(&flushes, memory_order_relaxed);
    }
    /* everything the loop compares against, read once into registers (the stores to out[]
     * would otherwise make the compiler reload each global for every frame), the thread's table
     * too (its TLS address); the bottom of the program's stack is one address per thread: main's
     * return for the main thread, the thread entry's return for the others */
    const uintptr_t self_lo = drip__g.self_lo, self_len = drip__g.self_hi - drip__g.self_lo;
    const uintptr_t bottom = drip__thread_ret ? drip__thread_ret : drip__main_ret;
    size_t mask;
    struct local_rule *tab = local_table(&mask);
    __asm__("" : "+r"(tab), "+r"(mask));   /* computed once, not on every frame */
    uintptr_t *o = out + n0, *const end = out + max;
    uintptr_t adj = 0;   /* 1 for the frame a signal interrupted: its address is no return address */
    while (o < end) {
        if (ip < 4096)
            break;
        if (ip - self_lo >= self_len) {
            *o++ = ip;
            h = drip__hash_step(h, ip);
        }
        if (ip == bottom)
            break;   /* the bottom of the program's stack */
        /* the rule of the instruction before a return address (ip - 1 in decode): for the
         * interrupted instruction itself, that of look = ip + 1 */
        const uintptr_t look = ip + adj;
        adj = 0;
        struct local_rule *e = local_set(tab, mask, look);
        uint64_t r = e[0].rule;
        if (DRIP_UNLIKELY(e[0].ip != look))
            r = e[1].ip == look ? e[1].rule : local_fill(e, look);
        if (DRIP_UNLIKELY(!(r & L_VALID))) {
            /* the bottom of the stack before main (a constructor's allocation): _start, whose
             * return address is undefined, or the dynamic loader's start code, with no FDE */
            if ((r & L_OUTERMOST) || drip__unwind_outermost(ip))
                break;
            if (!sigreturn_at(ip) || rsp + UC_RIP + 8 > hi)
                return -1;
            /* a signal handler returned to the kernel's trampoline (__restore_rt): rsp is the
             * ucontext_t the kernel pushed, holding the interrupted frame's registers */
            const uintptr_t *uc = (const uintptr_t *)rsp;
            uintptr_t nrsp = uc[UC_RSP / 8];
            if (nrsp > hi || (nrsp & 7))
                return -1;
            rbp = uc[UC_RBP / 8];
            ip = uc[UC_RIP / 8];
            rsp = nrsp;
            adj = 1;
            continue;
        }
        uintptr_t cfa;
        if (DRIP_LIKELY(!(r & L_CFA_RBP))) {
            cfa = rsp + (r & 0xfffff);   /* above rsp and aligned (local_fill) */
            if (cfa > hi)
                return -1;
        } else {
            cfa = rbp + (r & 0xfffff);
            if (cfa <= rsp || cfa > hi || (cfa & 7))
                return -1;
        }
        if (r & L_RBP_SAVED) {
            uintptr_t at = cfa + (uintptr_t)((int64_t)r >> 32);
            if (at < rsp || at + 8 > hi)
                return -1;
            rbp = *(uintptr_t *)at;
        }
        ip = *(uintptr_t *)(cfa - 8);
        rsp = cfa;
    }
    int n = (int)(o - out);
    if (!n)
        return -1;
    *hash = drip__hash_finish(h, n);
    return n;
}

/* The whole walk from this function's caller: its %rsp is just above our return address, its
 * %rbp is the one we saved (libdrip keeps frame pointers). noinline: this frame is drip's. */
__attribute__((noinline)) int drip__cfi_walk(uintptr_t *out, int max, uint64_t *hash)
{
    uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t rsp = (uintptr_t)(fp + 2);
    const uintptr_t hi = drip__stack_hi ? drip__stack_hi : rsp + ((uintptr_t)8 << 20);
    return drip__cfi_walk_from(out, 0, max, DRIP_HASH_SEED, hash, fp[1], rsp, fp[0], hi);
}
