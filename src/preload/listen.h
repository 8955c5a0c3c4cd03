/* listen.h — the sockets drip's HTTP thread accepts on, and the token it asks for (listen.c). */
#ifndef DRIP_PRELOAD_LISTEN_H
#define DRIP_PRELOAD_LISTEN_H

#include <stddef.h>

/* Opens a listening socket for option `name` (http or http_metrics) with value `spec`:
 * "host:port", ":port", "port" (loopback), or "unix:/path" (a unix socket, mode 0600). Prints
 * the "serving ..." line, and the warning when a TCP address is not loopback (what it exposes,
 * how to protect it: its text depends on metrics_only and on whether a token is required).
 * Returns the non-blocking, close-on-exec socket, or -1 after one line on stderr. */
int drip__listen_open(const char *name, const char *spec, int metrics_only, int with_token);

/* Removes the unix sockets this process created, if they are still the ones it created.
 * Called at exit; does nothing in a forked or vforked child. */
void drip__listen_unlink(void);

/* Reads the bearer token from `path` into tok (NUL-terminated; trailing whitespace, such as the
 * newline an editor adds, dropped). Returns its length, or -1 after one line on stderr: missing
 * or unreadable file, empty token, a token longer than cap - 1 or with bytes outside 0x21-0x7e. */
long drip__token_read(const char *path, char *tok, size_t cap);

#endif
