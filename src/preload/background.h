/* background.h — drip's own threads in the traced process (the ticker and the HTTP server). */
#ifndef DRIP_PRELOAD_BACKGROUND_H
#define DRIP_PRELOAD_BACKGROUND_H

#include "internal.h"

void drip__background_start(void);   /* just before main */
void drip__background_child(void);   /* a forked child: the threads did not come along */
void drip__background_exit(void);    /* the report is about to run: stop them */

#endif
