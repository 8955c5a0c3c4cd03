/* symdata.c — names for the roots of retention paths that are variables: the ELF data symbol
 * (STT_OBJECT or STT_TLS in .symtab/.dynsym) that covers an address in a module's writable
 * segments, and from DWARF the file and line of its definition (DW_TAG_variable whose
 * DW_AT_location is DW_OP_addr of that symbol).
 *
 * Cheap because a short run names a few globals of big modules (libc's separate debug file is
 * compressed: reading all of it costs ~100 ms): the answer for each address is kept in the
 * module's on-disk name cache (symcache.h, keyed by the address's offset from the load bias with
 * DATA_KEY set, so it never meets a code offset); file:line are looked up only for the roots a
 * report prints (drip_symbols.data_where), and a cold question walks the module's CUs only
 * until the first one that defines a variable at the symbol's address, remembering what it
 * passed (address and DIE offset; file:line are read for the one variable asked about).
 * TLS variables (drip__symdata_tls) the same way, by module and offset in its PT_TLS block: the
 * STT_TLS symbol whose st_value (an offset in that block) covers it, and the DW_TAG_variable
 * whose location is that offset followed by DW_OP_GNU_push_tls_address / DW_OP_form_tls_address.
 * Runs in the `drip` process only. No locks.
 */
#include "symbolizer.h"
#include "symcache.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATA_KEY ((uintptr_t)1 << 62)
#define WHERE_KEY ((uintptr_t)1 << 61)
#define TLS_KEY ((uintptr_t)1 << 60)   /* with DATA_KEY: an offset in the module's PT_TLS block */
#define TLS_VAR ((uintptr_t)1 << 63)   /* a struct var's addr that is a TLS offset */

struct var { uintptr_t addr; Dwarf_Off die; };

struct modvars {
    const struct drip_raw_module *rm;
    Dwarf *dw;
    Dwarf_Addr bias;
    struct var *v;
    size_t n, cap, sorted;   /* v[0..sorted) is in address order (stable: DIE order among equals) */
    Dwarf_Off next_cu;       /* where the walk resumes */
    int opened, done;        /* dw asked for; every CU walked (or no DWARF) */
    long long fsize;         /* the module file's size: -1 unknown */
};

struct data {
    struct modvars *m;
    size_t n;
};

static int by_addr(const void *a, const void *b)
{
    uintptr_t x = ((const struct var *)a)->addr, y = ((const struct var *)b)->addr;
    if (x != y)
        return x < y ? -1 : 1;
    Dwarf_Off p = ((const struct var *)a)->die, q = ((const struct var *)b)->die;
    return p < q ? -1 : p > q;
}

/* A variable at a static address: DW_AT_location an expression that starts with DW_OP_addr (the
 * first byte is tested before libdw parses it: most variables are locals on the frame). */
static void add_var(struct modvars *mv, Dwarf_Die *die)
{
    Dwarf_Attribute at;
    Dwarf_Block blk;
    Dwarf_Op *ops;
    size_t nops;
    /* a TLS variable: its offset in the module's PT_TLS block, then the TLS operator */
    bool tls_first = false;
    if (!dwarf_attr(die, DW_AT_location, &at) || dwarf_formblock(&at, &blk) != 0 || blk.length < 1)
        return;
    tls_first = blk.data[0] == DW_OP_const8u || blk.data[0] == DW_OP_const4u;
    if ((blk.data[0] != DW_OP_addr && !tls_first) || dwarf_getlocation(&at, &ops, &nops) != 0 || nops < 1)
        return;
    bool tls = tls_first && nops == 2 && (ops[1].atom == DW_OP_GNU_push_tls_address || ops[1].atom == DW_OP_form_tls_address);
    if (ops[0].atom != DW_OP_addr && !tls)
        return;
    if (mv->n == mv->cap) {
        size_t nc = mv->cap ? mv->cap * 2 : 256;
        struct var *v = realloc(mv->v, nc * sizeof *v);
        if (!v)
            return;
        mv->v = v;
        mv->cap = nc;
    }
    mv->v[mv->n++] = (struct var){tls ? (uintptr_t)ops[0].number | TLS_VAR : (uintptr_t)(ops[0].number + mv->bias),
                                  dwarf_dieoffset(die)};
}

/* Every DW_TAG_variable with a static address in one CU, at any depth (statics inside functions
 * too; the members of types are no variables). Returns 1 when one of them is at addr. */
static int index_cu(struct modvars *mv, Dwarf_Die *cu, uintptr_t addr)
{
    Dwarf_Die die, stack[64];
    int depth = 0, hit = 0;
    if (dwarf_child(cu, &die) != 0)
        return 0;
    for (;;) {
        int tag = dwarf_tag(&die);
        if (tag == DW_TAG_variable) {
            size_t n = mv->n;
            add_var(mv, &die);
            hit |= mv->n > n && mv->v[n].addr == addr;
        }
        Dwarf_Die child;
        if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type && tag != DW_TAG_class_type &&
            tag != DW_TAG_enumeration_type && dwarf_haschildren(&die) && depth < 64 && dwarf_child(&die, &child) == 0) {
            stack[depth++] = die;
            die = child;
            continue;
        }
        while (dwarf_siblingof(&die, &die) != 0) {
            if (!depth)
                return hit;
            die = stack[--depth];
        }
    }
}

