/* privdrop.h — report files opened before a process gives up its rights (privdrop.c). */
#ifndef DRIP_PRIVDROP_H
#define DRIP_PRIVDROP_H

#include <stdbool.h>

/* Before the process's first setuid/setgid/chroot...: create and keep its report files. Before
 * a chroot (new_root), also keep /proc open (thread_end.c), so that the scan still reads the
 * process's maps and tasks in a root without /proc (sshd's privilege separation). */
void drip__privdrop_before(bool new_root);
/* The descriptor kept for this report path, emptied, or -1; the caller owns it. */
int drip__privdrop_take(const char *path);
/* A memory file made before a seccomp filter could forbid it, or -1; the caller owns it. */
int drip__privdrop_memfd(void);
/* After the exit report: the kept files that were not used are closed (and removed if empty). */
void drip__privdrop_done(void);

#endif
