/* modules.c — which loaded modules keep frame pointers, so `unwind=auto` can walk %rbp where
 * that is exact and fall back to libunwind where it is not.
 *
 * A module counts as built with frame pointers when at least 80% of its functions of 64 bytes or
 * more (small ones are start-up stubs and hand-written assembly) define their CFA from %rbp in
 * their DWARF call frame information: that is what `push %rbp; mov %rsp,%rbp` looks like in
 * .eh_frame. The FDEs are found through .eh_frame_hdr's sorted table (PT_GNU_EH_FRAME), so
 * nothing is read from disk: everything is already mapped. At most 512 FDEs per module are
 * decoded, evenly spread.
 * The table of modules is rebuilt at start-up and after each dlopen/dlclose (interpose.c);
 * readers take no lock: they read a published, immutable array. The DWARF is read by ehframe.c;
 * what dlclose unloads is kept nameable by unloaded.c.
 * The same rebuild records where each module's static TLS block lies (retention roots, #16): on
 * x86_64 the block of module M sits at the same offset from every thread's thread pointer, so the
 * offset seen from the rebuilding thread (dl_iterate_phdr's dlpi_tls_data) holds for all. A block
 * of dynamic TLS (a dlopen'ed module's, malloc'd on first use in each thread) has no fixed offset:
 * it is a heap block, reached through the thread's DTV, whose entry for the module (by its TLS
 * module id, also recorded) names the module.
 * Lock: `refresh_mu` (rank DRIP_RANK_MODULES; the arena under it).
 */
#include "internal.h"
#include "arena.h"
#include "ehframe.h"
#include "modules.h"
#include "mmaps.h"
#include "stop.h"

#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

enum { MAX_MODULES = 512, MAX_SAMPLED = 512, MIN_FUNC_BYTES = 64 };

enum { FP_UNKNOWN = -2 };

struct module {
    uintptr_t lo, hi;   /* executable PT_LOAD segments */
    _Atomic int fp;     /* FP_UNKNOWN until a stack first needs it (module_fp) */
    const uint8_t *eh_frame_hdr;
};

enum { MAX_TLS = 64 };

struct tls_block {   /* a module's static TLS block: [tp + off, tp + off + size) in every thread */
    intptr_t off;
    uintptr_t size, bias;
};

struct tls_dyn {     /* a module whose TLS is dynamic: each thread's DTV entry modid points to it */
    size_t modid;
    uintptr_t bias;
};

struct table {
    int n, ntls, ndyn;
    uintptr_t tls_below;   /* every static block lies within this many bytes below tp */
    size_t max_modid;      /* of the dynamic ones */
    struct module m[MAX_MODULES];
    struct tls_block tls[MAX_TLS];
    struct tls_dyn dyn[MAX_TLS];
};

static struct table *_Atomic current;
static _Atomic unsigned modules_gen;   /* bumped by each rebuild of the table */
static pthread_mutex_t refresh_mu = PTHREAD_MUTEX_INITIALIZER;

/* Does this FDE's CFA program move the CFA onto %rbp (DWARF register 6) before anything defines it
 * by an expression? 1: yes; 0: no; -1 when it cannot be decoded, defines the CFA by an expression
 * first (a PLT, see module_has_fp) or the function is too small to count. */
static int fde_uses_rbp(const uint8_t *at, struct drip__cie_cache *cies)
{
    struct drip__fde fde;
    if (drip__parse_fde_cached(at, &fde, cies) != 0 || fde.range < MIN_FUNC_BYTES)
        return -1;
    struct drip__cfa st = {.row = {.cfa_reg = -1}};
    drip__cfa_execute(&st, &fde.cie, fde.insns, fde.end, 0, UINTPTR_MAX);
    return st.first == DRIP_CFA_FIRST_RBP ? 1 : st.first == DRIP_CFA_FIRST_EXPRESSION ? -1 : 0;
}

