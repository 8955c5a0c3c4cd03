/* unwind.c — stack capture on the allocation path, behind one function.
 *
 * Three ways to walk (option `unwind`: auto, fp, cfi, libunwind):
 *  - frame pointers: ~2 ns a frame, exact when every function on the stack keeps %rbp as a frame
 *    pointer; each step is bounds-checked against the thread's stack so a function that uses
 *    %rbp as a general register ends the walk instead of crashing it.
 *  - drip's own .eh_frame walker (cfi.c): the DWARF rule of each return address decoded once
 *    (ehframe.c) and cached; a frame costs a lookup and two loads; signal frames are read from
 *    the kernel's ucontext_t. It answers -1 for what it does not model (PLT stubs, a function
 *    without an FDE, a return address outside CFA-8).
 *  - libunwind's unw_backtrace: reads DWARF CFI (cached per thread, per address), correct for
 *    code built without frame pointers; ~15 ns a frame once its cache is warm. The last resort,
 *    and one the program can see: its first use opens a pipe on the lowest free descriptors and
 *    each walk makes rt_sigprocmask calls (issue #12), so it is loaded (unwind_lu.c: dlopen) and
 *    initialised on first use only.
 * A walk of the main thread before drip's constructor ran (a library's constructor) takes the
 * stack's top from AT_EXECFN; one that reaches the start code below main (_start, the dynamic
 * loader's _dl_start_user: a constructor's stack) is complete there; one that meets code in a
 * module the table does not know yet (a constructor run by dlopen) refreshes the table once.
 * `auto` (the default) walks frame pointers while every frame it finds lies in a module built
 * with frame pointers (modules.c), up to the bottom of the program's stack (main's or the
 * thread's entry, recorded by runtime.c and threads.c). At the first frame in a module without
 * them (a program built without them, Debian's libc, libstdc++: strdup, operator new, qsort's
 * callbacks) the .eh_frame walker takes over from that frame: the frames above it came from
 * frame pointers that were kept, so the caller's %rsp and %rbp are known there, and walking
 * them again by their rules would find the same frames at twice the cost. A walk that ends
 * anywhere else before the bottom is taken again with the .eh_frame walker from the top, and
 * with libunwind when that one gives up.
 * drip's own frames (the hook, this file) are dropped from the result.
 */
#include "internal.h"
#include "depot.h"
#include "modules.h"
#include "unwind.h"
#include "unwind_lu.h"

#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>

DRIP_TLS uintptr_t drip__stack_hi;

enum { MODE_AUTO, MODE_FP, MODE_LIBUNWIND, MODE_CFI };
static int mode = MODE_AUTO;
uintptr_t drip__main_ret;
DRIP_TLS uintptr_t drip__thread_ret;

/* The start code at the bottom of the main thread's stack, [lo, lo + 64): the program's _start
 * (AT_ENTRY) and the dynamic loader's (its entry point: _start, then _dl_start_user, which calls
 * the constructors). Neither has a usable FDE: a return address there is the outermost frame. */
static uintptr_t start_code[2];
/* The top of the main thread's stack: the page after the program's file name, which the kernel
 * puts at the very top of the initial stack (drip__unwind_main_top; threads.c takes it for main). */
static uintptr_t main_top;

static void find_start_code(void)
{
    start_code[0] = getauxval(AT_ENTRY);
    uintptr_t base = getauxval(AT_BASE);
    if (base) {
        const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
        if (!memcmp(eh->e_ident, ELFMAG, SELFMAG))
            start_code[1] = base + eh->e_entry;
    }
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    if (execfn)
        main_top = ((uintptr_t)execfn + strlen(execfn) + 1 + 4095) & ~(uintptr_t)4095;
}

bool drip__unwind_outermost(uintptr_t ip)
{
    return (start_code[0] && ip - start_code[0] < 64) || (start_code[1] && ip - start_code[1] < 64);
}

uintptr_t drip__unwind_main_top(void)
{
    if (!start_code[0] && !main_top)
        find_start_code();
    return main_top;
}

void drip__unwind_init(void)
{
    mode = !strcmp(drip__opt.unwind, "fp") ? MODE_FP : !strcmp(drip__opt.unwind, "libunwind") ? MODE_LIBUNWIND
         : !strcmp(drip__opt.unwind, "cfi") ? MODE_CFI : MODE_AUTO;
    if (mode == MODE_AUTO || mode == MODE_CFI)
        drip__modules_refresh();
    drip__unwind_main_top();   /* the start code and the main stack's top, found once */
    /* no unw_* call here: libunwind's first use opens a pipe (its memory validation) on the
     * lowest free descriptors, which the program would see (issue #12) */
}

/* The calling thread's stack top when it is not known yet (an allocation by a constructor that
 * ran before drip's): the main thread's, when the stack pointer lies within 8 MiB below it. No
 * other thread's stack is there: mmap's region starts at least 128 MiB below the main stack. */
static bool stack_hi_early(void)
{
    uintptr_t top = drip__unwind_main_top(), sp = (uintptr_t)__builtin_frame_address(0);
    if (!top || sp >= top || top - sp > ((uintptr_t)8 << 20))
        return false;
    drip__stack_hi = top;
    return true;
}

