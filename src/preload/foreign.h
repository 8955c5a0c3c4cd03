/* foreign.h — foreign.c: a program that brings its own allocator. */
#ifndef DRIP_PRELOAD_FOREIGN_H
#define DRIP_PRELOAD_FOREIGN_H

int drip__foreign_detect(void);                       /* 1 when malloc comes from another object */
int drip__foreign_report(int text_fd, int json_fd);   /* the one line (and JSON) it gets instead */

#endif
