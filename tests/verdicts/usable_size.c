/* usable_size.c — a string grown as redis's sds strings grow: into the room malloc_usable_size
 * reports, reallocated only past it; kept by a pointer 1 byte in (past a 1-byte header).
 * valgrind's malloc_usable_size is the size asked for (10), so under valgrind the string is
 * reallocated to 21 bytes; glibc's is the size class (24), so under drip (which leaves malloc's
 * answers alone) it stays the 10-byte block. Possibly lost in both: (21, 1) and (10, 1).
 */
#include <malloc.h>
#include <stdlib.h>

static char *keep;

int main(void)
{
    size_t len = 1, cap;
    char *s = malloc(10);
    s[0] = 0;   /* the header */
    cap = malloc_usable_size(s);
    for (int i = 0; i < 19; i++) {
        if (len + 1 > cap) {
            s = realloc(s, 2 * len + 1);
            cap = malloc_usable_size(s);
        }
        s[len++] = 'a';
    }
    keep = s + 1;
    return 0;
}
