/* blocked.c — a worker that blocks every signal (as xz -T2's workers do) and keeps the only
 * pointer to a block on its stack, then sleeps; main exits while it sleeps. A stop that needs a
 * signal cannot pause the worker and waits scan_threads_timeout_ms for it. Prints "done". */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int started;

static void *worker(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    char *volatile mine = malloc(64);   /* reachable from this stack only */
    strcpy(mine, "worker");
    started = 1;
    for (;;)
        pause();
    return NULL;
}

/* the only pointer to 100 bytes, overwritten: a definite leak */
static void *volatile sink;
__attribute__((noinline)) static void lose(void)
{
    sink = malloc(100);
    sink = NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!started)
        usleep(1000);
    lose();
    printf("done\n");
    return 0;
}
