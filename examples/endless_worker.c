/*
 * endless_worker.c: a worker thread that never ends and keeps its buffer.
 *
 * The worker allocates a 64 KiB scratch buffer, then loops forever waiting for
 * jobs. Nothing ever tells it to stop, so it is still blocked (in
 * pthread_cond_wait) when main returns, and its buffer is still reachable from
 * its stack. The process exits anyway: exit() does not wait for other threads.
 * In a program that starts workers per connection or per task, every such
 * thread pins its stack and its buffers for good.
 *
 * The program hands the worker 3 jobs, waits until they are done, and returns.
 *
 * expected (the block figures match valgrind --leak-check=full --show-leak-kinds=all):
 *   65,536 bytes in 1 blocks still reachable in worker_buffer_new
 *   (called from worker_main, the thread's start routine);
 *   nothing definite, indirect or possible from this program;
 *   1 thread still running at exit: start routine worker_main, created in
 *   start_worker (called from main).
 *   valgrind also reports libc's per-thread TLS vector of the running thread
 *   (272 bytes, calloc from _dl_allocate_tls from pthread_create) as possibly
 *   lost; that block belongs to glibc, not to this program.
 *
 * Fixed twin: endless_worker_fixed.c tells the worker to stop, joins it, and
 * the worker frees its buffer on the way out.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { JOBS = 3, BUFFER_SIZE = 64 * 1024 };

/* What main and the worker share; every field is guarded by lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;                /* signalled when pending grows */
    pthread_cond_t done;                /* signalled when completed grows */
    unsigned pending;
    unsigned completed;
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

/* The worker: serves jobs with its buffer for ever. */
static __attribute__((noinline)) void *worker_main(void *arg)
{
    (void)arg;
    char *buf = worker_buffer_new();
    pthread_mutex_lock(&g_worker.lock);
    for (unsigned job = 0;; job++) {    /* BUG: no way out of this loop */
        /* waits with the lock held since the last job: see below */
        while (g_worker.pending == 0)
            pthread_cond_wait(&g_worker.work, &g_worker.lock);
        g_worker.pending--;
        pthread_mutex_unlock(&g_worker.lock);

        snprintf(buf, BUFFER_SIZE, "result of job %u", job);

        pthread_mutex_lock(&g_worker.lock);
        g_worker.completed++;
        pthread_cond_signal(&g_worker.done);
        /* The lock stays held until pthread_cond_wait above releases it, so main (which needs
           it to see the last job done) returns only once the worker waits again: the worker is
           always in that wait at exit, never between its unlock and its next wait. */
    }
    return NULL;                        /* never reached */
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
    printf("endless_worker: %u jobs done; returning with the worker still waiting for more\n",
           JOBS);
    return 0;                           /* exit() ends the process, worker and all */
}
