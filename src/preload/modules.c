/* modules.c — which loaded modules keep frame pointers, so `unwind=auto` can walk %rbp where
 * that is exact and fall back to libunwind where it is not.
 *
 * A module counts as built with frame pointers when at least 80% of its functions of 64 bytes or
 * more (small ones are start-up stubs and hand-written assembly) define their CFA from %rbp in
 * their DWARF call frame information: that is what `push %rbp; mov %rsp,%rbp` looks like in
 * .eh_frame. The FDEs are found through .eh_frame_hdr's sorted table (PT_GNU_EH_FRAME), so
 * nothing is read from disk: everything is already mapped. At most 512 FDEs per module are
 * decoded, evenly spread.
 * The table of modules is rebuilt at start-up and after each dlopen/dlclose (interposed here);
 * readers take no lock: they read a published, immutable array.
 */
#include "internal.h"
#include "arena.h"
#include "depot.h"
#include "export.h"
#include "modules.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "raw.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAX_MODULES = 512, MAX_SAMPLED = 512, MIN_FUNC_BYTES = 64 };

struct module {
    uintptr_t lo, hi;   /* executable PT_LOAD segments */
    int fp;
    const uint8_t *eh_frame_hdr;
};

struct table {
    int n;
    struct module m[MAX_MODULES];
};

static struct table *_Atomic current;
static _Atomic unsigned modules_gen;   /* bumped by each rebuild of the table */
static pthread_mutex_t refresh_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- a minimal DWARF reader for .eh_frame ---------------------------------------------------- */
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
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    while (*p < end) {
        b = *(*p)++;
        if (shift < 64)
            v |= (int64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    if (shift < 64 && (b & 0x40))
        v |= -((int64_t)1 << shift);
    return v;
}

/* Size of a pointer encoded with DW_EH_PE format `enc` (0 for unknown). */
int drip__enc_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case 0x00: return 8;   /* absptr */
    case 0x02: case 0x0a: return 2;
    case 0x03: case 0x0b: return 4;
    case 0x04: case 0x0c: return 8;
    default: return 0;
    }
}

int64_t drip__read_enc(const uint8_t *p, uint8_t enc)
{
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: { int64_t v; memcpy(&v, p, 8); return v; }
    case 0x03: { uint32_t v; memcpy(&v, p, 4); return v; }
    case 0x0b: { int32_t v; memcpy(&v, p, 4); return v; }
    case 0x02: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 0x0a: { int16_t v; memcpy(&v, p, 2); return v; }
    default: return 0;
    }
}

/* Reads a CIE: alignment factors, how its FDEs encode addresses, where its initial instructions
 * are. -1 for what drip's walkers do not handle (signal frames, a return address column other
 * than 16, unknown augmentations). */
