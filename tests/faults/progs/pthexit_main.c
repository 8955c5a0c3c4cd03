/* main() ends with pthread_exit: glibc makes the last thread to end call exit(0), which runs the
 * atexit handlers. Argument "ended": the worker has ended (but is not joined) before main's
 * pthread_exit; "running": the worker is still running then and ends 100 ms later.
 * Blocks: main_leak's 12 bytes are lost; the worker's 100 bytes stay reachable from `kept`. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sem_t done;
static void *volatile kept;

static void bye(void) { printf("atexit ran\n"); }

static void *worker(void *arg)
{
    if (arg)
        usleep(100000);
    kept = malloc(100);
    printf("worker out\n");
    fflush(stdout);
    sem_post(&done);
    return NULL;
}

static __attribute__((noinline)) void main_leak(void)
{
    void *volatile p = malloc(12);
    p = NULL;
}

int main(int argc, char **argv)
{
    int running = argc > 1 && !strcmp(argv[1], "running");
    sem_init(&done, 0, 0);
    atexit(bye);
    pthread_t t;
    pthread_create(&t, NULL, worker, running ? (void *)1 : NULL);
    if (!running)
        sem_wait(&done);
    main_leak();
    printf("main out\n");
    fflush(stdout);
    pthread_exit(NULL);
}