/* Decides for one module from its .eh_frame_hdr. The PLT's FDE (CFA by expression) is not a
 * function and does not count: a small program built with frame pointers has only main and its
 * PLT at 64 bytes or more, and counting the PLT as a function without frame pointers (1 of 2,
 * under the 80%) sent every one of its stacks through a failed frame-pointer walk and then the
 * .eh_frame walker (issue 15: most of the 20% that fp_walk_checked and cfi_walk took). */
static int module_has_fp(const uint8_t *at)
{
    struct drip__eh_hdr hdr;
    if (drip__eh_hdr_open(at, &hdr) != 0 || hdr.count <= 0)
        return 0;
    int64_t step = hdr.count > MAX_SAMPLED ? hdr.count / MAX_SAMPLED : 1;
    int64_t with = 0, without = 0, left = (hdr.count + step - 1) / step;
    struct drip__cie_cache cies = {0};
    for (int64_t i = 0; i < hdr.count; i += step) {
        /* the verdict (with >= 4 * without, at least one counted) stops as soon as the FDEs
         * left cannot change it: a module without frame pointers (Debian's libc, most
         * programs) is decided after about a fifth of its sample instead of all 512 */
        if (with + left < 4 * without)
            return 0;
        if (with >= 1 && with >= 4 * (without + left))
            return 1;
        left--;
        uintptr_t start;
        const uint8_t *fde;
        drip__eh_hdr_entry(&hdr, i, &start, &fde);
        int r = fde_uses_rbp(fde, &cies);
        if (r < 0)
            continue;
        with += r;
        without += !r;
    }
    return with >= 1 && with >= 4 * without;
}

/* How far below the thread pointer the static TLS area reaches: glibc's own answer
 * (_dl_get_tls_static_info, what LeakSanitizer asks too), else 1 MiB. */
static uintptr_t static_tls_size(void)
{
    static uintptr_t size;
    if (!size) {
        void (*get)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
        size_t sz = 0, align = 0;
        if (get)
            get(&sz, &align);
        size = sz ? sz : (uintptr_t)1 << 20;
    }
    return size;
}

/* The module's static TLS block, if it has one: dlpi_tls_data (this thread's copy) within the
 * static area below this thread's pointer. */
static void collect_tls(struct table *t, const struct dl_phdr_info *info)
{
    uintptr_t tp = (uintptr_t)pthread_self(), data = (uintptr_t)info->dlpi_tls_data;
    if (!info->dlpi_tls_modid)
        return;
    if (!data || data >= tp || tp - data > static_tls_size() || t->ntls >= MAX_TLS) {
        if (t->ndyn < MAX_TLS) {   /* dlopen'ed: malloc'd in each thread on first use */
            t->dyn[t->ndyn++] = (struct tls_dyn){info->dlpi_tls_modid, info->dlpi_addr};
            t->max_modid = info->dlpi_tls_modid > t->max_modid ? info->dlpi_tls_modid : t->max_modid;
        }
        return;
    }
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_TLS) {
            t->tls[t->ntls++] = (struct tls_block){(intptr_t)(data - tp), info->dlpi_phdr[i].p_memsz, info->dlpi_addr};
            if (tp - data > t->tls_below)
                t->tls_below = tp - data;
            return;
        }
}

/* glibc's x86_64 thread control block: the DTV pointer at tp + 8; the DTV an array of
 * {pointer, to_free} pairs indexed by module id (0: the generation; -1: the length). */
bool drip__module_dtv_of(uintptr_t tp, uintptr_t a, bool racy, uintptr_t *bias, uintptr_t *modid)
{
    const struct table *t = atomic_load_explicit(&current, memory_order_acquire);
    uintptr_t dtv = 0;
    if (!t || !t->ndyn)
        return false;
    if (!racy)
        dtv = *(const uintptr_t *)(tp + sizeof(uintptr_t));
    else if (drip__safe_read(&dtv, tp + sizeof(uintptr_t), sizeof dtv) != (long)sizeof dtv)
        return false;
    if (!dtv || a < dtv + 2 * sizeof(uintptr_t) || a >= dtv + 2 * sizeof(uintptr_t) * (t->max_modid + 1))
        return false;
    size_t id = (a - dtv) / (2 * sizeof(uintptr_t));
    for (int i = 0; i < t->ndyn; i++)
        if (t->dyn[i].modid == id) {
            *bias = t->dyn[i].bias;
            *modid = id;
            return true;
        }
    return false;
}

