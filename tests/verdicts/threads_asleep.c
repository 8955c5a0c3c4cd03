/* threads_asleep.c — threads alive but asleep when main returns: one joinable, three detached.
 * All four are running at exit (none finished), even though pausing them for the scan may wake
 * them early from sleep. */
#include <pthread.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
    (void)arg;
    sleep(100);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_create(&t, NULL, sleeper, NULL);
        pthread_detach(t);
    }
    usleep(200000);
    return 0;
}
