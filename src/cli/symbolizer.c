/* symbolizer.c — see symbolizer.h. Results are cached by address: a report names the same
 * frames many times. C++ names are demangled by demangle.c (libstdc++'s __cxa_demangle).
 *
 * Function names come from the symbol tables (the module's, or its debug file's); file and line
 * from DWARF line tables, read only when asked (lines = 1) or when the module carries its own
 * DWARF (so the reachable summary of a program built with -g keeps its file:line, while libc's
 * separate 25 MiB of debug info is not read for a summary line).
 */
#include "symbolizer.h"
#include "symcache.h"
#include "demangle.h"

#include <dwarf.h>
#include <fcntl.h>
#include <stdio.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CACHE_BITS = 12 };

struct entry {
    struct entry *next;
    struct drip_frame f;
    int lines;     /* DRIP_SYMCACHE_*: how f.file and f.line were found */
    char *owned;   /* the demangled name, when f.function points to one */
    char *owned_inl;   /* f.inlined, when the symbolizer made it */
};

/* A symbol's extent, for the function-name cache (see func_name). */
struct symix {
    uintptr_t lo;
    uint64_t size;
    const char *name;   /* libdw's string table: lives as long as the module */
    int ndx;            /* its index in the module's symbol table */
};

struct mod {
    Dwfl *dwfl;
    Dwfl_Module *m;
    int tried, own_dwarf;
    struct symix *ix;         /* every defined symbol, by address; NULL until first needed */
    size_t nix;
    uintptr_t *before_end;    /* before_end[i]: the highest end of ix[0..i) */
    const char **name;        /* name[i]: libdw's answer for the range of ix[i], once known */
    int ix_built;
    struct drip_symcache *cache;   /* what earlier runs learned about this build ID */
    int cache_tried;
};

struct drip_symbolizer {
    void *data;   /* symdata.c's index of variables (retention paths), freed with the symbolizer */
    const struct drip_raw *raw;
    const Dwfl_Callbacks *callbacks;
    int use_cache;
    struct mod *mods;   /* parallel to raw->mods */
    struct entry *cache[1 << CACHE_BITS];
};

/* Separate debug files from local files only: /usr/lib/debug/.build-id by build ID, then the
 * .gnu_debuglink name beside the file, in its .debug/ and under /usr/lib/debug. Not libdw's
 * dwfl_standard_find_debuginfo: that one loads libdebuginfod (and with it libcurl, GnuTLS and
 * 30 more libraries, 8 ms) even when no server is set. */
static int local_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                           const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                           char **debuginfo_file_name)
{
    int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
                                          debuginfo_file_name);
    if (fd >= 0 || !debuglink_file || !file_name || strchr(debuglink_file, '/'))
        return fd;
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s", file_name);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = 0;
    const char *const forms[] = {"%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(path, sizeof path, forms[i], dir, debuglink_file);
        if (!strcmp(path, file_name))
            continue;   /* the debuglink names the file itself */
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            *debuginfo_file_name = strdup(path);
            return fd;
        }
    }
    return -1;
}

static const Dwfl_Callbacks local_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = local_debuginfo,
};

/* --debuginfod: libdw's standard search, which asks the servers of DEBUGINFOD_URLS last. */
static const Dwfl_Callbacks debuginfod_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

struct drip_symbolizer *drip_symbolizer_new(const struct drip_raw *r, int debuginfod, int cache)
{
    if (!debuginfod)
        unsetenv("DEBUGINFOD_URLS");
    else if (!getenv("DEBUGINFOD_MAXTIME"))
        setenv("DEBUGINFOD_MAXTIME", "10", 1);
    struct drip_symbolizer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->raw = r;
    s->callbacks = debuginfod ? &debuginfod_callbacks : &local_callbacks;
    s->use_cache = cache;
    s->mods = calloc(r->nmods ? r->nmods : 1, sizeof *s->mods);
    if (!s->mods) {
        free(s);
        return NULL;
    }
    return s;
}

/* Does the module's own file hold DWARF line tables? */
static int has_own_dwarf(Dwfl_Module *m)
{
    GElf_Addr bias;
    Elf *elf = dwfl_module_getelf(m, &bias);
    size_t shstrndx;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
        if (name && !strcmp(name, ".debug_line"))
            return 1;
    }
    return 0;
}

