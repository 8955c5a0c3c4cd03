/* snapshot.h — the live check's snapshot (snapshot.c). */
#ifndef DRIP_PRELOAD_SNAPSHOT_H
#define DRIP_PRELOAD_SNAPSHOT_H

#include "scan.h"

/* In the copy: blocks every signal, dies with its parent, closes every descriptor but keep_fd. */
void drip__snapshot_enter(pid_t parent, int keep_fd);
/* In the copy: sends rc and the scan's records (groups) to the parent, then _exits. */
void drip__snapshot_send(int fd, int rc, const struct drip__scan *out);
/* In the parent: the copy's answer into out. The scan's rc, or -2 when no answer came. */
int drip__snapshot_receive(int fd, pid_t pid, struct drip__scan *out);

/* The threads the report names, as they are while the world is stopped (before any fork: the
 * copy sends back only the blocks). */
void drip__snapshot_threads(struct drip__scan *out);

#endif
