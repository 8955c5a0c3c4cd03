/*
 * worker_pool_fixed.c: the fixed twin of worker_pool.c. Jobs finish (here the
 * reply is simply there when the worker looks for it; in real code, a reply or
 * a timeout), each worker frees the job it finished, and pool_stop() tells the
 * workers to leave once the queue is empty and joins all of them.
 *
 * expected: nothing definite, indirect, possible or reachable from this
 * program; no thread running at exit (all 4 workers joined).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WORKERS = 4, JOBS = 6 };

/* One unit of work; 64 bytes on x86-64. */
struct job {
    struct job *next;                   /* next in the queue */
    unsigned id;
    int replied;                        /* guarded by g_pool.lock */
    char request[48];
};

/* The pool; every field but threads is guarded by lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t queued;              /* signalled when a job is queued or stop is set */
    pthread_cond_t reply;               /* signalled when a reply arrives */
    struct job *head, *tail;            /* the queue, oldest first */
    unsigned finished;
    int stop;
    pthread_t threads[WORKERS];
} g_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .queued = PTHREAD_COND_INITIALIZER,
    .reply = PTHREAD_COND_INITIALIZER,
};

/* Returns a new job with the given id; exits on OOM. */
static __attribute__((noinline)) struct job *job_new(unsigned id)
{
    struct job *job = calloc(1, sizeof *job);
    if (job == NULL)
        exit(1);
    job->id = id;
    snprintf(job->request, sizeof job->request, "GET /status/%u", id);
    return job;
}

/* Runs job: sends its request, then waits for the reply. Called with the lock held. */
static void job_run_locked(struct job *job)
{
    job->replied = 1;                   /* FIX: the reply comes (or a timeout would end the wait) */
    while (!job->replied)
        pthread_cond_wait(&g_pool.reply, &g_pool.lock);
}

/* A worker: takes jobs from the queue and runs them until the pool stops. */
static __attribute__((noinline)) void *pool_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_pool.lock);
    for (;;) {
        while (g_pool.head == NULL && !g_pool.stop)
            pthread_cond_wait(&g_pool.queued, &g_pool.lock);
        if (g_pool.head == NULL)        /* FIX: stop once the queue is drained */
            break;
        struct job *job = g_pool.head;
        g_pool.head = job->next;
        if (g_pool.head == NULL)
            g_pool.tail = NULL;
        job_run_locked(job);
        g_pool.finished++;
        free(job);                      /* FIX: a finished job is freed */
    }
    pthread_mutex_unlock(&g_pool.lock);
    return NULL;
}

/* Starts the pool's workers; exits if one cannot be created. */
static __attribute__((noinline)) void pool_start(void)
{
    for (int i = 0; i < WORKERS; i++) {
        int err = pthread_create(&g_pool.threads[i], NULL, pool_worker, NULL);
        if (err != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            exit(1);
        }
    }
}

/* Queues a new job with the given id. */
static __attribute__((noinline)) void pool_submit(unsigned id)
{
    struct job *job = job_new(id);

    pthread_mutex_lock(&g_pool.lock);
    if (g_pool.tail != NULL)
        g_pool.tail->next = job;
    else
        g_pool.head = job;
    g_pool.tail = job;
    pthread_cond_signal(&g_pool.queued);
    pthread_mutex_unlock(&g_pool.lock);
}

/* Lets the workers drain the queue, then stops and joins every one of them. */
static void pool_stop(void)
{
    pthread_mutex_lock(&g_pool.lock);
    g_pool.stop = 1;
    pthread_cond_broadcast(&g_pool.queued);
    pthread_mutex_unlock(&g_pool.lock);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(g_pool.threads[i], NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    pool_start();
    for (unsigned id = 1; id <= JOBS; id++)
        pool_submit(id);
    pool_stop();
    printf("worker_pool_fixed: %d jobs submitted, %u finished, %d workers joined\n",
           JOBS, g_pool.finished, WORKERS);
    return 0;
}
