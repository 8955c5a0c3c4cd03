/* elfneeds.h — elfneeds.c: whether an executable needs a sanitizer's runtime library. */
#ifndef DRIP_COMMON_ELFNEEDS_H
#define DRIP_COMMON_ELFNEEDS_H

#include <stddef.h>

/* 1 when the ELF executable at path names a sanitizer's runtime among its DT_NEEDED libraries
 * (libasan.so, libtsan.so ...), which must come first in the process: `what` gets e.g.
 * "AddressSanitizer (libasan.so.8)". 0 otherwise (not ELF, unreadable, none). */
int drip_elf_sanitizer(const char *path, char *what, size_t cap);

#endif
