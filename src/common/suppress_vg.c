/* suppress_vg.c — valgrind's suppression format (see suppress.h), so that the files a project
 * keeps for valgrind (`valgrind --suppressions=x.supp`, CTest's MEMORYCHECK_SUPPRESSIONS_FILE)
 * suppress the same leak records under drip:
 *     {
 *        name
 *        Memcheck:Leak
 *        match-leak-kinds: definite,possible
 *        fun:malloc
 *        fun:make_*
 *        obj:/usr/lib/x86_64-linux-gnu/libfoo.so*
 *        ...
 *        fun:main
 *     }
 * No locks, no globals (the demangler is demangle.c's).
 */
#include "suppress_vg.h"
#include "demangle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FUN = 'f', OBJ = 'o', SRC = 's', ANY = '.' };

#define VGPRELOAD "/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so"   /* memcheck's, on Debian */

/* pat: the pattern as written. A fun: pattern made only of the characters of a symbol table's
 * names (symbol_form) is matched as valgrind matches it, against the frame's symbol name (mangled,
 * with its version); dem: the demangled form of such a pattern without wildcards, for a frame
 * named only by its demangled name. Any other fun: pattern (`app::*`, `operator new(unsigned
 * long)`) is drip's extension, matched against the demangled name: valgrind never matches it. */
struct vg_frame { char type, symbol_form; char *pat, *dem; };

struct drip_vg_supp {
    unsigned kinds;   /* DRIP_SUPP_*; 0: not a leak entry (never matches) */
    int n;
    struct vg_frame f[];
};

/* Functions whose frame tops valgrind's allocation stacks (its replacements), and drip's never
 * (drip's stack starts in their caller). Mangled and demangled. */
static const char *const allocators[] = {
    "malloc", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign", "aligned_alloc", "valloc",
    "pvalloc", "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
    "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t",
    "_ZnamSt11align_val_tRKSt9nothrow_t", "operator new(unsigned long)", "operator new[](unsigned long)",
    "operator new(unsigned long, std::nothrow_t const&)", "operator new[](unsigned long, std::nothrow_t const&)",
    "operator new(unsigned long, std::align_val_t)", "operator new[](unsigned long, std::align_val_t)",
    "operator new(unsigned long, std::align_val_t, std::nothrow_t const&)",
    "operator new[](unsigned long, std::align_val_t, std::nothrow_t const&)",
};

/* A mangled name without wildcards, demangled as the symbolizer names drip's frames; NULL when
 * it is none or cannot be. */
static char *demangle(const char *name) { return strpbrk(name, "*?") ? NULL : drip__demangle(name); }

/* Whether a fun: pattern could match a symbol table's name: letters, digits, `_ . $ @` (mangled
 * names, clones like `.constprop.0`, versions like `@@GLIBC_2.2.5`) and the wildcards. */
static int is_symbol_form(const char *p)
{
    return p[strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$@*?")] == 0;
}

/* valgrind's names for the start-up code, which it shows as "(below main)" (m_debuginfo.c,
 * VG_(get_fnname_kind); --show-below-main=no, its default): glibc's and the program's _start
 * (a static constructor's block: `fun:call_init`, `fun:__libc_start_main@@GLIBC_2.34`,
 * `fun:(below main)`). Whole names: valgrind 3.19 shows glibc 2.36's
 * `__libc_start_main@@GLIBC_2.34` (the name it prefers there) as it is. */
static int below_main(const char *n)
{
    return !strcmp(n, "__libc_start_main") || !strcmp(n, "__libc_start_call_main") || !strcmp(n, "_start") ||
           !strcmp(n, "generic_start_main") || !strcmp(n, "generic_start_main.isra.0");
}

const char *drip__vg_frame_name(const struct drip_frame *fr)
{
    const char *n = fr->symbol ? fr->symbol : fr->function;
    if (!n)
        return NULL;
    return below_main(n) ? "(below main)" : n;
}

/* The next line of text from *pos (drip__supp_next_line), in line[cap]; 0 at the end of the text. */
static int next_line(const char *text, size_t len, size_t *pos, int *lineno, char *line, size_t cap)
{
    size_t a, b;
    if (!drip__supp_next_line(text, len, pos, lineno, &a, &b))
        return 0;
    size_t n = b - a < cap - 1 ? b - a : cap - 1;
    memcpy(line, text + a, n);
    line[n] = 0;
    if (memchr(line, 0, n))
        line[0] = 1;   /* a NUL inside: no valid line starts with \1 */
    return 1;
}

static unsigned parse_kinds(const char *v)
{
    unsigned k = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%.255s", v);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (!strcmp(t, "all"))
            k |= DRIP_SUPP_DEFINITE | DRIP_SUPP_INDIRECT | DRIP_SUPP_POSSIBLE | DRIP_SUPP_REACHABLE;
        else if (!strcmp(t, "definite"))
            k |= DRIP_SUPP_DEFINITE;
        else if (!strcmp(t, "indirect"))
            k |= DRIP_SUPP_INDIRECT;
        else if (!strcmp(t, "possible"))
            k |= DRIP_SUPP_POSSIBLE;
        else if (!strcmp(t, "reachable"))
            k |= DRIP_SUPP_REACHABLE;
        else if (strcmp(t, "none"))
            return (unsigned)-1;
    }
    return k;
}

