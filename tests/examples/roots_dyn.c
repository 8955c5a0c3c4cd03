/* roots_dyn.c — libroots_dyn.so, which roots_dyntls dlopens: a module whose TLS is dynamic
 * (general-dynamic model, loaded after start-up: glibc allocates its block in each thread on
 * first use). dyn_hold keeps 777 bytes in the __thread variable dyn_buf. */
#include <stdlib.h>

__thread char *dyn_buf;

void dyn_hold(void) { dyn_buf = malloc(777); }
