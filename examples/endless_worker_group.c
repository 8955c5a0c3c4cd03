/*
 * endless_worker_group.c: endless_worker.c fixed with libdrip-safe's
 * cancellation contexts and worker group (drip/ctx.h, drip/group.h) instead of
 * a hand-made stop flag.
 *
 * Same workload as endless_worker.c: one worker with a 64 KiB scratch buffer
 * serves 3 jobs, then main shuts down. The worker runs in a drip_group and
 * waits in poll() on two descriptors: the job queue (an eventfd counting
 * pending jobs) and its context's drip_ctx_fd, which becomes readable when the
 * context is cancelled. drip_group_shutdown cancels the group's context, waits
 * (at most 5 s) for the worker to return and joins it; the worker frees its
 * buffer on the way out.
 *
 * expected (drip and valgrind --leak-check=full --show-leak-kinds=all agree):
 *   nothing definite, indirect, possible or reachable allocated by this
 *   program or by libdrip-safe on its behalf; no thread running or unjoined at
 *   exit (the worker was joined by drip_group_shutdown).
 *   stdout: 3 jobs done, 0 workers stuck.
 *
 * The leaky original is endless_worker.c (65,536 bytes in 1 block still
 * reachable in worker_buffer_new, 1 thread running at exit);
 * endless_worker_fixed.c is the plain-C fix.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <drip/ctx.h>
#include <drip/group.h>

enum { JOBS = 3, BUFFER_SIZE = 64 * 1024 };

#define SHUTDOWN_TIMEOUT (5 * 1000000000ULL)

/* What main and the worker share. jobs is an eventfd in semaphore mode: each write of 1 queues
 * a job, each read takes one. completed is guarded by lock. */
static struct {
    int jobs;
    pthread_mutex_t lock;
    pthread_cond_t done;                /* signalled when completed grows */
    unsigned completed;
} g_worker = {
    .jobs = -1,
    .lock = PTHREAD_MUTEX_INITIALIZER,
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

/* The worker (a drip_group_fn): serves jobs with its buffer until its context is done. */
static __attribute__((noinline)) void worker_main(drip_ctx *ctx, unsigned index, void *arg)
{
    (void)index, (void)arg;
    int stop_fd = drip_ctx_fd(ctx);     /* readable once ctx is cancelled; owned by ctx */
    if (stop_fd < 0) {
        fprintf(stderr, "drip_ctx_fd: %s\n", strerror(-stop_fd));
        return;
    }
    char *buf = worker_buffer_new();

    for (unsigned job = 0;;) {
        struct pollfd fds[2] = {{.fd = g_worker.jobs, .events = POLLIN},
                                {.fd = stop_fd, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (drip_ctx_err(ctx) != 0)     /* FIX: the loop has a way out */
            break;
        uint64_t one;
        if (!(fds[0].revents & POLLIN) || read(g_worker.jobs, &one, sizeof one) != sizeof one)
            continue;

        snprintf(buf, BUFFER_SIZE, "result of job %u", job++);

        pthread_mutex_lock(&g_worker.lock);
        g_worker.completed++;
        pthread_cond_signal(&g_worker.done);
        pthread_mutex_unlock(&g_worker.lock);
    }
    free(buf);                          /* FIX: the worker owns its buffer */
}

/* Starts the worker in a new group; exits if it cannot be started. */
static __attribute__((noinline)) drip_group *start_worker(void)
{
    g_worker.jobs = eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC);
    if (g_worker.jobs < 0) {
        perror("eventfd");
        exit(1);
    }
    drip_group *g = drip_group_create(NULL, NULL);
    if (g == NULL) {
        perror("drip_group_create");
        exit(1);
    }
    int err = drip_group_start(g, 1, worker_main, NULL);
    if (err < 0) {
        fprintf(stderr, "drip_group_start: %s\n", strerror(-err));
        exit(1);
    }
    return g;
}

/* Cancels the group's context, waits for the worker to return, joins it and frees the group.
 * Returns how many workers did not stop in time (0). */
static int stop_worker(drip_group *g)
{
    int stuck = drip_group_shutdown(g, SHUTDOWN_TIMEOUT);
    drip_group_destroy(g);
    close(g_worker.jobs);
    g_worker.jobs = -1;
    return stuck;
}

/* Hands the worker n jobs and waits until it has completed all of them. */
static void run_jobs(unsigned n)
{
    uint64_t one = 1;
    for (unsigned i = 0; i < n; i++) {
        if (write(g_worker.jobs, &one, sizeof one) != sizeof one) {
            perror("write");
            exit(1);
        }
    }
    pthread_mutex_lock(&g_worker.lock);
    while (g_worker.completed < n)
        pthread_cond_wait(&g_worker.done, &g_worker.lock);
    pthread_mutex_unlock(&g_worker.lock);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    drip_group *g = start_worker();
    run_jobs(JOBS);
    int stuck = stop_worker(g);
    printf("endless_worker_group: %u jobs done; worker cancelled and joined, %d stuck\n",
           JOBS, stuck);
    return stuck == 0 ? 0 : 1;
}