static inline bool in_self(uintptr_t ip) { return ip >= drip__g.self_lo && ip < drip__g.self_hi; }

/* Removes drip's frames: the hook on top, and interposers such as pthread_create in the middle. */
static int drop_self(uintptr_t *frames, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!in_self(frames[i]))
            frames[k++] = frames[i];
    return k;
}

/* Walks the %rbp chain from this function's own frame, bounded by the thread's stack, leaving
 * out drip's own frames. `checked` (unwind=auto): the walk must be trustworthy, so it stops at the
 * bottom of the program's stack and gives up (-1) at the first frame in a module without frame
 * pointers, which hides its caller, or at anything odd; unchecked (unwind=fp), it keeps what it
 * found before the chain ended. */
static inline __attribute__((always_inline)) int fp_walk(uintptr_t *out, int max, bool checked, uint64_t *hash)
{
    /* everything the loop compares against is read once, into registers: stores to out[] would
     * otherwise make the compiler reload each global for every frame */
    const uintptr_t self_lo = drip__g.self_lo, self_hi = drip__g.self_hi;
    const uintptr_t main_ret = drip__main_ret, thread_ret = drip__thread_ret;
    uintptr_t *fp = __builtin_frame_address(0);
    const uintptr_t lo = (uintptr_t)fp;
    const uintptr_t hi = drip__stack_hi ? drip__stack_hi : lo + ((uintptr_t)8 << 20);
    uintptr_t mlo = 0, mhi = 0;   /* the last module found to keep frame pointers */
    uint64_t h = DRIP_HASH_SEED;
    int n = 0;
    while (n < max) {
        uintptr_t f = (uintptr_t)fp;
        /* f > hi - 16, not f + 16 > hi: a %rbp used as a general register can hold a value
         * near 2^64 (python3's Py_FinalizeEx: -16), for which f + 16 wraps to a small number */
        if (f < lo || f > hi - 2 * sizeof(uintptr_t) || (f & (sizeof(uintptr_t) - 1)))
            goto ended;
        uintptr_t ret = fp[1];
        if (ret < 4096)
            goto ended;
        if (!(ret >= self_lo && ret < self_hi)) {
            out[n++] = ret;
            h = drip__hash_step(h, ret);
            if (checked) {
                if (ret == main_ret || ret == thread_ret)
                    goto done;
                if (DRIP_UNLIKELY(ret < mlo || ret >= mhi)) {
                    uintptr_t l, u;
                    if (drip__module_fp_range(ret, &l, &u) != 1)
                        return -1;
                    mlo = l;
                    mhi = u;
                }
            }
        }
        uintptr_t *next = (uintptr_t *)fp[0];
        if (next <= fp)
            goto ended;
        fp = next;
    }
    goto done;
ended:   /* the chain ended before the bottom of the program's stack */
    if (checked)
        return -1;
done:
    *hash = drip__hash_finish(h, n);
    return n;
}

/* The module range a walk of this thread last found to keep frame pointers, and the module
 * table's generation it was found in: most walks start where the last one ran, and the range
 * lets them skip the module lookup for the first frame too. */
static DRIP_TLS uintptr_t walk_mlo, walk_mlen;
static DRIP_TLS unsigned walk_gen;
/* The same for the module a walk last found *without* frame pointers: a program built without
 * them fails every walk at its first frame, and this makes that failure a compare. */
static DRIP_TLS uintptr_t walk_nlo, walk_nlen;
static DRIP_TLS unsigned walk_ngen;

/* unwind=auto's walk: fp_walk(checked) handing over to the .eh_frame walk at the first frame in a
 * module without frame pointers, with the common frame (a return address in the module of
 * the frame before it) down to about 20 instructions. The frame's bounds test is one unsigned
 * compare each way (next in (fp, hi - 16]), drip's own range and the module lookup are left to frames
 * outside the cached module, and the bottom of the stack is one address per thread (main's
 * return into libc for the main thread, the thread entry's return for the others). */