static const struct var *find(struct modvars *mv, uintptr_t addr)
{
    if (mv->sorted != mv->n) {
        qsort(mv->v, mv->n, sizeof *mv->v, by_addr);
        mv->sorted = mv->n;
    }
    size_t a = 0, b = mv->n;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (mv->v[m].addr < addr)
            a = m + 1;
        else
            b = m;
    }
    return a < mv->n && mv->v[a].addr == addr ? &mv->v[a] : NULL;
}

/* The variable DIE at addr: from what was walked, else walking on to the first CU that has one. */
static const struct var *var_at(struct modvars *mv, uintptr_t addr)
{
    const struct var *v = find(mv, addr);
    while (!v && !mv->done) {
        Dwarf_Off off = mv->next_cu, next;
        size_t hsize;
        if (dwarf_nextcu(mv->dw, off, &next, &hsize, NULL, NULL, NULL) != 0) {
            mv->done = 1;
            break;
        }
        mv->next_cu = next;
        Dwarf_Die cu;
        if (dwarf_offdie(mv->dw, off + hsize, &cu) && index_cu(mv, &cu, addr))
            v = find(mv, addr);
    }
    return v;
}

static struct modvars *mod_of(struct drip_symbolizer *s, const struct drip_raw_module *rm)
{
    struct data **slot = (struct data **)drip_symbolizer_data_slot(s);
    if (!*slot && !(*slot = calloc(1, sizeof **slot)))
        return NULL;
    struct data *d = *slot;
    for (size_t i = 0; i < d->n; i++)
        if (d->m[i].rm == rm)
            return &d->m[i];
    struct modvars *nm = realloc(d->m, (d->n + 1) * sizeof *nm);
    if (!nm)
        return NULL;
    d->m = nm;
    struct modvars *mv = &d->m[d->n++];
    memset(mv, 0, sizeof *mv);
    mv->rm = rm;
    struct stat st;
    mv->fsize = rm->path && stat(rm->path, &st) == 0 ? (long long)st.st_size : -1;
    return mv;
}

static struct modvars *vars_of(struct drip_symbolizer *s, const struct drip_raw_module *rm, Dwfl_Module *mod)
{
    struct modvars *mv = mod_of(s, rm);
    if (mv && !mv->opened) {
        mv->opened = 1;
        mv->dw = dwfl_module_getdwarf(mod, &mv->bias);
        mv->done = !mv->dw;
    }
    return mv;
}

/* The cache's line for one address (key DATA_KEY): the module file's size (a stripped copy has
 * the same build ID and no symbols), then "-" (no data symbol) or "START SIZE SYMBOL" (hex
 * offsets of the variable from the bias). 1: not cached. */
static int from_cache(struct drip_symcache *c, uintptr_t key, uintptr_t base, long long fsize, struct drip_data_name *d)
{
    const char *v, *file;
    int line;
    if (!drip_symcache_get(c, key, 0, &v, &file, &line) || !v)
        return 1;
    char *e;
    if (strtoll(v, &e, 10) != fsize || *e != ' ')
        return 1;
    v = e + 1;
    if (!strcmp(v, "-"))
        return -1;
    uintptr_t start = (uintptr_t)strtoull(v, &e, 16);
    if (*e != ' ')
        return 1;
    uintptr_t size = (uintptr_t)strtoull(e + 1, &e, 16);
    if (*e != ' ' || !e[1])
        return 1;
    d->symbol = e + 1;
    d->start = base + start;
    d->size = size;
    return 0;
}

/* Writes lookup()'s answer r for key (the variable's start less base) into the cache. */
static void to_cache(struct drip_symcache *c, uintptr_t key, uintptr_t base, long long fsize, int r,
                     const struct drip_data_name *d)
{
    char v[600];
    if (r == 0 && snprintf(v, sizeof v, "%lld %" PRIxPTR " %" PRIxPTR " %s", fsize, d->start - base, d->size, d->symbol) <
                      (int)sizeof v)
        drip_symcache_put(c, key, 0, v, NULL, NULL, NULL, 0);
    else if (r != 0 && snprintf(v, sizeof v, "%lld -", fsize) < (int)sizeof v)
        drip_symcache_put(c, key, 0, v, NULL, NULL, NULL, 0);
}

static int lookup(struct drip_symbolizer *s, const struct drip_raw_module *rm, uintptr_t addr, struct drip_data_name *d)
{
    if (!drip_symbolizer_dwfl(s, rm))
        return -2;   /* not cached: the module may be readable next time */
    GElf_Sym sym;
    GElf_Off off;
    const char *name = drip_symbolizer_addrinfo(s, rm, addr, &off, &sym);
    if (!name || (GELF_ST_TYPE(sym.st_info) != STT_OBJECT && GELF_ST_TYPE(sym.st_info) != STT_TLS) ||
        (sym.st_size && off >= sym.st_size))
        return -1;
    d->symbol = name;
    d->start = addr - off;
    d->size = sym.st_size;
    return 0;
}

