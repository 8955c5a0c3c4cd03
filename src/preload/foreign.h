/* foreign.h — foreign.c: a program that brings its own allocator. */
#ifndef DRIP_PRELOAD_FOREIGN_H
#define DRIP_PRELOAD_FOREIGN_H

int drip__foreign_detect(void);                       /* 1 when malloc comes from another object */
int drip__foreign_report(int text_fd, int json_fd);
/* The program's own malloc called glibc's __libc_malloc (or its kin): its allocator is glibc's,
 * and drip tracks it from now on (hooks.c). */
void drip__foreign_adopt(void);   /* the one line (and JSON) it gets instead */

#endif