int drip__parse_cie(const uint8_t *cie, struct drip__cie *c)
{
    uint32_t len;
    memcpy(&len, cie, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    const uint8_t *end = cie + 4 + len, *p = cie + 8;
    uint8_t version = *p++;
    const char *aug = (const char *)p;
    p += strnlen(aug, (size_t)(end - p)) + 1;
    c->code_align = drip__uleb(&p, end);
    c->data_align = drip__sleb(&p, end);
    uint64_t ra = version == 1 ? *p++ : drip__uleb(&p, end);
    if (ra != 16)   /* the return address column on x86-64 */
        return -1;
    c->fde_enc = 0;
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

/* Does this FDE's CFA program move the CFA onto %rbp (DWARF register 6)? -1 when it cannot be
 * decoded or the function is too small to count. */
static int fde_uses_rbp(const uint8_t *fde)
{
    uint32_t len;
    memcpy(&len, fde, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    const uint8_t *end = fde + 4 + len;
    int32_t cie_off;
    memcpy(&cie_off, fde + 4, 4);
    if (cie_off == 0)
        return -1;   /* a CIE, not an FDE */
    struct drip__cie c;
    if (drip__parse_cie(fde + 4 - cie_off, &c) != 0)
        return -1;
    uint8_t fde_enc = c.fde_enc;
    int has_z = c.has_z;
    int sz = drip__enc_size(fde_enc);
    if (!sz)
        return -1;
    const uint8_t *q = fde + 8;
    int64_t range = drip__read_enc(q + sz, fde_enc & 0x0f);
    if (range < MIN_FUNC_BYTES)
        return -1;
    q += 2 * sz;
    if (has_z) {
        uint64_t alen = drip__uleb(&q, end);
        q += alen;
    }
    /* walk the CFA instructions */
    while (q < end) {
        uint8_t op = *q++;
        uint8_t hi = op & 0xc0;
        if (hi == 0x40 || hi == 0xc0)
            continue;                            /* advance_loc, restore */
        if (hi == 0x80) {
            drip__uleb(&q, end);                       /* offset */
            continue;
        }
        switch (op) {
        case 0x00: case 0x0a: case 0x0b: break;                           /* nop, remember/restore_state */
        case 0x01: q += sz; break;                                         /* set_loc */
        case 0x02: q += 1; break;
        case 0x03: q += 2; break;
        case 0x04: q += 4; break;
        case 0x05: case 0x09: case 0x14: drip__uleb(&q, end); drip__uleb(&q, end); break;
        case 0x06: case 0x07: case 0x08: case 0x2e: drip__uleb(&q, end); break;
        case 0x0c: if (drip__uleb(&q, end) == 6) return 1; drip__uleb(&q, end); break;  /* def_cfa */
        case 0x0d: if (drip__uleb(&q, end) == 6) return 1; break;                /* def_cfa_register */
        case 0x0e: drip__uleb(&q, end); break;
        case 0x0f: return -1;   /* def_cfa_expression: a PLT (see module_has_fp), not a function */
        case 0x10: case 0x16: { drip__uleb(&q, end); uint64_t l = drip__uleb(&q, end); q += l; break; }
        case 0x11: case 0x15: case 0x2f: drip__uleb(&q, end); drip__sleb(&q, end); break;
        case 0x12: if (drip__uleb(&q, end) == 6) return 1; drip__sleb(&q, end); break; /* def_cfa_sf */
        case 0x13: drip__sleb(&q, end); break;
        default: return 0;
        }
    }
    return 0;
}

/* Decides for one module from its .eh_frame_hdr. The PLT's FDE (CFA by expression) is not a
 * function and does not count: a small program built with frame pointers has only main and its
 * PLT at 64 bytes or more, and counting the PLT as a function without frame pointers (1 of 2,
 * under the 80%) sent every one of its stacks through a failed frame-pointer walk and then the
 * .eh_frame walker (issue 15: most of the 20% that fp_walk_checked and cfi_walk took). */
static int module_has_fp(const uint8_t *hdr)
{
    if (!hdr || hdr[0] != 1)
        return 0;
    uint8_t ptr_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
    if (table_enc != 0x3b || !drip__enc_size(ptr_enc) || !drip__enc_size(count_enc))
        return 0;   /* datarel|sdata4 is what every GNU linker writes */
    const uint8_t *p = hdr + 4 + drip__enc_size(ptr_enc);
    int64_t count = drip__read_enc(p, count_enc);
    p += drip__enc_size(count_enc);
    if (count <= 0)
        return 0;
    int64_t step = count > MAX_SAMPLED ? count / MAX_SAMPLED : 1;
    int with = 0, counted = 0;
    for (int64_t i = 0; i < count; i += step) {
        int32_t fde_off;
        memcpy(&fde_off, p + i * 8 + 4, 4);
        int r = fde_uses_rbp(hdr + fde_off);
        if (r < 0)
            continue;
        counted++;
        with += r;
    }
    return counted >= 1 && with * 5 >= counted * 4;
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct table *t = arg;
    const uint8_t *hdr = NULL;
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
                fp = old->m[k].fp;
        if (fp < 0)
            fp = module_has_fp(hdr);
        t->m[t->n++] = (struct module){lo, lo + ph->p_memsz, fp, hdr};
    }
    return 0;
}

static int by_lo(const void *a, const void *b)
{
    uintptr_t x = ((const struct module *)a)->lo, y = ((const struct module *)b)->lo;
    return x < y ? -1 : x > y;
}

/* Rebuilds the table. Old tables are never freed: a reader may still hold one, and dlopen is
 * rare (each table is 12 KiB). */
void drip__modules_refresh(void)
{
    drip__guard++;
    pthread_mutex_lock(&refresh_mu);
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
    }
    pthread_mutex_unlock(&refresh_mu);
    drip__guard--;
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
    last_fp = m->fp;
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
        n += t->m[i].fp == 1;
    return n;
}


/* ---- code unloaded by dlclose ----------------------------------------------------------------
 * Stacks recorded while a library was loaded keep its addresses after dlclose unmaps it (and
 * another library may be mapped there later). Before each dlclose, the closing library's
 * identity (path, build-id, load bias, code ranges) is kept, and so is every recorded frame
 * inside it: the raw report lists them (`module ... unloaded=1`, `kept addr= module=`), and the
 * symbolizer names those frames from the library's file as it was. Nothing is named here.
 * Lock: `names_mu` (leaf). Arena memory, never freed (dlclose is rare).
 */
struct unloaded {
    struct unloaded *next;
    uint32_t id;
    uintptr_t bias;
    int nx;
    uintptr_t lo[8], hi[8];
    char path[512], build_id[128];
};
struct kept_addr {
    struct kept_addr *next;
    uintptr_t addr;
    uint32_t module;
};
enum { KEPT_BITS = 12, UNLOADED_ID0 = 1000000 };
static struct kept_addr *kept[1 << KEPT_BITS];
static struct unloaded *unloaded_list;
static uint32_t unloaded_count;
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t kept_slot(uintptr_t a) { return (size_t)((a * 0x9e3779b97f4a7c15ULL) >> (64 - KEPT_BITS)); }

static int is_kept(uintptr_t addr)
{
    for (struct kept_addr *k = kept[kept_slot(addr)]; k; k = k->next)
        if (k->addr == addr)
            return 1;
    return 0;
}

unsigned drip__modules_generation(void) { return atomic_load(&modules_gen); }

struct closing { uintptr_t base; struct unloaded *u; };

static int closing_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct closing *c = arg;
    if (info->dlpi_addr != c->base)
        return 0;
    struct unloaded *u = c->u;
    u->bias = info->dlpi_addr;
    ElfW(Phdr) phdr[64];
    int nph = drip__module_phdrs(info, phdr, 64);
    for (int i = 0; i < nph && u->nx < 8; i++) {
        const ElfW(Phdr) *ph = &phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            u->lo[u->nx] = info->dlpi_addr + ph->p_vaddr;
            u->hi[u->nx++] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        }
    }
    drip__build_id(info, u->build_id, sizeof u->build_id);
    return 1;
}

