/* exec_target.c — what an exec is about to run, checked before drip touches the exec (exec.c):
 * whether the program is statically linked or setuid (drip cannot trace it), where execvp would
 * find it, and whether the path and environment are readable at all (an exec the kernel would
 * refuse with EFAULT is passed on untouched). Split out of exec.c.
 * Nothing here allocates with malloc (an exec may come from a vfork child). Locks: none.
 */
#include "internal.h"
#include "exec.h"
#include "stop.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- what the exec'd program is ------------------------------------------------------------ */
/* 1 when path is an ELF file with no program interpreter (statically linked); a "#!" script
 * is judged by its interpreter. */
int drip__exec_is_static(const char *path, int depth)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char head[256];
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    int result = 0;
    if (n >= 2 && head[0] == '#' && head[1] == '!' && depth == 0) {
        head[n] = 0;
        char *s = (char *)head + 2;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n')
            e++;
        *e = 0;
        close(fd);
        return *s ? drip__exec_is_static(s, 1) : 0;
    }
    Elf64_Ehdr eh;
    if (n >= (ssize_t)sizeof eh) {
        memcpy(&eh, head, sizeof eh);
        if (!memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
            eh.e_phentsize == sizeof(Elf64_Phdr)) {
            result = 1;
            for (int i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof ph)) != (ssize_t)sizeof ph)
                    break;
                if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
                    result = 0;
            }
        }
    }
    close(fd);
    return result;
}

int drip__exec_is_setid(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return ((st.st_mode & S_ISUID) && st.st_uid != getuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getgid());
}

/* Finds file on PATH as execvp does (file with a '/' is taken as it is); out = "" if absent. */
void drip__exec_search_path(const char *file, char *out, size_t cap)
{
    out[0] = 0;
    if (strchr(file, '/')) {
        snprintf(out, cap, "%s", file);
        return;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char cand[PATH_MAX];
        if (snprintf(cand, sizeof cand, "%.*s%s%s", (int)n, p, n ? "/" : "", file) < (int)sizeof cand) {
            struct stat st;
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                snprintf(out, cap, "%s", cand);
                return;
            }
        }
        if (!e)
            return;
        p = e + 1;
    }
}

/* ---- arguments the kernel would refuse ------------------------------------------------------ */
/* An exec whose path or environment the kernel cannot read fails with EFAULT; drip must not read
 * them first (a fault in drip would kill the program where the call returns -1). Reads through
 * drip__safe_read, which fails where a load would fault. 1: readable (or cannot tell: no
 * process_vm_readv), 0: a load would fault. */
int drip__exec_string_ok(const char *s)
{
    if (!s)
        return 0;
    uintptr_t a = (uintptr_t)s;
    for (size_t total = 0; total < (size_t)4 << 20;) {
        char buf[256];
        size_t n = 4096 - (a & 4095);   /* never across a page: a short read is a fault */
        if (n > sizeof buf)
            n = sizeof buf;
        long r = drip__safe_read(buf, a, n);
        if (r < 0)
            return 1;
        if ((size_t)r != n)
            return 0;
        if (memchr(buf, 0, n))
            return 1;
        a += n;
        total += n;
    }
    return 1;
}

int drip__exec_envp_ok(char *const envp[])
{
    for (size_t i = 0; envp; i++) {   /* NULL: an empty environment, as the kernel takes it */
        char *e;
        long r = drip__safe_read(&e, (uintptr_t)(envp + i), sizeof e);
        if (r < 0)
            return 1;
        if (r != (long)sizeof e)
            return 0;
        if (!e)
            return 1;
        if (!drip__exec_string_ok(e))
            return 0;
    }
    return 1;
}
