/* unloaded.c — code unloaded by dlclose, kept nameable.
 *
 * Stacks recorded while a library was loaded keep its addresses after dlclose unmaps it (and
 * another library may be mapped there later). Before each dlclose (modules.c), the closing
 * library's identity (path, build-id, load bias, code ranges) is kept, and so is every recorded
 * frame inside it: the raw report lists them (`module ... unloaded=1`, `kept addr= module=`), and
 * the symbolizer names those frames from the library's file as it was. Nothing is named here.
 * Lock: `names_mu` (rank DRIP_RANK_MODULES, after modules.c's refresh_mu; the arena under it).
 * Arena memory, never freed (dlclose is rare).
 */
#include "internal.h"
#include "arena.h"
#include "depot.h"
#include "export.h"
#include "modules.h"
#include "raw.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

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

void drip__unloaded_keep(void *handle)
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
    drip__maps_free(maps);
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

void drip__unloaded_child_reset(void) { pthread_mutex_init(&names_mu, NULL); }