/* The symbol only: file:line come from drip__symdata_where when printed. */
int drip__symdata_name(void *ctx, uintptr_t addr, struct drip_data_name *d)
{
    struct drip_symbolizer *s = ctx;
    memset(d, 0, sizeof *d);
    const struct drip_raw_module *rm = drip__raw_module_of_data(drip_symbolizer_raw(s), addr);
    if (!rm)
        return -1;
    d->module = rm->path;
    struct drip_symcache *c = drip_symbolizer_cache(s, rm);
    struct modvars *mv = c ? mod_of(s, rm) : NULL;
    if (!mv || mv->fsize < 0)
        c = NULL;   /* unknown file: neither read nor written */
    int r = from_cache(c, (addr - rm->bias) | DATA_KEY, rm->bias, mv ? mv->fsize : -1, d);
    if (r <= 0)
        return r;
    r = lookup(s, rm, addr, d);
    if (r == -2)
        return -1;
    to_cache(c, (addr - rm->bias) | DATA_KEY, rm->bias, mv ? mv->fsize : -1, r, d);
    return r;
}

/* The STT_TLS symbol whose st_value..+st_size (offsets in the PT_TLS block) covers off. */
static int lookup_tls(struct drip_symbolizer *s, const struct drip_raw_module *rm, uintptr_t off, struct drip_data_name *d)
{
    Dwfl_Module *mod = drip_symbolizer_dwfl(s, rm);
    if (!mod)
        return -2;
    int n = dwfl_module_getsymtab(mod);
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        Elf *elf;
        Dwarf_Addr bias;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &bias);
        if (name && name[0] && GELF_ST_TYPE(sym.st_info) == STT_TLS && off >= sym.st_value &&
            (off < sym.st_value + sym.st_size || (!sym.st_size && off == sym.st_value))) {
            d->symbol = name;
            d->start = sym.st_value;
            d->size = sym.st_size;
            return 0;
        }
    }
    return -1;
}

/* A TLS variable by its module and offset: as drip__symdata_name, with d->start the variable's
 * offset in the PT_TLS block (cached under the offset with DATA_KEY|TLS_KEY). */
int drip__symdata_tls(void *ctx, const struct drip_raw_module *rm, uintptr_t off, struct drip_data_name *d)
{
    struct drip_symbolizer *s = ctx;
    memset(d, 0, sizeof *d);
    d->module = rm->path;
    d->tls = rm;
    struct drip_symcache *c = drip_symbolizer_cache(s, rm);
    struct modvars *mv = c ? mod_of(s, rm) : NULL;
    if (!mv || mv->fsize < 0)
        c = NULL;
    int r = from_cache(c, off | DATA_KEY | TLS_KEY, 0, mv ? mv->fsize : -1, d);
    if (r <= 0)
        return r;
    r = lookup_tls(s, rm, off, d);
    if (r == -2)
        return -1;
    to_cache(c, off | DATA_KEY | TLS_KEY, 0, mv ? mv->fsize : -1, r, d);
    return r;
}

/* The definition of the variable at d->start, cached under its offset with DATA_KEY|WHERE_KEY
 * (function field empty, file and line; none: no file). */
void drip__symdata_where(void *ctx, struct drip_data_name *d)
{
    struct drip_symbolizer *s = ctx;
    d->where = 1;
    const struct drip_raw_module *rm = d->tls ? d->tls : drip__raw_module_of_data(drip_symbolizer_raw(s), d->start);
    if (!rm)
        return;
    struct drip_symcache *c = drip_symbolizer_cache(s, rm);
    uintptr_t key = d->tls ? d->start | DATA_KEY | WHERE_KEY | TLS_KEY : (d->start - rm->bias) | DATA_KEY | WHERE_KEY;
    const char *fn;
    if (drip_symcache_get(c, key, 1, &fn, &d->file, &d->line))
        return;
    Dwfl_Module *mod = drip_symbolizer_dwfl(s, rm);
    struct modvars *mv = mod ? vars_of(s, rm, mod) : NULL;
    const struct var *v = mv ? var_at(mv, d->tls ? d->start | TLS_VAR : d->start) : NULL;
    Dwarf_Die die;
    if (v && dwarf_offdie(mv->dw, v->die, &die)) {
        int line = 0;
        dwarf_decl_line(&die, &line);
        d->file = dwarf_decl_file(&die);
        d->line = line;
    }
    if (mod)
        drip_symcache_put(c, key, 1, NULL, NULL, NULL, d->file, d->line);
}

void drip__symdata_free(void *data)
{
    struct data *d = data;
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->m[i].v);
    free(d->m);
    free(d);
}
