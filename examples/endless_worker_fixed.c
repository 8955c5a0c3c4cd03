/*
 * endless_worker_fixed.c: the fixed twin of endless_worker.c. The worker's loop
 * has an exit: main sets stop, wakes the worker, and joins it; the worker frees
 * its buffer before returning.
 *
 * expected: nothing definite, indirect, possible or reachable from this
 * program; no thread running at exit (the worker was joined).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { JOBS = 3, BUFFER_SIZE = 64 * 1024 };

/* What main and the worker share; every field is guarded by lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;                /* signalled when pending grows or stop is set */
    pthread_cond_t done;                /* signalled when completed grows */
    unsigned pending;
    unsigned completed;
    int stop;
} g_worker = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

/* Returns the worker's new BUFFER_SIZE-byte scratch buffer; exits on OOM. */
static __attribute__((noinline)) char *worker_buffer_new(void)
{
    char *buf = malloc(BUFFER_SIZE);
    if (buf == NULL)
        exit(1);
    memset(buf, 0, BUFFER_SIZE);
    return buf;
}

/* The worker: serves jobs with its buffer until told to stop. */
static __attribute__((noinline)) void *worker_main(void *arg)
{
    (void)arg;
    char *buf = worker_buffer_new();

    for (unsigned job = 0;; job++) {
        pthread_mutex_lock(&g_worker.lock);
        while (g_worker.pending == 0 && !g_worker.stop)
            pthread_cond_wait(&g_worker.work, &g_worker.lock);
        if (g_worker.pending == 0) {    /* FIX: stop once the queue is drained */
            pthread_mutex_unlock(&g_worker.lock);
            break;
        }
        g_worker.pending--;
        pthread_mutex_unlock(&g_worker.lock);

        snprintf(buf, BUFFER_SIZE, "result of job %u", job);

        pthread_mutex_lock(&g_worker.lock);
        g_worker.completed++;
        pthread_cond_signal(&g_worker.done);
        pthread_mutex_unlock(&g_worker.lock);
    }
    free(buf);                          /* FIX: the worker owns its buffer */
    return NULL;
}

/* Starts the worker thread; exits if it cannot be created. */
static __attribute__((noinline)) void start_worker(pthread_t *thread)
{
    int err = pthread_create(thread, NULL, worker_main, NULL);
    if (err != 0) {
        fprintf(stderr, "pthread_create: %s\n", strerror(err));
        exit(1);
    }
}

/* Tells the worker to stop once it is idle, and waits until it has. */
static void stop_worker(pthread_t thread)
{
    pthread_mutex_lock(&g_worker.lock);
    g_worker.stop = 1;
    pthread_cond_signal(&g_worker.work);
    pthread_mutex_unlock(&g_worker.lock);
    pthread_join(thread, NULL);
}

/* Hands the worker n jobs and waits until it has completed all of them. */
static void run_jobs(unsigned n)
{
    pthread_mutex_lock(&g_worker.lock);
    g_worker.pending += n;
    pthread_cond_signal(&g_worker.work);
    while (g_worker.completed < n)
        pthread_cond_wait(&g_worker.done, &g_worker.lock);
    pthread_mutex_unlock(&g_worker.lock);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    pthread_t worker;
    start_worker(&worker);
    run_jobs(JOBS);
    stop_worker(worker);
    printf("endless_worker_fixed: %u jobs done; worker stopped and joined\n", JOBS);
    return 0;
}