static struct mod *open_module(struct drip_symbolizer *s, const struct drip_raw_module *rm)
{
    struct mod *m = &s->mods[rm - s->raw->mods];
    if (m->tried)
        return m->m ? m : NULL;
    m->tried = 1;
    if (!rm->path || rm->path[0] != '/')
        return NULL;   /* [vdso], or a module with no file */
    m->dwfl = dwfl_begin(s->callbacks);
    if (!m->dwfl)
        return NULL;
    dwfl_report_begin(m->dwfl);
    m->m = dwfl_report_elf(m->dwfl, rm->path, rm->path, -1, rm->bias, false);
    dwfl_report_end(m->dwfl, NULL, NULL);
    if (!m->m) {
        dwfl_end(m->dwfl);
        m->dwfl = NULL;
        return NULL;
    }
    m->own_dwarf = has_own_dwarf(m->m);
    return m;
}

static const char *demangled(const char *name, char **owned)
{
    char *d = drip__demangle(name);
    return d ? (*owned = d) : name;
}

static int by_lo(const void *a, const void *b)
{
    const struct symix *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : x->size < y->size ? -1 : x->size > y->size;
}

static void build_index(struct mod *m)
{
    m->ix_built = 1;
    int n = dwfl_module_getsymtab(m->m);
    if (n <= 0 || !(m->ix = malloc((size_t)n * sizeof *m->ix)))
        return;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name = dwfl_module_getsym_info(m->m, i, &sym, &addr, &shndx, NULL, NULL);
        /* what libdw's own search considers (absolute symbols, like a version name at 0, never name code) */
        int type = GELF_ST_TYPE(sym.st_info);
        if (name && name[0] && shndx != SHN_UNDEF && shndx != SHN_ABS && type != STT_SECTION && type != STT_FILE && type != STT_TLS)
            m->ix[m->nix++] = (struct symix){(uintptr_t)addr, sym.st_size, name, i};
    }
    qsort(m->ix, m->nix, sizeof *m->ix, by_lo);
    m->before_end = malloc((m->nix + 1) * sizeof *m->before_end);
    m->name = calloc(m->nix + 1, sizeof *m->name);
    if (!m->before_end || !m->name) {
        m->nix = 0;
        return;
    }
    uintptr_t hi = 0;
    for (size_t i = 0; i < m->nix; i++) {
        m->before_end[i] = hi;
        if (m->ix[i].lo + m->ix[i].size > hi)
            hi = m->ix[i].lo + m->ix[i].size;
    }
    m->before_end[m->nix] = hi;
}

/* The index of the first symbol of m's index that starts above pc (the index built first). */
static size_t first_above(struct mod *m, uintptr_t pc)
{
    if (!m->ix_built)
        build_index(m);
    size_t a = 0, b = m->nix;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (m->ix[mid].lo <= pc)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

/* libdw's name for pc (dwfl_module_addrinfo), which scans the whole symbol table on each call:
 * a report of libc-heavy stacks asks it thousands of times, over libLLVM's 200,000 symbols for
 * nm. When nothing else could change libdw's choice, it is made here from a sorted index: the
 * symbols starting at lo (the last start at or below pc) all have one size that covers pc, no
 * earlier symbol reaches into [lo, lo+size), and no other symbol starts inside it. If they also
 * have one name, that is libdw's answer; if not (aliases), libdw chooses once by binding and its
 * answer is kept for the whole extent. Past the end of every symbol below it, there is none.
 * Anything else is asked of libdw each time. */
static const char *func_name(struct mod *m, uintptr_t pc)
{
    size_t a = first_above(m, pc);
    if (m->ix_built && m->before_end && a == 0)
        return NULL;   /* below every symbol */
    int indexed = a > 0;
    size_t j = indexed ? a - 1 : 0;   /* the first symbol starting where the last one <= pc starts */
    while (j > 0 && m->ix[j - 1].lo == m->ix[a - 1].lo)
        j--;
    if (indexed && m->name[j] && pc < m->ix[j].lo + m->ix[j].size)
        return m->name[j];
    if (indexed && !m->name[j] && m->ix[j].size && pc < m->ix[j].lo + m->ix[j].size && m->before_end[j] <= m->ix[j].lo) {
        uintptr_t lo = m->ix[j].lo, hi = lo + m->ix[j].size;
        size_t k = j;
        int one = 1;
        for (; k < m->nix && m->ix[k].lo == lo; k++)
            one &= m->ix[k].size == m->ix[j].size && !strcmp(m->ix[k].name, m->ix[j].name);
        if (one && (k >= m->nix || m->ix[k].lo >= hi))
            return m->name[j] = m->ix[j].name;
    }
    /* past the end of every symbol at or below pc, and the nearest is sized: no label (sizeless
     * symbol) can be chosen either, libdw finds nothing (code of static functions in a library
     * with only .dynsym) */
    if (indexed && m->before_end[a] <= pc) {
        int sized = 1;
        for (size_t k = j; k < a; k++)
            sized &= m->ix[k].size > 0;
        if (sized)
            return NULL;
    }
    GElf_Off off;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m->m, pc, &off, &sym, NULL, NULL, NULL);
    if (!name || !indexed || sym.st_size == 0 || pc - off != m->ix[j].lo)
        return name;
    uintptr_t lo = m->ix[j].lo, hi = lo + sym.st_size;
    size_t k = j;
    while (k < m->nix && m->ix[k].lo == lo) {
        if (m->ix[k].size != sym.st_size)
            return name;
        k++;
    }
    if ((k < m->nix && m->ix[k].lo < hi) || m->before_end[j] > lo)
        return name;
    m->name[j] = name;
    return name;
}