static void keep_module_of(void *handle)
{
    struct link_map *lm = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
        return;
    struct unloaded *u = drip__arena_alloc(sizeof *u);
    if (!u)
        return;
    struct closing c = {.base = lm->l_addr, .u = u};
    dl_iterate_phdr(closing_cb, &c);
    if (!u->nx)
        return;   /* arena memory is not given back: a few hundred bytes */
    char *maps = drip__read_maps();
    drip__maps_path(maps, u->lo[0], u->path, sizeof u->path);
    free(maps);
    if (!u->path[0])
        snprintf(u->path, sizeof u->path, "%s", lm->l_name ? lm->l_name : "");
    pthread_mutex_lock(&names_mu);
    u->id = UNLOADED_ID0 + ++unloaded_count;
    u->next = unloaded_list;
    unloaded_list = u;
    pthread_mutex_unlock(&names_mu);
    uint32_t count = drip__depot_count();
    for (uint32_t id = 1; id <= count; id++) {
        struct drip__site *site = drip__depot_get(id);
        for (uint32_t k = 0; site && k < site->depth; k++) {
            uintptr_t a = site->frames[k];
            int inside = 0;
            for (int r = 0; r < u->nx; r++)
                inside |= a - 1 >= u->lo[r] && a - 1 < u->hi[r];
            if (!inside)
                continue;
            pthread_mutex_lock(&names_mu);
            if (!is_kept(a)) {
                struct kept_addr *ka = drip__arena_alloc(sizeof *ka);
                if (ka) {
                    *ka = (struct kept_addr){kept[kept_slot(a)], a, u->id};
                    kept[kept_slot(a)] = ka;
                }
            }
            pthread_mutex_unlock(&names_mu);
        }
    }
}

/* The unloaded modules and the frames kept in them, as raw-report lines. */
void drip__modules_write_unloaded(struct drip_writer *w)
{
    pthread_mutex_lock(&names_mu);
    for (struct unloaded *u = unloaded_list; u; u = u->next) {
        drip__printf(w, "module id=%u bias=%lx unloaded=1", u->id, (unsigned long)u->bias);
        drip__raw_put_kv(w, "build_id", u->build_id);
        drip__raw_put_kv(w, "path", u->path);
        for (int i = 0; i < u->nx; i++)
            drip__printf(w, " x=%lx-%lx", (unsigned long)u->lo[i], (unsigned long)u->hi[i]);
        drip__puts(w, "\n");
    }
    for (size_t i = 0; i < (1u << KEPT_BITS); i++)
        for (struct kept_addr *k = kept[i]; k; k = k->next)
            drip__printf(w, "kept addr=%lx module=%u\n", (unsigned long)k->addr, k->module);
    pthread_mutex_unlock(&names_mu);
}

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
        drip__guard++;
        keep_module_of(handle);
        drip__guard--;
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
    pthread_mutex_init(&names_mu, NULL);
}
