/* export.c — the raw report (src/common/raw.h) out of the traced process: who the process is,
 * its options, its modules (path, build-id, load bias, code ranges; those dlclose unloaded too)
 * and the allocation stacks that the records name, as return addresses.
 *
 * Nothing here names a frame, opens a debug file or decompresses: that is the symbolizer's job,
 * in the `drip` binary (helper.c starts it). Runs with the guard set (libc's allocator, untracked).
 * Locks: none of its own; callers hold what the data they pass needs.
 */
#include "internal.h"
#include "arena.h"
#include "depot.h"
#include "export.h"
#include "privdrop.h"
#include "threads.h"
#include "growth.h"
#include "helper.h"
#include "modules.h"
#include "report.h"
#include "runtime.h"
#include "raw.h"
#include "render.h"
#include "stop.h"

#include <elf.h>
#include <stddef.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- /proc/self/maps ------------------------------------------------------------------------ */
/* The whole of /proc/self/maps in a NUL-terminated buffer of the arena (NULL when unreadable),
 * released by drip__maps_free: not libc's allocator, which a program that ran out of memory
 * (`ulimit -v`) has exhausted at exit, when its report needs the maps most. The buffer's
 * capacity sits in the 16 bytes before it. */
static char *maps_buf(size_t cap)
{
    char *b = drip__arena_alloc(cap + 16);
    if (!b)
        return NULL;
    memcpy(b, &cap, sizeof cap);
    return b + 16;
}

void drip__maps_free(char *maps)
{
    if (!maps)
        return;
    size_t cap;
    memcpy(&cap, maps - 16, sizeof cap);
    drip__arena_free(maps - 16, cap + 16);
}

char *drip__read_maps(void)
{
    int fd = drip__proc_open("self/maps", O_RDONLY | O_CLOEXEC);   /* threads.h: in a chroot, after main's pthread_exit */
    if (fd < 0)
        return NULL;
    size_t n = 0, cap = 65536;
    char *b = maps_buf(cap);
    for (ssize_t r; b; n += (size_t)r) {
        if (n + 4096 > cap) {
            char *nb = maps_buf(cap * 2);
            if (nb)
                memcpy(nb, b, n);
            drip__maps_free(b);
            cap *= 2;
            if (!(b = nb))
                break;
        }
        r = read(fd, b + n, cap - n - 1);
        if (r <= 0)
            break;
    }
    close(fd);
    if (b)
        b[n] = 0;
    return b;
}

static unsigned long maps_hex(const char **p)
{
    unsigned long v = 0;
    for (;; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return v;
        v = v * 16 + (unsigned long)d;
    }
}

/* The path of the file mapped at addr, from maps text, into out ("" when none). Parsed by hand:
 * sscanf over every line for every module was a good part of a small program's exit. */
void drip__maps_path(const char *maps, uintptr_t addr, char *out, size_t cap)
{
    out[0] = 0;
    for (const char *l = maps; l && *l;) {
        const char *nl = strchr(l, '\n'), *end = nl ? nl : l + strlen(l), *p = l;
        unsigned long lo = maps_hex(&p), hi = 0;
        if (*p == '-') {
            p++;
            hi = maps_hex(&p);
        }
        if (addr >= lo && addr < hi) {
            /* "lo-hi perms offset dev inode   path": the path after the fifth field's blanks */
            for (int field = 1; field < 5 && p < end; field++) {
                while (p < end && *p == ' ')
                    p++;
                while (p < end && *p != ' ')
                    p++;
            }
            while (p < end && *p == ' ')
                p++;
            size_t len = (size_t)(end - p);
            const char *del = " (deleted)";
            if (len > 10 && !memcmp(p + len - 10, del, 10))
                len -= 10;
            snprintf(out, cap, "%.*s", (int)len, p);
            return;
        }
        l = nl ? nl + 1 : NULL;
    }
}

/* Copies len bytes at addr through the read that cannot fault (a module whose file was
 * truncated under it raises SIGBUS on a plain load); where that read is unavailable, a plain copy.
 * Returns the bytes copied. */
static size_t copy_safe(void *buf, const void *addr, size_t len)
{
    long got = drip__safe_read(buf, (uintptr_t)addr, len);
    if (got < 0) {
        memcpy(buf, addr, len);
        return len;
    }
    return (size_t)got;
}

int drip__module_phdrs(const struct dl_phdr_info *info, void *outp, int max)
{
    ElfW(Phdr) *out = outp;
    size_t want = (size_t)(info->dlpi_phnum < max ? info->dlpi_phnum : max) * sizeof *out;
    return (int)(copy_safe(out, info->dlpi_phdr, want) / sizeof *out);
}

