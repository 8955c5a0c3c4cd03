/* zero.c — zero-sized blocks and the edges of a block (memcheck's leak-0 and leak-pool edge
 * scenarios), written for drip:
 *   malloc(0) lost: 0 bytes in 1 block definitely lost; malloc(0) kept by a global: reachable;
 *   calloc(0, 0) and realloc(NULL, 0) lost: two more 0-byte definite blocks;
 *   a 16-byte block held by a pointer to its last byte: possibly lost;
 *   a 24-byte block held by a pointer one past its end: no pointer into it, definitely lost
 *   (its neighbour in memory may be what that address names: the neighbour is a fresh 32-byte
 *   block kept by a global, so the figure is the same either way). */
#include <stdio.h>
#include <stdlib.h>

void *kept0, *kept32;
char *last_byte, *past_end;

__attribute__((noinline)) static void build(void)
{
    char *volatile p = malloc(0);
    p = NULL;
    kept0 = malloc(0);
    p = calloc(0, 0);
    p = realloc(NULL, 0);
    p = NULL;
    last_byte = (char *)malloc(16) + 15;
    past_end = (char *)malloc(24) + 24;
    kept32 = malloc(32);
}

int main(void)
{
    build();
    return 0;
}
