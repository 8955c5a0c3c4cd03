/* leaky_lib.c — a small shared library (libleaky.so) that allocates and loses 77 bytes in
 * leaky_lose, and keeps 33 bytes reachable from its own .data in leaky_keep. */
#include <stdlib.h>
#include <string.h>

void *volatile leaky_sink;
static void *kept;

__attribute__((noinline)) void leaky_lose(void)
{
    leaky_sink = malloc(77);
    memset(leaky_sink, 1, 77);
    leaky_sink = NULL;
}

__attribute__((noinline)) void leaky_keep(void) { kept = malloc(33); }
