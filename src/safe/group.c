/*
 * group.c - worker threads on a shared context (see drip/group.h).
 *
 * The public handle is the `core`, reference counted: one reference for the
 * handle, one per live worker thread.  That is what lets destroy detach a
 * straggler safely: the straggler still needs core->mu to report that it
 * returned, so the core outlives the handle until the last worker is gone.
 *
 * Lock: `mu` guards `workers`, `running` and each worker's `state`/`done`.
 * `cv` (CLOCK_MONOTONIC) is signalled when a worker returns or a start batch
 * is released.  Lock order: mu is a leaf (never held while calling fn or ctx
 * functions other than drip_ctx_cancel, which takes the ctx tree lock).
 */
#include "drip/group.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include "util.h"

enum { W_PENDING, W_GO, W_ABORT };

struct worker {
    struct worker *next;
    struct drip_group *g;
    pthread_t tid;
    unsigned index;
    int state;                  /* W_*: the start gate, guarded by g->mu */
    bool done;                  /* fn returned, guarded by g->mu */
    drip_group_fn fn;
    void *arg;
};

struct drip_group {
    drip_ctx *ctx;              /* our reference; immutable */
    drip_allocator alloc;
    atomic_size_t refs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu */
    struct worker *workers;     /* started, not yet joined */
    unsigned running;
};

static void core_unref(drip_group *g)
{
    if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Only detached workers can remain on the list now, all done. */
    for (struct worker *w = g->workers, *n; w; w = n) {
        n = w->next;
        drip__free(&g->alloc, w);
    }
    drip_ctx_release(g->ctx);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    drip_allocator a = g->alloc;
    drip__free(&a, g);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    drip_group *g = w->g;
    pthread_mutex_lock(&g->mu);
    while (w->state == W_PENDING)
        pthread_cond_wait(&g->cv, &g->mu);
    int state = w->state;
    pthread_mutex_unlock(&g->mu);
    if (state == W_GO) {
        w->fn(g->ctx, w->index, w->arg);
        pthread_mutex_lock(&g->mu);
        w->done = true;
        g->running--;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
    }
    core_unref(g);
    return NULL;
}

drip_group *drip_group_create(drip_ctx *parent, const drip_allocator *alloc)
{
    drip_allocator a = drip__alloc_resolve(alloc);
    drip_group *g = drip__malloc(&a, sizeof *g);
    if (!g)
        goto fail;
    memset(g, 0, sizeof *g);
    g->alloc = a;
    atomic_init(&g->refs, 1);
    g->ctx = parent ? drip_ctx_with_cancel(parent) : drip_ctx_new(&a);
    if (!g->ctx)
        goto fail;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto fail_ctx;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto fail_ctx;
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        pthread_cond_destroy(&g->cv);
        goto fail_ctx;
    }
    return g;
fail_ctx:
    drip_ctx_release(g->ctx);
fail:
    drip__free(&a, g);
    errno = ENOMEM;
    return NULL;
}

drip_ctx *drip_group_ctx(drip_group *g)
{
    return g ? g->ctx : NULL;
}

int drip_group_start(drip_group *g, unsigned n, drip_group_fn fn, void *arg)
{
    if (!g || !fn || n == 0)
        return -EINVAL;
    /* Allocate every record first: an allocation failure then needs no
     * thread to be undone. */
    struct worker *batch = NULL;
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = drip__malloc(&g->alloc, sizeof *w);
        if (!w) {
            while (batch) {
                struct worker *next = batch->next;
                drip__free(&g->alloc, batch);
                batch = next;
            }
            return -ENOMEM;
        }
        *w = (struct worker){ .next = batch, .g = g, .index = n - 1 - i,
                              .state = W_PENDING, .fn = fn, .arg = arg };
        batch = w;
    }
    /* Threads block on the gate (w->state) until the whole batch exists, so
     * a pthread_create failure can still be undone without fn having run. */
    int err = 0;
    struct worker *w;
    for (w = batch; w; w = w->next) {
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
        if ((err = pthread_create(&w->tid, NULL, worker_main, w)) != 0) {
            atomic_fetch_sub_explicit(&g->refs, 1, memory_order_relaxed);
            break;
        }
    }
    pthread_mutex_lock(&g->mu);
    for (struct worker *v = batch; v != w; v = v->next)
        v->state = err ? W_ABORT : W_GO;
    if (!err) {
        struct worker *last = batch;
        while (last->next)
            last = last->next;
        last->next = g->workers;
        g->workers = batch;
        g->running += n;
    }
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (!err)
        return 0;
    for (struct worker *v = batch; v != w; v = v->next)
        pthread_join(v->tid, NULL);
    while (batch) {
        struct worker *next = batch->next;
        drip__free(&g->alloc, batch);
        batch = next;
    }
    return -err;
}

/* Unlink and return the workers whose fn has returned (mu held). */
static struct worker *take_done(drip_group *g)
{
    struct worker *done = NULL;
    for (struct worker **pp = &g->workers; *pp;) {
        struct worker *w = *pp;
        if (w->done) {
            *pp = w->next;
            w->next = done;
            done = w;
        } else {
            pp = &w->next;
        }
    }
    return done;
}

static void join_and_free(drip_group *g, struct worker *list)
{
    while (list) {
        struct worker *n = list->next;
        pthread_join(list->tid, NULL);
        drip__free(&g->alloc, list);
        list = n;
    }
}

int drip_group_shutdown(drip_group *g, uint64_t timeout_ns)
{
    if (!g)
        return -EINVAL;
    drip_ctx_cancel(g->ctx);
    uint64_t until = timeout_ns == DRIP_CTX_FOREVER
                         ? DRIP_CTX_FOREVER
                         : drip__add_sat(drip_safe_now_ns(), timeout_ns);
    pthread_mutex_lock(&g->mu);
    while (g->running > 0) {
        if (until == DRIP_CTX_FOREVER) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        if (drip_safe_now_ns() >= until)
            break;
        struct timespec ts = { .tv_sec = (time_t)(until / 1000000000ULL),
                               .tv_nsec = (long)(until % 1000000000ULL) };
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    struct worker *done = take_done(g);
    unsigned left = g->running;
    pthread_mutex_unlock(&g->mu);
    /* Joining a thread whose fn returned only waits for core_unref. */
    join_and_free(g, done);
    return (int)left;
}

unsigned drip_group_running(drip_group *g)
{
    if (!g)
        return 0;
    pthread_mutex_lock(&g->mu);
    unsigned n = g->running;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void drip_group_destroy(drip_group *g)
{
    if (!g)
        return;
    drip_ctx_cancel(g->ctx);
    pthread_mutex_lock(&g->mu);
    struct worker *done = take_done(g);
    /* The rest stay on the list, detached; core_unref frees them with the
     * core once the last of them has returned. */
    for (struct worker *w = g->workers; w; w = w->next)
        pthread_detach(w->tid);
    pthread_mutex_unlock(&g->mu);
    join_and_free(g, done);
    core_unref(g);
}
