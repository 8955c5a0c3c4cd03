/* symdata.c — names for the roots of retention paths that are variables: the ELF data symbol
 * (STT_OBJECT or STT_TLS in .symtab/.dynsym) that covers an address in a module's writable
 * segments, and from DWARF the file and line of its definition (DW_TAG_variable whose
 * DW_AT_location is DW_OP_addr of that symbol). The DWARF variables of a module are indexed on
 * the first question about it (a walk over every DIE, once), kept with the symbolizer.
 * Runs in the `drip` process only. No locks.
 */
#include "symbolizer.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

struct var { uintptr_t addr; const char *file; int line; };

struct modvars {
    const struct drip_raw_module *rm;
    struct var *v;
    size_t n, cap;
};

struct data {
    struct modvars *m;
    size_t n;
};

static int by_addr(const void *a, const void *b)
{
    uintptr_t x = ((const struct var *)a)->addr, y = ((const struct var *)b)->addr;
    return x < y ? -1 : x > y;
}

static void add_var(struct modvars *mv, Dwarf_Die *die, Dwarf_Addr bias)
{
    Dwarf_Attribute at;
    Dwarf_Op *ops;
    size_t nops;
    if (!dwarf_attr(die, DW_AT_location, &at) || dwarf_getlocation(&at, &ops, &nops) != 0 || nops < 1 ||
        ops[0].atom != DW_OP_addr)
        return;
    if (mv->n == mv->cap) {
        size_t nc = mv->cap ? mv->cap * 2 : 256;
        struct var *v = realloc(mv->v, nc * sizeof *v);
        if (!v)
            return;
        mv->v = v;
        mv->cap = nc;
    }
    int line = 0;
    dwarf_decl_line(die, &line);
    mv->v[mv->n++] = (struct var){(uintptr_t)(ops[0].number + bias), dwarf_decl_file(die), line};
}

/* Every DW_TAG_variable with a static address, at any depth (statics inside functions too). */
static void index_module(struct modvars *mv, Dwfl_Module *mod)
{
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw)
        return;
    Dwarf_Off off = 0, next;
    size_t hsize;
    while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu, die;
        if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
            Dwarf_Die stack[64];
            int depth = 0;
            for (;;) {
                if (dwarf_tag(&die) == DW_TAG_variable)
                    add_var(mv, &die, bias);
                Dwarf_Die child;
                if (dwarf_haschildren(&die) && depth < 64 && dwarf_child(&die, &child) == 0) {
                    stack[depth++] = die;
                    die = child;
                    continue;
                }
                while (dwarf_siblingof(&die, &die) != 0) {
                    if (!depth)
                        goto next_cu;
                    die = stack[--depth];
                }
            }
        }
    next_cu:
        off = next;
    }
    qsort(mv->v, mv->n, sizeof *mv->v, by_addr);
}

static struct modvars *vars_of(struct drip_symbolizer *s, const struct drip_raw_module *rm, Dwfl_Module *mod)
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
    index_module(mv, mod);
    return mv;
}

int drip__symdata_name(void *ctx, uintptr_t addr, struct drip_data_name *d)
{
    struct drip_symbolizer *s = ctx;
    memset(d, 0, sizeof *d);
    const struct drip_raw_module *rm = drip__raw_module_of_data(drip_symbolizer_raw(s), addr);
    if (!rm)
        return -1;
    d->module = rm->path;
    Dwfl_Module *mod = drip_symbolizer_dwfl(s, rm);
    if (!mod)
        return -1;
    GElf_Sym sym;
    GElf_Off off;
    const char *name = drip_symbolizer_addrinfo(s, rm, addr, &off, &sym);
    if (!name || (GELF_ST_TYPE(sym.st_info) != STT_OBJECT && GELF_ST_TYPE(sym.st_info) != STT_TLS) ||
        (sym.st_size && off >= sym.st_size))
        return -1;
    d->symbol = name;
    d->start = addr - off;
    d->size = sym.st_size;
    struct modvars *mv = vars_of(s, rm, mod);
    if (mv) {
        size_t a = 0, b = mv->n;
        while (a < b) {
            size_t m = (a + b) / 2;
            if (mv->v[m].addr < d->start)
                a = m + 1;
            else
                b = m;
        }
        if (a < mv->n && mv->v[a].addr == d->start) {
            d->file = mv->v[a].file;
            d->line = mv->v[a].line;
        }
    }
    return 0;
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
