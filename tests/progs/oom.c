/* oom: a program that leaks until the allocator refuses (run it under `ulimit -v`): it loses a
 * 4,096-byte block at a time until malloc returns NULL, prints how many it got, and exits 1, as a
 * program that ran out of memory does. Its leak report is the one its user wants most, and at
 * its exit libc's allocator has nothing left to give drip. */
#include <stdio.h>
#include <stdlib.h>

static void *volatile last;

int main(void)
{
    size_t n = 0;
    for (;;) {
        void *p = malloc(4096);
        if (!p)
            break;
        last = p;
        n++;
    }
    last = NULL;
    printf("out of memory after %zu blocks\n", n);
    return 1;
}
