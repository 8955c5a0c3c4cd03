/* plateau.c — drip watch's test program for a warm-up: RSS grows by 4 MiB every 100 ms for one
 * second (40 MiB: a cache filling up), then stays where it is until killed (or 60 s). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 10; i++) {
        char *p = malloc(4 << 20);
        if (!p)
            return 1;
        memset(p, i, 4 << 20);
        usleep(100000);
    }
    sleep(60);
    return 0;
}
