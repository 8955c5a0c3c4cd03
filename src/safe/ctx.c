/*
 * ctx.c - cancellation context tree (see drip/ctx.h).
 *
 * Lock: `root->mu` guards, for every node of the tree, the child/sibling
 * links, the fds and writes to `err`.  `err` is also atomic so err()/done()
 * can read it without the lock.  Each node has its own condition variable
 * (bound to root->mu and CLOCK_MONOTONIC) so cancelling one subtree wakes
 * only its waiters.
 *
 * Deadlines are not driven by a timer thread: a node's `deadline` is the
 * minimum over its ancestors, fixed at creation, so "deadline passed" is a
 * pure function of the clock.  err() compares, wait() sleeps until it, and
 * the fd arms a timerfd for it.  `err` only latches explicit cancellation;
 * cancel() latches -ETIMEDOUT instead when the deadline already passed, so a
 * done context's error never changes.
 */
#include "drip/ctx.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "util.h"

struct drip_ctx {
    struct drip_ctx *root;      /* self for a root; owns `mu` */
    struct drip_ctx *parent;    /* holds a reference; immutable */
    uint64_t deadline;          /* effective; immutable */
    atomic_size_t refs;
    atomic_int err;             /* written under root->mu */
    /* guarded by root->mu */
    struct drip_ctx *children, *next_sib, *prev_sib;
    int efd, tfd, pfd;          /* eventfd, timerfd, what fd() returns; -1 = none */
    pthread_cond_t cv;
    pthread_mutex_t mu;         /* initialised in roots only */
    drip_allocator alloc;
};

static struct timespec to_ts(uint64_t ns)
{
    return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ULL),
                              .tv_nsec = (long)(ns % 1000000000ULL) };
}

static drip_ctx *alloc_node(const drip_allocator *a)
{
    drip_ctx *c = drip__malloc(a, sizeof *c);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto fail;
    c->alloc = *a;
    c->efd = c->tfd = c->pfd = -1;
    c->deadline = DRIP_CTX_FOREVER;
    atomic_init(&c->refs, 1);
    atomic_init(&c->err, 0);
    return c;
fail:
    drip__free(a, c);
    return NULL;
}

drip_ctx *drip_ctx_new(const drip_allocator *alloc)
{
    drip_allocator a = drip__alloc_resolve(alloc);
    drip_ctx *c = alloc_node(&a);
    if (!c || pthread_mutex_init(&c->mu, NULL) != 0) {
        if (c) {
            pthread_cond_destroy(&c->cv);
            drip__free(&a, c);
        }
        errno = ENOMEM;
        return NULL;
    }
    c->root = c;
    return c;
}

static drip_ctx *new_child(drip_ctx *parent, uint64_t deadline)
{
    if (!parent) {
        errno = EINVAL;
        return NULL;
    }
    drip_ctx *c = alloc_node(&parent->alloc);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->root = parent->root;
    c->parent = drip_ctx_retain(parent);
    c->deadline = deadline < parent->deadline ? deadline : parent->deadline;
    pthread_mutex_lock(&c->root->mu);
    /* Inherit a latched cancellation; a passed deadline is inherited through
     * c->deadline already. */
    atomic_store(&c->err, atomic_load(&parent->err));
    c->next_sib = parent->children;
    if (parent->children)
        parent->children->prev_sib = c;
    parent->children = c;
    pthread_mutex_unlock(&c->root->mu);
    return c;
}

drip_ctx *drip_ctx_with_cancel(drip_ctx *parent)
{
    return new_child(parent, DRIP_CTX_FOREVER);
}

drip_ctx *drip_ctx_with_timeout(drip_ctx *parent, uint64_t timeout_ns)
{
    return new_child(parent, drip__add_sat(drip_safe_now_ns(), timeout_ns));
}

drip_ctx *drip_ctx_with_deadline(drip_ctx *parent, uint64_t deadline_ns)
{
    return new_child(parent, deadline_ns);
}

