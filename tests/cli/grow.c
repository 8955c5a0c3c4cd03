/* grow.c — drip watch's test program for a leak: RSS grows by 2 MiB (touched) every 100 ms,
 * steadily, for up to 60 s. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 600; i++) {
        char *p = malloc(2 << 20);
        if (!p)
            return 1;
        memset(p, i, 2 << 20);
        usleep(100000);
    }
    return 0;
}
