/* leaky.c — loses one 64-byte block (definitely lost) and returns 0. */
#include <stdlib.h>
#include <string.h>

static char *sink;

__attribute__((noinline)) static char *make_buffer(void)
{
    char *p = malloc(64);
    if (p)
        memset(p, 1, 64);
    return p;
}

int main(void)
{
    sink = make_buffer();
    sink = NULL;   /* the only pointer is gone */
    return 0;
}
