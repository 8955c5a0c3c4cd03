/* exit_thread.c — four threads malloc/realloc/free in a loop (each also keeps a 1000-byte block
 * reachable from a global); after 100 ms a fifth thread calls exit(7). drip must pause every
 * thread for its scan, write its report, and keep the status: 7. Nothing is lost. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *kept[4];

static void *churn(void *arg)
{
    long id = (long)arg;
    kept[id] = malloc(1000);
    for (unsigned i = 0;; i++) {
        char *p = malloc(16 + (i % 512));
        memset(p, (int)i, 16);
        p = realloc(p, 32 + (i % 1024));
        free(p);
        void *q = calloc(4, 8 + (i % 64));
        free(q);
    }
    return NULL;
}

static void *exiter(void *arg)
{
    usleep(100000);
    exit(7);
}

int main(void)
{
    pthread_t t[5];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn, (void *)i);
    pthread_create(&t[4], NULL, exiter, NULL);
    for (;;) {
        void *p = malloc(48);
        free(p);
    }
}
