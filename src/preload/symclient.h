/* symclient.h — symclient.c: requests to drip run's shared symbolizer. */
#ifndef DRIP_PRELOAD_SYMCLIENT_H
#define DRIP_PRELOAD_SYMCLIENT_H

/* Notes DRIP_STATUS_DIR/sym at start-up (the program may clear its environment later). */
void drip__symclient_init(void);
/* Whether this process runs under a drip run that has a shared symbolizer. */
int drip__symclient_ready(void);
/* Sends the request for `drip ARGV...` (argv without the binary) with stdin = in_fd, stderr =
 * err_fd (else the program's fd 2), and keep[] under their own numbers. 0 when it was taken; -1
 * when the caller must spawn its own (no server, a full queue, a message too big). Never blocks. */
int drip__symclient_send(char *const *argv, int argc, char **env, int in_fd, int err_fd, const int *keep, int nkeep);

#endif