bool drip__module_tls_of(uintptr_t tp, uintptr_t a, uintptr_t *bias, uintptr_t *off)
{
    const struct table *t = atomic_load_explicit(&current, memory_order_acquire);
    if (!t || a >= tp || tp - a > t->tls_below)   /* the scan asks for every root word and thread */
        return false;
    for (int i = 0; i < t->ntls; i++) {
        uintptr_t lo = tp + (uintptr_t)t->tls[i].off;
        if (a >= lo && a - lo < t->tls[i].size) {
            *bias = t->tls[i].bias;
            *off = a - lo;
            return true;
        }
    }
    return false;
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct table *t = arg;
    const uint8_t *hdr = NULL;
    collect_tls(t, info);
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
            hdr = (const uint8_t *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    int fp = -1;
    for (int i = 0; i < info->dlpi_phnum && t->n < MAX_MODULES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        /* a module the last table knew (same code, same .eh_frame_hdr) keeps its answer: each
         * dlopen rebuilt the table and sampled every module's FDEs again (their pages too) */
        const struct table *old = atomic_load_explicit(&current, memory_order_acquire);
        for (int k = 0; fp < 0 && old && k < old->n; k++)
            if (old->m[k].lo == lo && old->m[k].hi == lo + ph->p_memsz && old->m[k].eh_frame_hdr == hdr)
                fp = atomic_load_explicit(&old->m[k].fp, memory_order_relaxed);
        /* else decided when a stack first passes through it: sampling the FDEs of every module
         * at start-up (libm, liblzma... that no stack ever enters) was 0.4 ms of each exec */
        if (fp < 0)
            fp = FP_UNKNOWN;
        t->m[t->n].lo = lo;
        t->m[t->n].hi = lo + ph->p_memsz;
        atomic_init(&t->m[t->n].fp, fp);
        t->m[t->n].eh_frame_hdr = hdr;
        t->n++;
    }
    return 0;
}

static int by_lo(const void *a, const void *b)
{
    uintptr_t x = ((const struct module *)a)->lo, y = ((const struct module *)b)->lo;
    return x < y ? -1 : x > y;
}

/* The loader's count of modules loaded and unloaded so far, as the last rebuild saw them. */
static _Atomic unsigned long long seen_adds, seen_subs;

static int count_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *c = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
    }
    return 1;   /* the counts come with the first module: stop there */
}

static void rebuild(void);

/* Rebuilds the table. Old tables are never freed: a reader may still hold one, and dlopen is
 * rare (each table is 12 KiB). */
void drip__modules_refresh(void)
{
    struct drip__entry e = drip__enter();
    pthread_mutex_lock(&refresh_mu);
    rebuild();
    pthread_mutex_unlock(&refresh_mu);
    drip__leave(e);
}

/* A walk met code in no module of the table: modules the loader mapped since the last rebuild
 * (the constructors of a library that dlopen is loading, one that libc loaded itself: NSS,
 * iconv) are added. true when the table changed. trylock: a thread that holds the loader's lock
 * (a dl_iterate_phdr callback that allocates) must never wait here for one that waits for it. */
bool drip__modules_refresh_if_stale(void)
{
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(count_cb, c);
    if (c[0] == atomic_load(&seen_adds) && c[1] == atomic_load(&seen_subs))
        return false;
    struct drip__entry e = drip__enter();
    bool done = pthread_mutex_trylock(&refresh_mu) == 0;
    if (done) {
        rebuild();
        pthread_mutex_unlock(&refresh_mu);
    }
    drip__leave(e);
    return done;
}

