/* threads_pending.c — 50 detached threads still pending when main returns: each waits for a
 * lock main never releases (some may not even have started). All 50 are running at exit. */
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
    free(arg);
    return NULL;
}

int main(void)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&mu);
    pthread_t t;
    for (int i = 0; i < 50; i++)
        pthread_create(&t, &at, worker, malloc(16));
    return 0;
}