/* The module's GNU build ID from its PT_NOTE segments (already mapped), in hex. */
void drip__build_id(const struct dl_phdr_info *info, char *out, size_t cap)
{
    out[0] = 0;
    ElfW(Phdr) ph[64];
    int nph = drip__module_phdrs(info, ph, 64);
    for (int i = 0; i < nph; i++) {
        if (ph[i].p_type != PT_NOTE)
            continue;
        uint8_t notes[2048];
        size_t len = copy_safe(notes, (const void *)(info->dlpi_addr + ph[i].p_vaddr),
                               ph[i].p_memsz < sizeof notes ? ph[i].p_memsz : sizeof notes);
        const uint8_t *p = notes, *end = notes + len;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const uint8_t *name = p + sizeof *nh, *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (desc > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) && desc + nh->n_descsz <= end) {
                for (uint32_t k = 0; k < nh->n_descsz && 2 * k + 2 < cap; k++)
                    snprintf(out + 2 * k, cap - 2 * k, "%02x", desc[k]);
                return;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
}

/* ---- the document --------------------------------------------------------------------------- */
/* ---- what a forked child shares with its parent -----------------------------------------------
 * A forked child has its parent's executable and, until it dlopens or dlcloses, its modules: the
 * parent keeps both from its first fork on (drip__export_fork_prime), so a child's report (a
 * shell's `$(...)` makes one per subshell) neither reads /proc/self/maps for the module paths nor
 * reads every module's build ID again. dl_iterate_phdr's adds/subs counters say when the module
 * lines are stale (libc's own dlopen of an NSS module is counted there too).
 * Written by the thread that forks or reports; a process reports once, and fork_prepare runs
 * one fork at a time (runtime.c), so no lock. */
static struct {
    char exe[1024];                /* "" until the first prime or report */
    char *mods;                    /* the "module ..." lines (arena), mods_len bytes */
    size_t mods_len, mods_cap;
    unsigned long long adds, subs; /* dl_iterate_phdr's counters when mods was made */
} kept;

static int counters_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *v = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        v[0] = info->dlpi_adds;
        v[1] = info->dlpi_subs;
    }
    return 1;
}

static bool kept_mods_valid(void)
{
    unsigned long long v[2] = {0, 0};
    dl_iterate_phdr(counters_cb, v);
    return kept.mods && (v[0] || v[1]) && v[0] == kept.adds && v[1] == kept.subs;
}

static const char *kept_exe(void)
{
    if (!kept.exe[0]) {
        char path[64];
        int dir = drip__proc_name("self/exe", path, sizeof path);   /* threads.h */
        ssize_t n = readlinkat(dir, path, kept.exe, sizeof kept.exe - 1);
        kept.exe[n > 0 ? n : 0] = 0;
    }
    return kept.exe;
}

/* The command line as main received it: programs rewrite theirs for ps (nginx's "nginx: worker
 * process", postgres, sshd), and /proc/self/cmdline at exit then shows that title, padded with
 * empty arguments, where valgrind's Command: names what was run. A forked child keeps its
 * parent's copy. */
static char kept_cmd[8192];
static size_t kept_cmd_len;

void drip__raw_keep_cmdline(int argc, char **argv)
{
    size_t o = 0;
    for (int i = 0; i < argc && argv && argv[i]; i++) {
        size_t n = strlen(argv[i]);
        if (o + n + 1 >= sizeof kept_cmd)   /* room for the reader's closing NUL */
            break;
        memcpy(kept_cmd + o, argv[i], n + 1);
        o += n + 1;
    }
    kept_cmd_len = o;
}

void drip__raw_header(struct drip_writer *w, const char *want)
{
    char cwd[1024];
    const char *exe = kept_exe();   /* a forked child's is its parent's: read once */
    drip__start_dir(cwd, sizeof cwd);
    drip__printf(w, "drip-raw %d\nproc pid=%d ppid=%d forked=%d", DRIP_RAW_VERSION, (int)getpid(), (int)getppid(),
                 drip__is_fork_child);
    drip__raw_put_kv(w, "exe", exe);
    drip__raw_put_kv(w, "cwd", cwd);
    drip__puts(w, "\n");
    /* the command line main was given, else as the kernel keeps it now: NUL-separated */
    char buf[8192];
    ssize_t len = -1;
    if (kept_cmd_len) {
        memcpy(buf, kept_cmd, kept_cmd_len);
        len = (ssize_t)kept_cmd_len;
    } else {
        int fd = drip__proc_open("self/cmdline", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            len = read(fd, buf, sizeof buf - 1);
            close(fd);
        }
    }
    if (len > 0) {
        for (ssize_t i = 0; i < len;) {
            buf[len] = 0;
            drip__puts(w, "arg");
            drip__raw_put_kv(w, "s", buf + i);
            drip__puts(w, "\n");
            i += (ssize_t)strlen(buf + i) + 1;
        }
    }
    drip__raw_put_options(w, &drip__opt);
    drip__printf(w, "want what=%s\n", want);
}