/* valgrind's choice between two names of one address range (storage.c's preferName): the
 * shorter up to its version ('@'), then the versioned one, then the first in byte order. So
 * `_ZNSt6vectorIiSaIiEEC1EmRKS0_` over its alias C2, `_IO_file_overflow@@GLIBC_2.2.5` over
 * `_IO_new_file_overflow`. */
static int vg_prefers(const char *a, const char *b)
{
    const char *va = strchr(a, '@'), *vb = strchr(b, '@');
    size_t la = va ? (size_t)(va - a) : strlen(a), lb = vb ? (size_t)(vb - b) : strlen(b);
    if ((la == 0) != (lb == 0))
        return la != 0;
    if (la != lb)
        return la < lb;
    if (!va != !vb)
        return va != NULL;
    return strcmp(a, b) < 0;
}

/* The name valgrind gives pc's function, whose symbol libdw named `name`: among the symbols of
 * the same start and size (aliases: a constructor's C1 and C2, glibc's versioned names), the one
 * vg_prefers. valgrind's suppressions and --gen-suppressions use that name. */
static const char *vg_symbol(struct mod *m, const char *name, uintptr_t pc)
{
    size_t a = first_above(m, pc);
    for (size_t j = a, seen = 0; j-- > 0 && seen < 64; seen++) {
        if (strcmp(m->ix[j].name, name) || (m->ix[j].size && pc >= m->ix[j].lo + m->ix[j].size))
            continue;
        uintptr_t lo = m->ix[j].lo;
        uint64_t size = m->ix[j].size;
        size_t k = j;
        while (k > 0 && m->ix[k - 1].lo == lo)
            k--;
        const char *best = name;
        for (; k < m->nix && m->ix[k].lo == lo; k++)
            if (m->ix[k].size == size && vg_prefers(m->ix[k].name, best))
                best = m->ix[k].name;
        return best;
    }
    return name;
}

/* The on-disk name cache of rm's build ID (symcache.h), opened on first use; NULL: none. */
struct drip_symcache *drip_symbolizer_cache(struct drip_symbolizer *s, const struct drip_raw_module *rm)
{
    struct mod *cm = &s->mods[rm - s->raw->mods];
    if (!cm->cache_tried) {
        cm->cache_tried = 1;
        cm->cache = s->use_cache && rm->path && rm->path[0] == '/' ? drip_symcache_open(rm->build_id) : NULL;
    }
    return cm->cache;
}

/* The calls inlined at pc as valgrind lists them (readdwarf3.c: each DW_TAG_inlined_subroutine
 * around pc, innermost first, named by its abstract origin's DW_AT_name, through
 * DW_AT_specification), joined by \x1f; NULL when there are none or no DWARF. */