static int fail(char *err, size_t errlen, int lineno, const char *what, struct drip_vg_supp *v, char *name)
{
    if (err && errlen)
        snprintf(err, errlen, "line %d: %s", lineno, what);
    drip__vg_supp_free(v);
    free(name);
    return -1;
}

int drip__vg_supp_parse(const char *text, size_t len, size_t *pos, int *lineno, struct drip_vg_supp **out,
                        char **name_out, char *err, size_t errlen)
{
    char line[1024];
    *out = NULL;
    *name_out = NULL;
    if (!next_line(text, len, pos, lineno, line, sizeof line) || !strcmp(line, "}"))
        return fail(err, errlen, *lineno, "valgrind suppression: expected a name after '{'", NULL, NULL);
    char *name = strdup(line);
    if (!next_line(text, len, pos, lineno, line, sizeof line) || !strchr(line, ':') || !strcmp(line, "}"))
        return fail(err, errlen, *lineno, "valgrind suppression: expected Tool:Kind (Memcheck:Leak)", NULL, name);
    int leak = !strcmp(line, "Memcheck:Leak");
    int cap = 8;
    struct drip_vg_supp *v = calloc(1, sizeof *v + (size_t)cap * sizeof v->f[0]);
    if (!name || !v)
        return fail(err, errlen, *lineno, "out of memory", v, name);
    v->kinds = leak ? DRIP_SUPP_DEFINITE | DRIP_SUPP_INDIRECT | DRIP_SUPP_POSSIBLE | DRIP_SUPP_REACHABLE : 0;
    int first = 1;
    for (;;) {
        if (!next_line(text, len, pos, lineno, line, sizeof line))
            return fail(err, errlen, *lineno, "valgrind suppression: no closing '}'", v, name);
        if (!strcmp(line, "}"))
            break;
        if (!leak)
            continue;   /* another tool's entry: its extra lines are its own */
        if (first && !strncmp(line, "match-leak-kinds:", 17)) {
            unsigned k = parse_kinds(line + 17);
            if (k == (unsigned)-1)
                return fail(err, errlen, *lineno, "match-leak-kinds takes definite, indirect, possible, reachable, all or none",
                            v, name);
            v->kinds = k;
            first = 0;
            continue;
        }
        first = 0;
        char type;
        const char *pat;
        if (!strcmp(line, "...")) {
            type = ANY;
            pat = "";
        } else if (!strncmp(line, "fun:", 4) || !strncmp(line, "obj:", 4) || !strncmp(line, "src:", 4)) {
            type = line[0];
            pat = line + 4;
        } else {
            char what[200];
            snprintf(what, sizeof what, "valgrind suppression: expected fun:, obj:, src: or '...', got '%.100s'", line);
            return fail(err, errlen, *lineno, what, v, name);
        }
        if (v->n == cap) {
            cap *= 2;
            struct drip_vg_supp *nv = realloc(v, sizeof *v + (size_t)cap * sizeof v->f[0]);
            if (!nv)
                return fail(err, errlen, *lineno, "out of memory", v, name);
            v = nv;
        }
        struct vg_frame *f = &v->f[v->n++];
        *f = (struct vg_frame){type, type == FUN && is_symbol_form(pat), strdup(pat), NULL};
        f->dem = f->symbol_form ? demangle(pat) : NULL;
        if (!f->pat)
            return fail(err, errlen, *lineno, "out of memory", v, name);
    }
    *out = v;
    *name_out = name;
    return 0;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int frame_matches(const struct vg_frame *f, const struct drip_frame *fr)
{
    if (f->type == FUN) {
        const char *fn = drip__vg_frame_name(fr);   /* valgrind's name: the symbol's, mangled */
        if (!f->symbol_form)   /* drip's extension: a demangled pattern, against the demangled name */
            return drip__vg_glob(f->pat, fr->function ? fr->function : "???") ||
                   (fn && !strcmp(fn, "(below main)") && drip__vg_glob(f->pat, fn));
        if (!fn)
            fn = "???";
        if (drip__vg_glob(f->pat, fn))
            return 1;
        /* a frame named without its symbol name (demangled only): the pattern demangled */
        if (!fr->symbol && f->dem && fr->function && drip__vg_glob(f->dem, fr->function))
            return 1;
        /* glibc's aliases: drip may name a function __strdup where valgrind says strdup */
        const char *a = fn;
        while (a[0] == '_' && a[1] != 'Z')
            a++;
        return a != fn && drip__vg_glob(f->pat, a);
    }
    if (f->type == OBJ)
        return fr->module && drip__vg_glob(f->pat, fr->module);
    if (!fr->file)   /* SRC: file or file:line, file as valgrind names it (its base name) */
        return 0;
    char src[1100];
    snprintf(src, sizeof src, "%s:%d", base(fr->file), fr->line);
    return drip__vg_glob(f->pat, base(fr->file)) || drip__vg_glob(f->pat, src);
}

/* valgrind's own allocation frame, which drip's stacks do not have */
enum { ALLOC_C = 1, ALLOC_NEW = 2 };   /* valgrind's allocation frame: its malloc family, or operator new */

static int is_new_name(const char *n) { return !strncmp(n, "_Zn", 3) || !strncmp(n, "operator new", 12); }

/* Does f match valgrind's allocation frame of that family? drip does not know which function of
 * the family allocated (new[] jumps to new, calloc's caller looks like malloc's): any of them. */
static int alloc_matches(const struct vg_frame *f, int family)
{
    if (f->type == OBJ)
        return strstr(f->pat, "vgpreload") != NULL || drip__vg_glob(f->pat, VGPRELOAD);
    if (f->type != FUN)
        return 0;
    for (size_t i = 0; i < sizeof allocators / sizeof allocators[0]; i++)   /* each pattern in its own form */
        if (is_symbol_form(allocators[i]) == f->symbol_form && is_new_name(allocators[i]) == (family == ALLOC_NEW) &&
            drip__vg_glob(f->pat, allocators[i]))
            return 1;
    return 0;
}

/* Does pattern p match frame k of the stack, where with_alloc (ALLOC_*) puts valgrind's
 * allocation frame before drip's frames? */
static int at(const struct vg_frame *p, const struct drip_frame *fr, size_t k, int with_alloc)
{
    if (with_alloc)
        return k == 0 ? alloc_matches(p, with_alloc) : frame_matches(p, &fr[k - 1]);
    return frame_matches(p, &fr[k]);
}

/* Whether a line matches the frames valgrind finds past the outermost one drip keeps: valgrind's
 * unwinder goes on past _start into what lies above it on the stack (its blocks for allocations
 * in static constructors end in `obj:*` lines, up to --num-callers), drip's stops there. A line
 * that takes any frame (`obj:*`, `fun:*`) matches them. */
static int beyond(const struct vg_frame *f) { return (f->type == OBJ || f->type == FUN) && !strcmp(f->pat, "*"); }

/* Patterns p[0..np) against the stack from its innermost frame; `...` takes any number of
 * frames; a pattern list that runs out first matches (valgrind compares as many frames as the
 * entry names). Dynamic programming over (pattern, frame): no blow-up with many `...`. */
static int match_stack(const struct vg_frame *p, int np, const struct drip_frame *fr, size_t nf, int with_alloc)
{
    size_t N = nf + (with_alloc ? 1 : 0), W = N + 1;
    unsigned char *dp = malloc((size_t)(np + 1) * W);
    if (!dp)
        return 0;
    for (size_t k = 0; k <= N; k++)
        dp[(size_t)np * W + k] = 1;
    for (int i = np - 1; i >= 0; i--)
        for (size_t k = N + 1; k-- > 0;) {
            unsigned char *d = &dp[(size_t)i * W + k];
            if (p[i].type == ANY)
                *d = dp[(size_t)(i + 1) * W + k] || (k < N && dp[(size_t)i * W + k + 1]);
            else if (k == N)   /* past drip's outermost frame: see beyond() */
                *d = beyond(&p[i]) && dp[(size_t)(i + 1) * W + k];
            else
                *d = dp[(size_t)(i + 1) * W + k + 1] && at(&p[i], fr, k, with_alloc);
        }
    int r = dp[0];
    free(dp);
    return r;
}

static const char *libc_name(const struct drip_frame *fr)
{
    const char *n = drip__vg_frame_name(fr);
    return n && fr->module && strstr(fr->module, "/libc.so") ? n : NULL;
}

static int env_fn(const char *n) { return n && (!strcmp(n, "putenv") || !strcmp(n, "setenv") || !strcmp(n, "unsetenv")); }

const char *drip__vg_wrapped(const struct drip_frame *f, size_t k, size_t n)
{
    const char *name = libc_name(&f[k]);
    if (env_fn(name))
        return name;
    /* glibc's setenv jumps to __add_to_environ, leaving no frame: the wrapper is outside that */
    if (name && !strcmp(name, "__add_to_environ") && (k + 1 == n || !env_fn(libc_name(&f[k + 1]))))
        return "setenv";
    return NULL;
}

/* frames[0..n) as valgrind lists them: each frame's inlined calls (drip_frame.inlined) before it,
 * as frames of their own with the same module and source, and memcheck's wrapper after a
 * function it wraps. *out: frames itself when there is nothing to add; else an array the caller
 * frees with *names (the names, split). Returns the count. */
static size_t expand(const struct drip_frame *frames, size_t n, const struct drip_frame **out, struct drip_frame **own,
                     char **names)
{
    size_t total = n, bytes = 1;
    for (size_t k = 0; k < n; k++) {
        if (frames[k].inlined && frames[k].inlined[0]) {
            bytes += strlen(frames[k].inlined) + 1;
            for (const char *c = frames[k].inlined; c; c = strchr(c + 1, '\x1f'))
                total++;
        }
        total += drip__vg_wrapped(frames, k, n) != NULL;
    }
    *out = frames;
    *own = NULL;
    *names = NULL;
    if (total == n)
        return n;
    struct drip_frame *x = malloc(total * sizeof *x);
    char *buf = malloc(bytes);
    if (!x || !buf) {
        free(x);
        free(buf);
        return n;   /* out of memory: the frames as they are */
    }
    size_t j = 0;
    char *b = buf;
    for (size_t k = 0; k < n; k++) {
        const char *in = frames[k].inlined;
        if (in && in[0]) {
            size_t len = strlen(in);
            memcpy(b, in, len + 1);
            for (char *name = b, *end; name; name = end) {
                end = strchr(name, '\x1f');
                if (end)
                    *end++ = 0;
                x[j] = frames[k];
                x[j].function = name;
                x[j].symbol = x[j].inlined = NULL;
                j++;
            }
            b += len + 1;
        }
        x[j] = frames[k];
        x[j++].inlined = NULL;
        const char *w = drip__vg_wrapped(frames, k, n);
        if (w) {
            x[j] = (struct drip_frame){.addr = frames[k].addr, .function = w, .module = VGPRELOAD};
            j++;
        }
    }
    *out = *own = x;
    *names = buf;
    return j;
}

int drip__vg_supp_match(const struct drip_vg_supp *v, unsigned kind, const struct drip_frame *frames, size_t n)
{
    if (!v || !(v->kinds & kind))
        return 0;
    /* valgrind's stack: its allocation frame (its malloc, or its operator new), then drip's,
     * which start in the caller of malloc: glibc's strdup is in both ([malloc, strdup, f] and
     * [strdup, f]). But valgrind replaces operator new itself, where drip's stack starts inside
     * libstdc++'s (it calls malloc; new[] jumps to new, leaving no frame of its own): those
     * leading frames stand for valgrind's one. (The entry may also leave the allocation frame
     * out: drip's stack as it is.) Inlined calls are frames of their own, as valgrind's
     * --read-inline-info=yes (its default) lists them. */
    size_t skip = 0;
    while (skip < n && drip__vg_is_operator_new(&frames[skip]))
        skip++;
    const struct drip_frame *x;
    struct drip_frame *own;
    char *names;
    size_t nx = expand(frames + skip, n - skip, &x, &own, &names);
    int r = match_stack(v->f, v->n, x, nx, skip ? ALLOC_NEW : ALLOC_C);
    free(own);
    free(names);
    if (!r) {
        nx = expand(frames, n, &x, &own, &names);
        r = match_stack(v->f, v->n, x, nx, 0);
        free(own);
        free(names);
    }
    return r;
}

int drip__vg_is_operator_new(const struct drip_frame *fr)
{
    const char *n = drip__vg_frame_name(fr);
    if (!n || strncmp(n, "_Zn", 3))
        return 0;
    for (size_t i = 0; i < sizeof allocators / sizeof allocators[0]; i++)
        if (!strcmp(n, allocators[i]))
            return 1;
    return 0;
}

void drip__vg_supp_free(struct drip_vg_supp *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n; i++) {
        free(v->f[i].pat);
        free(v->f[i].dem);
    }
    free(v);
}