__attribute__((noinline)) static int fp_walk_checked(uintptr_t *out, int max, uint64_t *hash)
{
    const uintptr_t self_lo = drip__g.self_lo, self_len = drip__g.self_hi - drip__g.self_lo;
    const uintptr_t bottom = drip__thread_ret ? drip__thread_ret : drip__main_ret;
    uintptr_t *fp = __builtin_frame_address(0);
    const uintptr_t top = (drip__stack_hi ? drip__stack_hi : (uintptr_t)fp + ((uintptr_t)8 << 20)) - 2 * sizeof(uintptr_t);
    if ((uintptr_t)fp > top)
        return -1;
    unsigned gen = drip__modules_generation();
    uintptr_t mlo = walk_mlo, mlen = walk_gen == gen ? walk_mlen : 0;
    const uintptr_t nlo = walk_nlo, nlen = walk_ngen == gen ? walk_nlen : 0;
    for (;;) {   /* drip's own frames on top (this walk, drip__unwind, the hook): left out */
        if (fp[1] - self_lo >= self_len)
            break;
        uintptr_t next = fp[0];
        if (next <= (uintptr_t)fp || next > top || (next & (sizeof(uintptr_t) - 1)))
            return -1;
        fp = (uintptr_t *)next;
    }
    uint64_t h = DRIP_HASH_SEED;
    long n = 0;
    while (n < max) {
        uintptr_t ret = fp[1];
        if (DRIP_LIKELY(ret - mlo < mlen)) {   /* the cached module: never drip's own */
            out[n++] = ret;
            h = drip__hash_step(h, ret);
            if (DRIP_UNLIKELY(ret == bottom))
                goto done;
        } else if (ret - self_lo >= self_len) {   /* (drip's own frames are left out) */
            if (ret < 4096)
                return -1;
            if (ret == bottom) {
                out[n++] = ret;
                h = drip__hash_step(h, ret);
                goto done;
            }
            if (ret - nlo < nlen)
                goto cfi;   /* a module without frame pointers hides its caller */
            uintptr_t l, u;
            int fp = drip__module_fp_range(ret, &l, &u);
            if (fp != 1) {
                if (fp != 0)
                    return -1;   /* code in no module drip knows: libunwind's */
                walk_nlo = l;
                walk_nlen = u - l;
                walk_ngen = gen;
                goto cfi;
            }
            if (l < self_lo + self_len && u > self_lo)
                return -1;   /* (cannot happen: ret is not drip's) */
            mlo = walk_mlo = l;
            mlen = walk_mlen = u - l;
            walk_gen = gen;
            out[n++] = ret;
            h = drip__hash_step(h, ret);
        }
        uintptr_t next = fp[0];
        if (next <= (uintptr_t)fp || next > top || (next & (sizeof(uintptr_t) - 1)))
            return -1;   /* the chain ended before the bottom of the program's stack */
        fp = (uintptr_t *)next;
    }
done:
    *hash = drip__hash_finish(h, (int)n);
    return (int)n;
cfi:
    /* Every frame so far was in a module that keeps frame pointers, so this frame's caller has
     * %rsp = fp + 2 and the %rbp saved at fp[0]: the .eh_frame walk goes on from there, with
     * ret (not yet recorded) as its first frame. From scratch it would find the same frames
     * above this one, one rule lookup each (drip's own included) instead of two loads. */
    return drip__cfi_walk_from(out, (int)n, max, h, hash, fp[1], (uintptr_t)(fp + 2), fp[0], top + 2 * sizeof(uintptr_t));
}

/* unwind=fp's walk. noinline: it walks from its own frame, which is drip's and is left out. */
__attribute__((noinline)) static int fp_walk_unchecked(uintptr_t *out, int max, uint64_t *hash)
{
    return fp_walk(out, max, false, hash);
}

/* libunwind's walk, out of line: its 72-frame buffer would otherwise give every call of
 * drip__unwind a large frame to set up. Its own frame is drip's, left out with the others. */
__attribute__((noinline)) static int libunwind_walk(uintptr_t *frames, int max, uint64_t *hash)
{
    uintptr_t buf[DRIP_MAX_FRAMES + 8];
    int want = max + 8 > (int)(sizeof buf / sizeof buf[0]) ? (int)(sizeof buf / sizeof buf[0]) : max + 8;
    int n = drip__lu_backtrace((void **)buf, want);   /* unwind_lu.c: loaded on first need */
    if (n < 0)
        n = 0;
    n = drop_self(buf, n);
    if (n > max)
        n = max;
    memcpy(frames, buf, (size_t)n * sizeof *frames);
    *hash = drip__stack_hash(frames, n);
    return n;
}

int drip__unwind(uintptr_t *frames, int max, uint64_t *hash)
{
    /* drip's own walkers read the stack directly: only where its bounds are known (threads drip
     * saw start, and the main thread); anywhere else libunwind takes the stack */
    if (DRIP_UNLIKELY(!drip__stack_hi) && !stack_hi_early())
        return libunwind_walk(frames, max, hash);
    if (mode == MODE_AUTO) {
        int n = fp_walk_checked(frames, max, hash);
        if (DRIP_LIKELY(n > 0))
            return n;
        n = drip__cfi_walk(frames, max, hash);
        if (n > 0)
            return n;
        /* code in a module mapped since the table was built (a constructor run by dlopen) */
        if (drip__modules_refresh_if_stale()) {
            n = fp_walk_checked(frames, max, hash);
            if (n <= 0)
                n = drip__cfi_walk(frames, max, hash);
            if (n > 0)
                return n;
        }
        return libunwind_walk(frames, max, hash);
    }
    if (mode == MODE_FP)
        return fp_walk_unchecked(frames, max, hash);
    if (mode == MODE_CFI) {
        int n = drip__cfi_walk(frames, max, hash);
        if (n < 0 && drip__modules_refresh_if_stale())
            n = drip__cfi_walk(frames, max, hash);
        if (n >= 0)
            return n;
        *hash = drip__stack_hash(frames, 0);
        return 0;
    }
    return libunwind_walk(frames, max, hash);
}
