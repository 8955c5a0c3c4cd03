/* symbolize.c — see symbolize.h. Results are cached by address: a report names the same frames
 * many times. C++ names are demangled with __cxa_demangle when the process has libstdc++ loaded
 * (a process without it has no mangled names to show). */
#include "symbolize.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CACHE_BITS = 12 };

struct entry {
    struct entry *next;
    struct drip_frame f;
    char *owned;   /* the demangled name, when f.function points to one */
};

struct drip_symbolizer {
    Dwfl *dwfl;
    int (*override)(uintptr_t addr, struct drip_frame *f);
    char *(*demangle)(const char *, char *, size_t *, int *);
    struct entry *cache[1 << CACHE_BITS];
};

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

struct drip_symbolizer *drip_symbolizer_new(pid_t pid)
{
    struct drip_symbolizer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->dwfl = dwfl_begin(&callbacks);
    if (!s->dwfl) {
        free(s);
        return NULL;
    }
    dwfl_report_begin(s->dwfl);
    if (dwfl_linux_proc_report(s->dwfl, pid) != 0 || dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
        dwfl_end(s->dwfl);
        free(s);
        return NULL;
    }
    s->demangle = (char *(*)(const char *, char *, size_t *, int *))dlsym(RTLD_DEFAULT, "__cxa_demangle");
    return s;
}

/* Returns the demangled name it allocated, if any. */
static char *lookup(struct drip_symbolizer *s, uintptr_t addr, struct drip_frame *f)
{
    char *owned = NULL;
    memset(f, 0, sizeof *f);
    f->addr = addr;
    Dwarf_Addr pc = addr ? addr - 1 : 0;
    Dwfl_Module *m = dwfl_addrmodule(s->dwfl, pc);
    if (!m)
        return NULL;
    const char *mainfile = NULL;
    const char *modname = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
    f->module = mainfile ? mainfile : modname;
    GElf_Off off;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m, pc, &off, &sym, NULL, NULL, NULL);
    if (name) {
        int status = -1;
        char *d = (s->demangle && name[0] == '_' && name[1] == 'Z') ? s->demangle(name, NULL, NULL, &status) : NULL;
        if (d && status == 0) {
            f->function = owned = d;
        } else {
            free(d);
            f->function = name;
            /* symbol-table names may carry a version: __libc_start_main@@GLIBC_2.34 */
            const char *at = strchr(name, '@');
            if (at && (owned = strndup(name, (size_t)(at - name))))
                f->function = owned;
        }
    }
    Dwfl_Line *line = dwfl_module_getsrc(m, pc);
    if (line) {
        int lineno = 0;
        const char *src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
        if (src) {
            f->file = src;
            f->line = lineno;
        }
    }
    return owned;
}

void drip_symbolize(struct drip_symbolizer *s, uintptr_t addr, struct drip_frame *f)
{
    size_t h = (size_t)((addr * 0x9e3779b97f4a7c15ULL) >> (64 - CACHE_BITS));
    for (struct entry *e = s->cache[h]; e; e = e->next)
        if (e->f.addr == addr) {
            *f = e->f;
            return;
        }
    if (s->override && s->override(addr, f))
        return;
    char *owned = lookup(s, addr, f);
    struct entry *e = malloc(sizeof *e);
    if (!e) {
        /* keep the name valid for the caller: it is leaked rather than freed under its feet */
        return;
    }
    {
        e->f = *f;
        e->owned = owned;
        e->next = s->cache[h];
        s->cache[h] = e;
    }
}

void drip_symbolizer_set_override(struct drip_symbolizer *s, int (*fn)(uintptr_t addr, struct drip_frame *f))
{
    if (s)
        s->override = fn;
}

void drip_symbolizer_free(struct drip_symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < (1u << CACHE_BITS); i++)
        for (struct entry *e = s->cache[i], *n; e; e = n) {
            n = e->next;
            free(e->owned);
            free(e);
        }
    dwfl_end(s->dwfl);
    free(s);
}

void drip_symbolizer_build_id(struct drip_symbolizer *s, uintptr_t addr, char *out, size_t cap)
{
    out[0] = 0;
    Dwfl_Module *m = dwfl_addrmodule(s->dwfl, addr);
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = m ? dwfl_module_build_id(m, &bits, &vaddr) : -1;
    for (int i = 0; i < n && (size_t)(2 * i + 2) < cap; i++)
        snprintf(out + 2 * i, cap - 2 * (size_t)i, "%02x", bits[i]);
}
