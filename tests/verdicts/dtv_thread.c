/* dtv_thread.c — a thread still running at exit: glibc's DTV (its TLS vector) is possibly lost in
 * both tools (the thread descriptor points 16 bytes into it), but its size counts the loaded
 * modules that have TLS: libdrip.so and libunwind bring two, valgrind's preloads none, so drip's
 * block is 16 bytes per such module larger. The thread's own 77-byte block, held in its TLS, is
 * still reachable in both. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static __thread void *mine;
static pthread_barrier_t ready;

static void *run(void *arg)
{
    (void)arg;
    mine = malloc(77);
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_barrier_init(&ready, NULL, 2);
    pthread_create(&t, NULL, run, NULL);
    pthread_barrier_wait(&ready);
    return 0;
}
