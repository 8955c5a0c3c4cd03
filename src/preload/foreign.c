/* foreign.c — a program that brings its own allocator.
 *
 * A program (or a library loaded before drip) that defines malloc itself comes first in symbol
 * lookup: its malloc and free serve the program, libc and drip's own code alike, and drip's
 * hooks for them never run. drip then sees neither the blocks nor their frees; what it would
 * see (blocks that reach libc through calloc or realloc when the program does not define them)
 * are never freed as far as drip can tell, so any leak figure would be false. And anything drip
 * itself does at exit would allocate from the program's allocator: libdw's getline met a
 * buffer from valgrind's static_malloc test's malloc in libc's realloc and aborted the program
 * ("realloc(): invalid pointer"), and a small static arena runs out.
 * So when drip finds such an allocator at start-up it tracks nothing, starts no thread, and at
 * exit writes one line (and a JSON file that says the same) instead of scanning: the program
 * runs as it does without drip. Execs, forks and fatal signals are still followed.
 * Unless that allocator turns out to be glibc's under another name: a shim whose malloc calls
 * __libc_malloc (hooks.c interposes those names). Its first such call ends foreign mode, and the
 * process is tracked and reported as any other from then on (valgrind does the same: it replaces
 * __libc_malloc in libc). drip's own allocations at exit then reach glibc through the shim.
 * Locks: none (runs at start-up, once at exit, and once when a shim adopts glibc's allocator:
 * `adopted` makes that once).
 */
#include "internal.h"
#include "foreign.h"
#include "writer.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

static char module[512];      /* the object whose malloc comes first */
static char defines[64];      /* which of malloc, free, calloc, realloc it defines */

/* Does the first definition of name in symbol lookup come from another object than drip?
 * dlsym's answer alone is not enough: a non-PIE executable that calls malloc gets a canonical
 * PLT entry that dlsym returns although the calls land in drip. Only a symbol the object
 * really defines counts. */
static int defined_elsewhere(const char *name, Dl_info *out)
{
    Dl_info self;
    void *first = dlsym(RTLD_DEFAULT, name);
    if (!first || !dladdr((void *)drip__foreign_detect, &self))
        return 0;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(first, out, (void **)&sym, RTLD_DL_SYMENT) || !sym || out->dli_fbase == self.dli_fbase)
        return 0;
    return sym->st_shndx != SHN_UNDEF && out->dli_sname && !strcmp(out->dli_sname, name);
}

int drip__foreign_detect(void)
{
    static const char *const names[] = {"malloc", "free", "calloc", "realloc"};
    Dl_info info;
    if (!defined_elsewhere("malloc", &info))
        return 0;
    if (info.dli_fname && info.dli_fname[0]) {
        strncpy(module, info.dli_fname, sizeof module - 1);
    } else {   /* the executable may have no name in the loader's list */
        ssize_t n = readlink("/proc/self/exe", module, sizeof module - 1);
        module[n > 0 ? n : 0] = 0;
        if (!module[0])
            strcpy(module, "the program");
    }
    size_t o = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        Dl_info other;
        if (defined_elsewhere(names[i], &other) && other.dli_fbase == info.dli_fbase) {
            size_t n = strlen(names[i]);
            if (o + n + 3 < sizeof defines) {
                if (o)
                    defines[o++] = ',', defines[o++] = ' ';
                memcpy(defines + o, names[i], n);
                o += n;
            }
        }
    }
    defines[o] = 0;
    return 1;
}

void drip__foreign_adopt(void)
{
    static atomic_int adopted;
    if (atomic_exchange(&adopted, 1))
        return;
    drip__g.foreign = 0;
    atomic_store(&drip__g.tracking, 1);
}

int drip__foreign_report(int text_fd, int json_fd)
{
    struct drip_writer w;
    int pid = getpid();
    if (text_fd >= 0) {
        drip__writer_fd(&w, text_fd);
        drip__printf(&w, "==%d== drip: %s brings its own allocator (it defines %s): drip cannot see the blocks it serves "
                        "or their frees, so there is no leak report for this process (execs, forks and fatal signals "
                        "are still followed)\n", pid, module, defines);
        drip__flush(&w);
    }
    if (json_fd >= 0) {
        drip__writer_fd(&w, json_fd);
        drip__printf(&w, "{\"pid\": %d, \"complete\": false, \"own_allocator\": {\"module\": ", pid);
        drip__put_json_str(&w, module);
        drip__puts(&w, ", \"defines\": ");
        drip__put_json_str(&w, defines);
        drip__puts(&w, "}, \"classification\": \"unavailable\", \"summary\": null, \"leaks\": [], \"threads\": [], "
                      "\"suspects\": []}\n");
        drip__flush(&w);
    }
    return 0;
}