static char *inlined_at(struct mod *m, Dwarf_Addr pc)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(m->m, pc, &bias);
    Dwarf_Die *scopes = NULL, *chain = NULL;
    /* the innermost scope at pc, then every DIE that holds it (dwarf_getscopes alone stops at the
     * first inlined call's abstract definition: eu-addr2line -i's way) */
    int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0, any = 0;
    for (int i = 0; i < n && !any; i++)
        any = dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine;
    n = any ? dwarf_getscopes_die(&scopes[0], &chain) : 0;   /* a walk of the whole unit: only if needed */
    free(scopes);
    scopes = chain;
    char *out = NULL;
    size_t len = 0;
    for (int i = 0; i < n && dwarf_tag(&scopes[i]) != DW_TAG_subprogram; i++) {
        if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
            continue;
        const char *name = dwarf_diename(&scopes[i]);
        if (!name || strpbrk(name, "\t\n\x1f"))
            name = "AbsOriFnNameNotFound";   /* valgrind's word for a name it cannot find */
        size_t nl = strlen(name);
        char *o = realloc(out, len + nl + 2);
        if (!o)
            break;
        out = o;
        if (len)
            out[len++] = '\x1f';
        memcpy(out + len, name, nl + 1);
        len += nl;
    }
    free(scopes);
    return out;
}

/* Returns the string it allocated for f->function, if any, and in *inl the one for f->inlined;
 * *how: DRIP_SYMCACHE_* of the answer. */
static char *lookup(struct drip_symbolizer *s, uintptr_t addr, int lines, struct drip_frame *f, int *how, char **inl)
{
    *inl = NULL;
    char *owned = NULL;
    memset(f, 0, sizeof *f);
    *how = lines ? DRIP_SYMCACHE_LINES : DRIP_SYMCACHE_NOLINES;
    f->addr = addr;
    uintptr_t off;
    const struct drip_raw_module *rm = drip__raw_module_of(s->raw, addr, &off);
    if (!rm)
        return NULL;
    f->module = rm->path;
    f->build_id = rm->build_id;
    f->offset = off;
    struct mod *cm = &s->mods[rm - s->raw->mods];
    int cached = drip_symcache_lookup(drip_symbolizer_cache(s, rm), off, lines, &f->function, &f->symbol,
                                      &f->inlined, &f->file, &f->line);
    if (cached >= 0) {
        *how = cached == DRIP_SYMCACHE_OWN ? cached : *how;
        return NULL;   /* the strings are the cache's */
    }
    struct mod *m = open_module(s, rm);
    if (!m)
        return NULL;
    Dwarf_Addr pc = addr ? addr - 1 : 0;
    const char *name = func_name(m, pc);
    if (name) {
        f->function = demangled(name, &owned);
        /* symbol-table names may carry a version: __libc_start_main@@GLIBC_2.34 */
        const char *at = owned ? NULL : strchr(name, '@');
        if (at && (owned = strndup(name, (size_t)(at - name))))
            f->function = owned;
        /* the name as valgrind's suppressions spell it (libdw's string: lives with the module) */
        const char *vg = vg_symbol(m, name, pc);
        f->symbol = strcmp(vg, f->function) ? vg : NULL;
    }
    if (m->own_dwarf)
        *how = DRIP_SYMCACHE_OWN;
    if (lines || m->own_dwarf) {
        Dwfl_Line *line = dwfl_module_getsrc(m->m, pc);
        int lineno = 0;
        const char *src = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
        if (src) {
            f->file = src;
            f->line = lineno;
        }
        f->inlined = *inl = inlined_at(m, pc);
    }
    drip_symcache_put(cm->cache, off, *how, f->function, f->symbol, f->inlined, f->file, f->line);
    return owned;
}

/* The name of addr; lines = 0: file and line only when the module carries its own DWARF. The
 * answer is the same whatever was asked before, in this report or in earlier runs (symcache.h). */
