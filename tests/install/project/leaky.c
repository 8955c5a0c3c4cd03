/* leaky.c — loses one 64-byte block (definitely lost) and returns 0. The pointer goes through a
 * volatile global so that no optimization level removes the allocation or the loss. */
#include <stdlib.h>
#include <string.h>

static char *volatile sink;

__attribute__((noinline)) static char *make_buffer(void)
{
    char *p = malloc(64);
    if (p)
        memset(p, 1, 64);
    return p;
}

__attribute__((noinline)) static void lose(void)
{
    sink = make_buffer();
    sink = NULL;   /* the only pointer is gone */
}

int main(void)
{
    lose();
    return 0;
}
