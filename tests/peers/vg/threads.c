/* threads.c — leaks across threads (memcheck's pth_* scenarios: pth_once, pth_detached,
 * pth_specific, thread-returned values), written for drip. Every thread has ended by exit:
 *   a joined thread returns a 64-byte block that main keeps (reachable);
 *   a joined thread loses a 100-byte block;
 *   pthread_once's routine allocates a 32-byte block kept by a global (reachable);
 *   a key with a destructor: the destructor frees the thread's 48-byte value at thread exit;
 *   a key without one: the thread's 80-byte value is lost when the thread ends;
 *   a detached thread that main waits for (until its task is gone) loses a 120-byte block.
 * Prints what each part saw. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key_free, key_keep;
static sem_t detached_done;
void *once_block, *returned;
static int destructor_ran;

static void init_once(void) { once_block = malloc(32); }
static void destroy(void *v) { free(v); destructor_ran++; }

static void *returns(void *a) { (void)a; pthread_once(&once, init_once); return malloc(64); }

static void *loses(void *a)
{
    (void)a;
    pthread_once(&once, init_once);
    char *volatile p = malloc(100);
    p[0] = 0;
    return NULL;
}

static void *specific(void *a)
{
    (void)a;
    pthread_setspecific(key_free, malloc(48));
    pthread_setspecific(key_keep, malloc(80));
    return NULL;
}

static volatile pid_t detached_tid;

static void *detached(void *a)
{
    (void)a;
    char *volatile p = malloc(120);
    p[0] = 0;
    p = NULL;
    detached_tid = gettid();
    sem_post(&detached_done);
    return NULL;
}

/* The detached thread has ended once the kernel no longer lists its task: no stale register of
 * a thread still on its way out can hold its block at exit. */
static void wait_gone(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
    struct timespec ms = {0, 1000000};
    while (access(path, F_OK) == 0)
        nanosleep(&ms, NULL);
}

int main(void)
{
    pthread_t t[4];
    pthread_key_create(&key_free, destroy);
    pthread_key_create(&key_keep, NULL);
    sem_init(&detached_done, 0, 0);
    pthread_create(&t[0], NULL, returns, NULL);
    pthread_create(&t[1], NULL, loses, NULL);
    pthread_create(&t[2], NULL, specific, NULL);
    pthread_join(t[0], &returned);
    pthread_join(t[1], NULL);
    pthread_join(t[2], NULL);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_create(&t[3], &at, detached, NULL);
    sem_wait(&detached_done);
    wait_gone(detached_tid);
    printf("once %d returned %d destructor %d\n", once_block != NULL, returned != NULL, destructor_ran);
    return 0;
}