static void rebuild(void)
{
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(count_cb, c);
    struct table *t = drip__arena_alloc(sizeof *t);
    if (t) {
        dl_iterate_phdr(collect, t);
        /* insertion sort: qsort may allocate */
        for (int i = 1; i < t->n; i++)
            for (int j = i; j > 0 && by_lo(&t->m[j - 1], &t->m[j]) > 0; j--) {
                struct module x = t->m[j];
                t->m[j] = t->m[j - 1];
                t->m[j - 1] = x;
            }
        atomic_store_explicit(&current, t, memory_order_release);
        atomic_fetch_add(&modules_gen, 1);
        atomic_store(&seen_adds, c[0]);
        atomic_store(&seen_subs, c[1]);
    }
}

static DRIP_TLS uintptr_t last_lo, last_hi;
static DRIP_TLS int last_fp;
static DRIP_TLS struct table *last_table;

/* drip__module_fp: 1 when addr lies in a module built with frame pointers; 0: in one without;
 * -1: in none. With _range, also the bounds of the segment found. */
int drip__module_fp_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    int fp = drip__module_fp(addr);
    *lo = fp >= 0 ? last_lo : 0;   /* with or without frame pointers: the walk caches both */
    *hi = fp >= 0 ? last_hi : 0;
    return fp;
}

/* The module's verdict, decided on first need (a benign race: two threads store the same). */
static int module_fp(const struct module *m)
{
    int fp = atomic_load_explicit(&m->fp, memory_order_relaxed);
    if (fp == FP_UNKNOWN) {
        fp = module_has_fp(m->eh_frame_hdr);
        atomic_store_explicit(&((struct module *)m)->fp, fp, memory_order_relaxed);
    }
    return fp;
}

/* The module whose executable segment contains addr, or NULL. */
static const struct module *find_module(const struct table *t, uintptr_t addr)
{
    int a = 0, b = t ? t->n : 0;
    while (a < b) {
        int mid = (a + b) / 2;
        if (t->m[mid].hi <= addr)
            a = mid + 1;
        else
            b = mid;
    }
    return (t && a < t->n && addr >= t->m[a].lo) ? &t->m[a] : NULL;
}

int drip__module_fp(uintptr_t addr)
{
    struct table *t = atomic_load_explicit(&current, memory_order_acquire);
    if (DRIP_LIKELY(t == last_table && addr >= last_lo && addr < last_hi))
        return last_fp;
    const struct module *m = find_module(t, addr);
    if (!m) {
        last_lo = last_hi = 0;
        return -1;
    }
    last_table = t;
    last_lo = m->lo;
    last_hi = m->hi;
    last_fp = module_fp(m);
    return last_fp;
}

/* The .eh_frame_hdr of the module whose code contains addr, or NULL. */
const uint8_t *drip__module_eh_frame_hdr(uintptr_t addr)
{
    const struct module *m = find_module(atomic_load_explicit(&current, memory_order_acquire), addr);
    return m ? m->eh_frame_hdr : NULL;
}

int drip__modules_fp_count(int *total)
{
    struct table *t = atomic_load_explicit(&current, memory_order_acquire);
    int n = 0;
    *total = t ? t->n : 0;
    for (int i = 0; t && i < t->n; i++)
        n += module_fp(&t->m[i]) == 1;
    return n;
}


unsigned drip__modules_generation(void) { return atomic_load(&modules_gen); }

/* ---- dlopen / dlclose (interpose.c): the set of modules changes ---------------------------- */
void *drip__dlopen(const char *file, int mode)
{
    static void *(*real)(const char *, int);
    if (!real)
        real = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    void *h = real(file, mode);
    if (h && atomic_load(&drip__g.initialised))
        drip__modules_refresh();
    return h;
}

int drip__dlclose(void *handle)
{
    static int (*real)(void *);
    if (!real)
        real = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    if (atomic_load(&drip__g.initialised) && !drip__guard) {
        struct drip__entry e = drip__enter();
        drip__unloaded_keep(handle);
        drip__leave(e);
    }
    int rc = real(handle);
    if (atomic_load(&drip__g.initialised)) {
        drip__modules_refresh();
        drip__cfi_flush();
    }
    return rc;
}

void drip__modules_child_reset(void)
{
    pthread_mutex_init(&refresh_mu, NULL);
    drip__unloaded_child_reset();
    drip__mmaps_child_reset();
}