drip_ctx *drip_ctx_retain(drip_ctx *c)
{
    if (c)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void drip_ctx_release(drip_ctx *c)
{
    /* Iterative: freeing a node drops its reference on the parent, which may
     * in turn be the last one. */
    while (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        drip_ctx *p = c->parent;
        if (p) {
            /* A node with refs 0 has no children (each would hold a ref). */
            pthread_mutex_lock(&c->root->mu);
            if (c->prev_sib) c->prev_sib->next_sib = c->next_sib;
            else p->children = c->next_sib;
            if (c->next_sib) c->next_sib->prev_sib = c->prev_sib;
            pthread_mutex_unlock(&c->root->mu);
        } else {
            pthread_mutex_destroy(&c->mu);
        }
        if (c->pfd >= 0 && c->pfd != c->efd) close(c->pfd);
        if (c->tfd >= 0) close(c->tfd);
        if (c->efd >= 0) close(c->efd);
        pthread_cond_destroy(&c->cv);
        drip_allocator a = c->alloc;
        drip__free(&a, c);
        c = p;
    }
}

static bool deadline_passed(const drip_ctx *c, uint64_t now)
{
    return c->deadline != DRIP_CTX_FOREVER && now >= c->deadline;
}

/* Latch `err` into one node (root->mu held) and tell its waiters. */
static void mark_done(drip_ctx *c, uint64_t now)
{
    if (atomic_load_explicit(&c->err, memory_order_relaxed) != 0)
        return;
    atomic_store_explicit(&c->err, deadline_passed(c, now) ? -ETIMEDOUT : -ECANCELED,
                          memory_order_release);
    pthread_cond_broadcast(&c->cv);
    if (c->efd >= 0) {
        uint64_t one = 1;
        /* Cannot block or fail short of a bug: the counter only ever gets 1. */
        ssize_t n = write(c->efd, &one, sizeof one);
        (void)n;
    }
}

void drip_ctx_cancel(drip_ctx *c)
{
    if (!c)
        return;
    uint64_t now = drip_safe_now_ns();
    pthread_mutex_lock(&c->root->mu);
    /* Pre-order walk of the subtree without recursion or allocation. */
    drip_ctx *n = c;
    for (;;) {
        mark_done(n, now);
        if (n->children) {
            n = n->children;
            continue;
        }
        while (n != c && !n->next_sib)
            n = n->parent;
        if (n == c)
            break;
        n = n->next_sib;
    }
    pthread_mutex_unlock(&c->root->mu);
}

int drip_ctx_err(drip_ctx *c)
{
    if (!c)
        return -EINVAL;
    int e = atomic_load_explicit(&c->err, memory_order_acquire);
    if (e)
        return e;
    return deadline_passed(c, drip_safe_now_ns()) ? -ETIMEDOUT : 0;
}

bool drip_ctx_done(drip_ctx *c)
{
    return drip_ctx_err(c) != 0;
}

uint64_t drip_ctx_deadline(drip_ctx *c)
{
    return c ? c->deadline : DRIP_CTX_FOREVER;
}

int drip_ctx_wait(drip_ctx *c, uint64_t timeout_ns)
{
    if (!c)
        return -EINVAL;
    uint64_t until = drip__add_sat(drip_safe_now_ns(), timeout_ns);
    if (timeout_ns == DRIP_CTX_FOREVER)
        until = DRIP_CTX_FOREVER;
    if (c->deadline < until)
        until = c->deadline;
    int e;
    pthread_mutex_lock(&c->root->mu);
    while ((e = drip_ctx_err(c)) == 0) {
        if (until == DRIP_CTX_FOREVER) {
            pthread_cond_wait(&c->cv, &c->root->mu);
        } else {
            if (drip_safe_now_ns() >= until)
                break;
            struct timespec ts = to_ts(until);
            pthread_cond_timedwait(&c->cv, &c->root->mu, &ts);
        }
    }
    pthread_mutex_unlock(&c->root->mu);
    return e;
}

int drip_ctx_fd(drip_ctx *c)
{
    if (!c)
        return -EINVAL;
    pthread_mutex_lock(&c->root->mu);
    int rc = c->pfd;
    if (rc >= 0)
        goto out;
    int efd = -1, tfd = -1, pfd = -1;
    if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        goto fail;
    if (c->deadline != DRIP_CTX_FOREVER) {
        /* An absolute time already past fires at once, so a ctx whose
         * deadline passed before this call is readable immediately too. */
        struct itimerspec its = { .it_value = to_ts(c->deadline) };
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;   /* all-zero would disarm */
        struct epoll_event ev = { .events = EPOLLIN };
        if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ||
            (pfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            epoll_ctl(pfd, EPOLL_CTL_ADD, efd, &ev) < 0 ||
            epoll_ctl(pfd, EPOLL_CTL_ADD, tfd, &ev) < 0)
            goto fail;
    } else {
        pfd = efd;
    }
    c->efd = efd;
    c->tfd = tfd;
    c->pfd = pfd;
    if (atomic_load_explicit(&c->err, memory_order_relaxed) != 0) {
        uint64_t one = 1;
        ssize_t n = write(efd, &one, sizeof one);
        (void)n;
    }
    rc = pfd;
    goto out;
fail:
    rc = -errno;
    if (pfd >= 0 && pfd != efd) close(pfd);
    if (tfd >= 0) close(tfd);
    if (efd >= 0) close(efd);
out:
    pthread_mutex_unlock(&c->root->mu);
    return rc;
}
