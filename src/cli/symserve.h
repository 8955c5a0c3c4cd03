/* symserve.h — drip run's shared symbolizer for every process it traces (see symserve.c). */
#ifndef DRIP_CLI_SYMSERVE_H
#define DRIP_CLI_SYMSERVE_H

/* Listens on DIR/sym (before the program starts, so that no exit can come before it). 0 or -1
 * (then every process spawns its own symbolizer, as without it). */
int drip_symserve_listen(const char *dir);
/* Forks the server that answers on it (once the program runs: it is not on the program's path). */
void drip_symserve_start(void);
/* Once the program has ended: the server refuses new requests, answers those queued and waits
 * for its workers; returns when it has exited (every report handed over is written). */
void drip_symserve_stop(void);

#endif
