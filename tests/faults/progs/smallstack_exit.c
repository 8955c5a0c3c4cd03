/* exit(4) from a thread created with a small stack (argv[1] KiB, 64 by default): the exit report
 * must not need the caller's stack. Its 40-byte block is lost (the pointer is cleared). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static __attribute__((noinline)) void thread_leak(void)
{
    void *volatile p = malloc(40);
    p = NULL;
}

static void *run(void *arg)
{
    (void)arg;
    thread_leak();
    exit(4);
}

int main(int argc, char **argv)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, (argc > 1 ? (size_t)atoi(argv[1]) : 64) * 1024);
    pthread_t t;
    if (pthread_create(&t, &at, run, NULL) != 0)
        return 3;   /* a hang otherwise: main waits for the thread's exit */
    for (;;)
        pause();
}