static void frame(void *ctx, uintptr_t addr, int lines, struct drip_frame *f)
{
    struct drip_symbolizer *s = ctx;
    size_t h = (size_t)((addr * 0x9e3779b97f4a7c15ULL) >> (64 - CACHE_BITS));
    for (struct entry *e = s->cache[h]; e; e = e->next)
        if (e->f.addr == addr && (e->lines != DRIP_SYMCACHE_NOLINES || !lines)) {
            *f = e->f;
            if (!lines && e->lines == DRIP_SYMCACHE_LINES) {
                f->file = NULL;
                f->line = 0;
                f->inlined = NULL;
            }
            return;
        }
    int how;
    char *inl;
    char *owned = lookup(s, addr, lines, f, &how, &inl);
    struct entry *e = malloc(sizeof *e);
    if (!e)
        return;   /* the name stays valid for the caller: leaked rather than freed under it */
    e->f = *f;
    e->lines = how;
    e->owned = owned;
    e->owned_inl = inl;
    e->next = s->cache[h];
    s->cache[h] = e;
}

struct drip_symbols drip_symbolizer_symbols(struct drip_symbolizer *s)
{
    return (struct drip_symbols){frame, s, 0, drip__symdata_name, drip__symdata_where, drip__symdata_tls};
}

/* dwfl_module_addrinfo's answer for addr, from the sorted index when no other symbol could change
 * libdw's choice (the test of func_name: the symbols starting where the last one at or below addr
 * starts have one size that covers it and one name, none earlier reaches into them, none starts
 * inside), else from libdw. libdw scans the whole symbol table per call: naming the roots of
 * retention paths did that over libLLVM's 200,000 symbols for each root of nm's report. */
const char *drip_symbolizer_addrinfo(struct drip_symbolizer *s, const struct drip_raw_module *rm, uintptr_t addr,
                                     GElf_Off *off, GElf_Sym *sym)
{
    struct mod *m = open_module(s, rm);
    if (!m)
        return NULL;
    size_t a = first_above(m, addr);
    if (a > 0 && m->before_end) {
        size_t j = a - 1;
        while (j > 0 && m->ix[j - 1].lo == m->ix[a - 1].lo)
            j--;
        uintptr_t lo = m->ix[j].lo, hi = lo + m->ix[j].size;
        int one = m->ix[j].size && addr < hi && m->before_end[j] <= lo;
        size_t k = j;
        for (; one && k < m->nix && m->ix[k].lo == lo; k++)
            one &= m->ix[k].size == m->ix[j].size && !strcmp(m->ix[k].name, m->ix[j].name);
        GElf_Addr at;
        GElf_Word shndx;
        if (one && (k >= m->nix || m->ix[k].lo >= hi) &&
            dwfl_module_getsym_info(m->m, m->ix[j].ndx, sym, &at, &shndx, NULL, NULL) && at == lo) {
            *off = addr - lo;
            return m->ix[j].name;
        }
        /* past the end of every symbol at or below addr, the nearest ones sized: libdw finds none
         * (func_name's rule; data between variables, padding) */
        int sized = 1;
        for (size_t q = j; q < a; q++)
            sized &= m->ix[q].size > 0;
        if (sized && m->before_end[a] <= addr)
            return NULL;
    }
    return dwfl_module_addrinfo(m->m, addr, off, sym, NULL, NULL, NULL);
}

Dwfl_Module *drip_symbolizer_dwfl(struct drip_symbolizer *s, const struct drip_raw_module *rm)
{
    struct mod *m = open_module(s, rm);
    return m ? m->m : NULL;
}

const struct drip_raw *drip_symbolizer_raw(struct drip_symbolizer *s) { return s->raw; }
void **drip_symbolizer_data_slot(struct drip_symbolizer *s) { return &s->data; }

void drip_symbolizer_free(struct drip_symbolizer *s)
{
    if (!s)
        return;
    drip__symdata_free(s->data);
    for (size_t i = 0; i < (1u << CACHE_BITS); i++)
        for (struct entry *e = s->cache[i], *n; e; e = n) {
            n = e->next;
            free(e->owned);
            free(e->owned_inl);
            free(e);
        }
    for (size_t i = 0; i < s->raw->nmods; i++) {
        if (s->mods[i].dwfl)
            dwfl_end(s->mods[i].dwfl);
        free(s->mods[i].ix);
        free(s->mods[i].before_end);
        free(s->mods[i].name);
        drip_symcache_close(s->mods[i].cache);
    }
    free(s->mods);
    free(s);
}