struct mod_ctx {
    struct drip_writer *w;
    const char *maps;
    uint32_t id;
};

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct mod_ctx *c = arg;
    ElfW(Phdr) phdr[64];
    int nph = drip__module_phdrs(info, phdr, 64);
    uintptr_t first = 0;
    for (int i = 0; i < nph && !first; i++)
        if (phdr[i].p_type == PT_LOAD && (phdr[i].p_flags & PF_X))
            first = info->dlpi_addr + phdr[i].p_vaddr;
    if (!first)
        return 0;
    char path[1024], id[128];
    drip__maps_path(c->maps, first, path, sizeof path);
    if (!path[0])
        snprintf(path, sizeof path, "%s", info->dlpi_name);
    drip__build_id(info, id, sizeof id);
    drip__printf(c->w, "module id=%u bias=%lx", ++c->id, (unsigned long)info->dlpi_addr);
    drip__raw_put_kv(c->w, "build_id", id);
    drip__raw_put_kv(c->w, "path", path);
    for (int i = 0; i < nph; i++) {
        const ElfW(Phdr) *ph = &phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
            drip__printf(c->w, " x=%lx-%lx", (unsigned long)(info->dlpi_addr + ph->p_vaddr),
                         (unsigned long)(info->dlpi_addr + ph->p_vaddr + ph->p_memsz));
    }
    for (int i = 0; i < nph; i++)   /* its globals: the roots a retention path may start from */
        if (phdr[i].p_type == PT_LOAD && (phdr[i].p_flags & PF_W))
            drip__printf(c->w, " w=%lx-%lx", (unsigned long)(info->dlpi_addr + phdr[i].p_vaddr),
                        (unsigned long)(info->dlpi_addr + phdr[i].p_vaddr + phdr[i].p_memsz));
    drip__puts(c->w, "\n");
    return 0;
}

/* Keeps the module lines just written to w's descriptor (from offset `from`), with the counters
 * read before they were made. */
static void keep_mods(struct drip_writer *w, off_t from, const unsigned long long v[2])
{
    if (drip__flush(w) != 0 || from < 0)
        return;
    off_t to = lseek(w->fd, 0, SEEK_CUR);
    if (to <= from)
        return;
    size_t len = (size_t)(to - from);
    if (len > kept.mods_cap) {
        drip__arena_free(kept.mods, kept.mods_cap);
        kept.mods_cap = len;
        kept.mods = drip__arena_alloc(len);
        if (!kept.mods) {
            kept.mods_cap = 0;
            return;
        }
    }
    if (pread(w->fd, kept.mods, len, from) != (ssize_t)len) {
        kept.adds = kept.subs = 0;
        return;
    }
    kept.mods_len = len;
    kept.adds = v[0];
    kept.subs = v[1];
}

void drip__raw_modules(struct drip_writer *w, int with_maps)
{
    if (!with_maps && kept_mods_valid()) {
        drip__write(w, kept.mods, kept.mods_len);
        drip__modules_write_unloaded(w);
        return;
    }
    unsigned long long v[2] = {0, 0};
    dl_iterate_phdr(counters_cb, v);
    off_t from = drip__flush(w) == 0 ? lseek(w->fd, 0, SEEK_CUR) : -1;
    char *maps = drip__read_maps();
    struct mod_ctx c = {w, maps, 0};
    dl_iterate_phdr(module_cb, &c);
    keep_mods(w, from, v);
    drip__modules_write_unloaded(w);
    if (with_maps && maps) {
        for (char *l = maps; *l;) {
            char *nl = strchr(l, '\n');
            if (nl)
                *nl = 0;
            drip__puts(w, "maps");
            drip__raw_put_kv(w, "line", l);
            drip__puts(w, "\n");
            if (!nl)
                break;
            l = nl + 1;
        }
    }
    drip__maps_free(maps);
}

/* Before a fork: the executable's path and the module lines, made now unless still valid, so
 * that every child's report reuses them. A memory file takes the lines; nothing is kept when
 * none can be made. */
void drip__export_fork_prime(void)
{
    kept_exe();
    if (kept_mods_valid())
        return;
    int fd = drip__raw_memfd();
    if (fd < 0)
        return;
    struct drip_writer w;
    drip__writer_fd(&w, fd);
    drip__raw_modules(&w, 0);
    close(fd);
}

