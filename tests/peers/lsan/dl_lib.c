/* dl_lib.c — a library the dl scenarios dlopen: a global and a dynamic TLS variable, each
 * holding a block. */
#include <stdlib.h>

void *lib_global;
__thread void *lib_tls;

void lib_fill(void)
{
    lib_global = malloc(5001);
    lib_tls = malloc(5002);
}
