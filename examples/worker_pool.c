/*
 * worker_pool.c: a worker pool whose jobs never finish.
 *
 * Four workers take jobs from a queue. Each job waits for a reply that never
 * comes (think of a request sent to a peer that has gone away, waited for
 * without a timeout). So every worker gets stuck in its first job, the jobs
 * left in the queue are never taken, and when main returns all four workers
 * are still running: their jobs are reachable from their stacks, the queued
 * jobs from the queue. The process exits anyway: exit() does not wait for
 * other threads.
 *
 * The program submits 6 jobs and returns once all 4 workers have taken one.
 *
 * expected (the block figures match valgrind --leak-check=full --show-leak-kinds=all):
 *   384 bytes in 6 blocks still reachable in job_new
 *   (called from pool_submit, called from main): 4 held by stuck workers,
 *   2 still queued;
 *   nothing definite, indirect or possible from this program;
 *   4 threads still running at exit: start routine pool_worker, created in
 *   pool_start (called from main).
 *   valgrind also reports libc's per-thread TLS vectors of the 4 running
 *   threads (4 blocks of 272 bytes, calloc from _dl_allocate_tls from
 *   pthread_create) as possibly lost; those blocks belong to glibc.
 *
 * Fixed twin: worker_pool_fixed.c lets jobs finish (the reply comes), frees
 * each finished job, and stops and joins the workers once the queue is empty.
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
    int replied;                        /* guarded by g_pool.lock; never set */
    char request[48];
};

/* The pool; every field but threads is guarded by lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t queued;              /* signalled when a job is queued */
    pthread_cond_t taken;               /* signalled when a worker takes a job */
    pthread_cond_t reply;               /* signalled when a reply arrives: never */
    struct job *head, *tail;            /* the queue, oldest first */
    unsigned busy;                      /* workers that have taken a job */
    pthread_t threads[WORKERS];
} g_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .queued = PTHREAD_COND_INITIALIZER,
    .taken = PTHREAD_COND_INITIALIZER,
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
    while (!job->replied)               /* BUG: no timeout, and nobody ever replies */
        pthread_cond_wait(&g_pool.reply, &g_pool.lock);
}

/* A worker: takes jobs from the queue and runs them, for ever. */
static __attribute__((noinline)) void *pool_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_pool.lock);
    for (;;) {
        while (g_pool.head == NULL)
            pthread_cond_wait(&g_pool.queued, &g_pool.lock);
        struct job *job = g_pool.head;
        g_pool.head = job->next;
        if (g_pool.head == NULL)
            g_pool.tail = NULL;
        job->next = NULL;
        g_pool.busy++;
        pthread_cond_broadcast(&g_pool.taken);
        job_run_locked(job);
        g_pool.busy--;
        free(job);
    }
    return NULL;                        /* never reached */
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

/* Waits until n workers have taken a job. */
static void pool_wait_busy(unsigned n)
{
    pthread_mutex_lock(&g_pool.lock);
    while (g_pool.busy < n)
        pthread_cond_wait(&g_pool.taken, &g_pool.lock);
    pthread_mutex_unlock(&g_pool.lock);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    pool_start();
    for (unsigned id = 1; id <= JOBS; id++)
        pool_submit(id);
    pool_wait_busy(WORKERS);
    printf("worker_pool: %d jobs submitted, %d workers stuck in their first job, %d jobs queued\n",
           JOBS, WORKERS, JOBS - WORKERS);
    return 0;                           /* exit() ends the process, workers and all */
}
