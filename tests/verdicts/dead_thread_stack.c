/* A joined thread's only pointer to its 100-byte block was in its own stack frame. glibc keeps the
 * thread's stack mapped in its stack cache after the join, so the stale frame is still in memory
 * at exit. valgrind: 100 bytes definitely lost (the dead thread's stack is not a root; only the
 * thread descriptor at its top is scanned: the DTV is possibly lost in both). drip: still reachable
 * (the cached stack is an anonymous writable mapping, scanned whole). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *run(void *arg)
{
    (void)arg;
    void *volatile p = malloc(100);
    p = NULL;
    void *volatile copies[16];
    void *q = malloc(1);   /* leave the value of a second block only in a dead frame too */
    for (int i = 0; i < 16; i++)
        copies[i] = q;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, run, NULL);
    pthread_join(t, NULL);
    printf("joined\n");
    return 0;
}