/* ---- sites: each stack once ----------------------------------------------------------------- */

void drip__siteset_init(struct drip__siteset *s)
{
    s->n = drip__depot_count() + 1;
    s->seen = drip__arena_alloc((s->n + 7) / 8);   /* zeroed; the arena: see drip__read_maps */
}

void drip__raw_site(struct drip_writer *w, struct drip__siteset *set, uint32_t id)
{
    if (!id || (set->seen && id < set->n && (set->seen[id / 8] & (1u << (id % 8)))))
        return;
    if (set->seen && id < set->n)
        set->seen[id / 8] |= (uint8_t)(1u << (id % 8));
    struct drip__site *s = drip__depot_get(id);
    if (!s)
        return;
    drip__printf(w, "site id=%u frames=", id);
    for (uint32_t k = 0; k < s->depth; k++) {   /* 61,000 frames for nm: no printf each */
        if (k)
            drip__write(w, ",", 1);
        drip__put_hex(w, s->frames[k]);
    }
    drip__puts(w, "\n");
}

void drip__siteset_free(struct drip__siteset *s) { drip__arena_free(s->seen, (s->n + 7) / 8); }

/* The growth suspects, with their stacks. */
void drip__raw_suspects(struct drip_writer *w, struct drip__siteset *set, const struct drip__suspect *s, int n)
{
    for (int i = 0; i < n; i++) {
        drip__printf(w, "suspect site=%u bps=%.17g live_bytes=%llu live_objects=%llu oldest=%.17g share=%.17g window=%.17g\n",
                     s[i].site, s[i].bytes_per_second, (unsigned long long)s[i].live_bytes,
                     (unsigned long long)s[i].live_objects, s[i].oldest_age_seconds, s[i].heap_growth_share,
                     s[i].window_seconds);
        drip__raw_site(w, set, s[i].site);
    }
}

/* A memory file for a document: what the symbolizer reads as its stdin. -1 when none can be
 * made (seccomp, no tmpfs). */
int drip__raw_memfd(void)
{
    int fd = memfd_create("drip-raw", MFD_CLOEXEC);
    if (fd < 0)
        fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return drip__privdrop_memfd();   /* made before a seccomp filter forbade both */
    return drip__fd_above_stdio(fd);
}

/* ---- names of a few addresses (live endpoints, the monitor, leak checks in tests) ---------- */

/* Names n return addresses through the symbolizer: out[i] gets function, file, line, module
 * (NULL when unknown), pointing into names->buf. Release with drip__names_free. 0 or -1. */
int drip__names(const uintptr_t *addrs, size_t n, struct drip__names *names)
{
    memset(names, 0, sizeof *names);
    names->f = calloc(n ? n : 1, sizeof *names->f);
    if (!names->f)
        return -1;
    names->n = n;
    for (size_t i = 0; i < n; i++)
        names->f[i].addr = addrs[i];
    int in = drip__raw_memfd(), out = drip__raw_memfd();
    if (in < 0 || out < 0) {
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
        return -1;
    }
    struct drip_writer w;
    drip__writer_fd(&w, in);
    drip__raw_header(&w, "names");
    drip__raw_modules(&w, 0);
    for (size_t i = 0; i < n; i++)
        drip__printf(&w, "addr a=%lx\n", (unsigned long)addrs[i]);
    drip__puts(&w, "end\n");
    if (drip__flush(&w) == 0) {
        struct drip_render_out o = {-1, -1, -1, out, NULL};
        drip__symbolize(in, &o);
        off_t len = lseek(out, 0, SEEK_END);
        names->buf = len > 0 ? malloc((size_t)len + 1) : NULL;
        if (names->buf && pread(out, names->buf, (size_t)len, 0) == len) {
            names->buf[len] = 0;
            char *p = names->buf;
            for (size_t i = 0; i < n && *p; i++) {
                char *fld[5] = {0};
                for (int k = 0; k < 5; k++) {
                    fld[k] = p;
                    p += strcspn(p, k < 4 ? "\t\n" : "\n");
                    int nl = *p == '\n';
                    if (*p)
                        *p++ = 0;
                    if (nl && k < 4)
                        break;
                }
                struct drip_frame *f = &names->f[i];
                f->function = fld[1] && fld[1][0] ? fld[1] : NULL;
                f->file = fld[2] && fld[2][0] ? fld[2] : NULL;
                f->line = fld[3] ? atoi(fld[3]) : 0;
                f->module = fld[4] && fld[4][0] ? fld[4] : NULL;
            }
        }
    }
    close(in);
    close(out);
    return 0;
}

void drip__names_free(struct drip__names *names)
{
    free(names->buf);
    free(names->f);
    memset(names, 0, sizeof *names);
}
