/* elfneeds.h — elfneeds.c: whether an executable is static, or needs a sanitizer's runtime. */
#ifndef DRIP_COMMON_ELFNEEDS_H
#define DRIP_COMMON_ELFNEEDS_H

#include <stddef.h>

/* 1 when the ELF executable at path names a sanitizer's runtime among its DT_NEEDED libraries
 * (libasan.so, libtsan.so ...), which must come first in the process: `what` gets e.g.
 * "AddressSanitizer (libasan.so.8)". 0 otherwise (not ELF, unreadable, none). */
int drip_elf_sanitizer(const char *path, char *what, size_t cap);

/* 1 when path is an ELF executable with no program interpreter (statically linked). */
int drip_elf_static(const char *path);

#endif
