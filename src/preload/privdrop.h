/* privdrop.h — report files opened before a process gives up its rights (privdrop.c). */
#ifndef DRIP_PRIVDROP_H
#define DRIP_PRIVDROP_H

/* Before the process's first setuid/setgid/chroot...: create and keep its report files. */
void drip__privdrop_before(void);
/* The descriptor kept for this report path, emptied, or -1; the caller owns it. */
int drip__privdrop_take(const char *path);
/* A memory file made before a seccomp filter could forbid it, or -1; the caller owns it. */
int drip__privdrop_memfd(void);
/* After the exit report: the kept files that were not used are closed (and removed if empty). */
void drip__privdrop_done(void);

#endif
