/* brk.c — a program that moves the break itself (memcheck's sbrk and brk2 scenarios), written
 * for drip. It asks sbrk for 64 KiB of its own, keeps a pointer to a 77-byte malloc'ed block
 * there (valgrind scans the program's break segment as a root), loses a 66-byte block, gives
 * 16 KiB back, and checks that the break moved by exactly what it asked (glibc's malloc uses
 * the break too: the program must see the same answers under drip). */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    void *volatile first = malloc(10);   /* malloc sets up its arena (the break) first */
    free(first);
    char *before = sbrk(0);
    char *mine = sbrk(64 * 1024);
    if (mine == (void *)-1) {
        perror("sbrk");
        return 1;
    }
    char *after = sbrk(0);
    printf("sbrk(64K) returned the old break: %d; moved by %ld\n", mine == before, (long)(after - before));
    void **slot = (void **)(mine + 4096);
    *slot = malloc(77);
    char *volatile lost = malloc(66);
    lost[0] = 0;
    lost = NULL;
    sbrk(-16 * 1024);
    printf("gave back 16K: moved by %ld\n", (long)((char *)sbrk(0) - after));
    printf("brk(current) = %d\n", brk(sbrk(0)));
    return 0;
}
