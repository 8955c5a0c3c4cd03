/* elfneeds.c — what drip run must know of an executable before it starts it: whether it is
 * statically linked (drip_elf_static: LD_PRELOAD cannot reach it), and whether it needs a
 * sanitizer's runtime (DT_NEEDED libasan.so..., from its dynamic section). gcc's
 * -fsanitize=address links libasan.so, which must come first in the process's library list:
 * with libdrip.so in LD_PRELOAD the program stops at once ("ASan runtime does not come first in
 * initial library list") and exits 1. So `drip run` refuses such a program with one line, and a
 * traced process that execs one hands it no LD_PRELOAD of drip's (exec.c): it runs as without
 * drip. clang links its runtime into the executable by default: that program brings its own
 * malloc and gets foreign.c's one line instead.
 * No allocation, a few preads on the stack (an exec may come from a vfork child). Locks: none.
 */
#include "elfneeds.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *prefix, *name;
} runtimes[] = {
    {"libasan.so", "AddressSanitizer"},
    {"libhwasan.so", "HWAddressSanitizer"},
    {"libtsan.so", "ThreadSanitizer"},
    {"liblsan.so", "LeakSanitizer"},
    {"libmsan.so", "MemorySanitizer"},
};

/* The file offset of virtual address va, through the PT_LOAD headers; -1 if none holds it. */
static off_t va_offset(int fd, const Elf64_Ehdr *eh, Elf64_Addr va)
{
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh->e_phoff + (Elf64_Off)i * sizeof ph)) != (ssize_t)sizeof ph)
            return -1;
        if (ph.p_type == PT_LOAD && va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz)
            return (off_t)(ph.p_offset + (va - ph.p_vaddr));
    }
    return -1;
}

int drip_elf_sanitizer(const char *path, char *what, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int found = 0;
    Elf64_Ehdr eh;
    Elf64_Phdr dyn = {0};
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
        goto out;
    for (int i = 0; i < eh.e_phnum && !dyn.p_filesz; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof ph)) != (ssize_t)sizeof ph)
            goto out;
        if (ph.p_type == PT_DYNAMIC)
            dyn = ph;
    }
    /* DT_STRTAB first (the names are offsets into it), then each DT_NEEDED */
    Elf64_Addr strtab = 0;
    Elf64_Xword strsz = 0;
    size_t n = dyn.p_filesz / sizeof(Elf64_Dyn);
    for (size_t i = 0; i < n && i < 4096; i++) {
        Elf64_Dyn d;
        if (pread(fd, &d, sizeof d, (off_t)(dyn.p_offset + i * sizeof d)) != (ssize_t)sizeof d || d.d_tag == DT_NULL)
            break;
        if (d.d_tag == DT_STRTAB)
            strtab = d.d_un.d_ptr;
        else if (d.d_tag == DT_STRSZ)
            strsz = d.d_un.d_val;
    }
    off_t str_off = strtab ? va_offset(fd, &eh, strtab) : -1;
    if (str_off < 0)
        goto out;
    for (size_t i = 0; i < n && i < 4096 && !found; i++) {
        Elf64_Dyn d;
        if (pread(fd, &d, sizeof d, (off_t)(dyn.p_offset + i * sizeof d)) != (ssize_t)sizeof d || d.d_tag == DT_NULL)
            break;
        if (d.d_tag != DT_NEEDED || (strsz && d.d_un.d_val >= strsz))
            continue;
        char lib[64];
        ssize_t got = pread(fd, lib, sizeof lib - 1, str_off + (off_t)d.d_un.d_val);
        if (got <= 0)
            continue;
        lib[got] = 0;
        for (size_t k = 0; k < sizeof runtimes / sizeof runtimes[0] && !found; k++)
            if (!strncmp(lib, runtimes[k].prefix, strlen(runtimes[k].prefix))) {
                snprintf(what, cap, "%s (%s)", runtimes[k].name, lib);
                found = 1;
            }
    }
out:
    close(fd);
    return found;
}

/* 1 when path is an ELF executable with no program interpreter (statically linked). */
int drip_elf_static(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf64_Ehdr eh;
    int result = 0;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
        result = 1;
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof ph)) != (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC) {
                result = 0;   /* has a loader (or is a static-pie / shared object with one) */
                if (ph.p_type == PT_INTERP)
                    break;
            }
        }
    }
    close(fd);
    return result;
}
