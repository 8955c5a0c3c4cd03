/*
 * test_ctx.c - drip_ctx: tree cancellation, deadlines, wait, the fd, error
 * codes, reference counting and allocation failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include "drip/ctx.h"
#include "test_alloc.h"

#define MS 1000000ULL
#define GENEROUS (10000 * MS)   /* upper bound on waits that must succeed */

static int readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, timeout_ms);
}

static void test_tree(void **state)
{
    struct talloc t;
    talloc_init(&t);
    drip_ctx *root = drip_ctx_new(&t.a);
    drip_ctx *a = drip_ctx_with_cancel(root);
    drip_ctx *a1 = drip_ctx_with_cancel(a);
    drip_ctx *a2 = drip_ctx_with_cancel(a);
    drip_ctx *b = drip_ctx_with_cancel(root);
    assert_non_null(a1);
    assert_int_equal(talloc_live(&t), 5);
    drip_ctx_cancel(a);
    assert_int_equal(drip_ctx_err(a), -ECANCELED);
    assert_int_equal(drip_ctx_err(a1), -ECANCELED);
    assert_int_equal(drip_ctx_err(a2), -ECANCELED);
    assert_int_equal(drip_ctx_err(root), 0);
    assert_int_equal(drip_ctx_err(b), 0);
    assert_false(drip_ctx_done(b));
    drip_ctx *late = drip_ctx_with_cancel(a);   /* born cancelled */
    assert_int_equal(drip_ctx_err(late), -ECANCELED);
    drip_ctx_cancel(root);
    assert_int_equal(drip_ctx_err(b), -ECANCELED);
    assert_true(drip_ctx_done(root));
    /* Release parents first: children keep them alive. */
    drip_ctx_release(root);
    drip_ctx_release(a);
    assert_int_equal(talloc_live(&t), 6);
    drip_ctx_release(a1);
    drip_ctx_release(late);
    drip_ctx_release(b);
    assert_int_equal(talloc_live(&t), 3);       /* root, a, a2 */
    drip_ctx_release(a2);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_deadline(void **state)
{
    struct talloc t;
    talloc_init(&t);
    drip_ctx *root = drip_ctx_new(&t.a);
    uint64_t now = drip_safe_now_ns();
    drip_ctx *past = drip_ctx_with_deadline(root, now - 1);
    assert_int_equal(drip_ctx_err(past), -ETIMEDOUT);
    drip_ctx_cancel(past);                      /* error never changes */
    assert_int_equal(drip_ctx_err(past), -ETIMEDOUT);
    assert_int_equal(drip_ctx_wait(past, DRIP_CTX_FOREVER), -ETIMEDOUT);

    drip_ctx *far = drip_ctx_with_timeout(root, 3600 * 1000 * MS);
    drip_ctx *near = drip_ctx_with_deadline(far, now + 1);
    drip_ctx *kid = drip_ctx_with_timeout(far, 7200 * 1000 * MS);
    assert_int_equal(drip_ctx_deadline(near), now + 1);
    assert_int_equal(drip_ctx_deadline(kid), drip_ctx_deadline(far));  /* inherited */
    assert_int_equal(drip_ctx_deadline(root), DRIP_CTX_FOREVER);
    assert_int_equal(drip_ctx_err(far), 0);
    drip_ctx_cancel(far);
    assert_int_equal(drip_ctx_err(far), -ECANCELED);
    assert_int_equal(drip_ctx_err(kid), -ECANCELED);
    assert_int_equal(drip_ctx_err(near), -ETIMEDOUT);   /* was already past */

    drip_ctx *soon = drip_ctx_with_timeout(root, 1 * MS);
    assert_int_equal(drip_ctx_wait(soon, GENEROUS), -ETIMEDOUT);
    drip_ctx_release(soon);
    drip_ctx_release(kid);
    drip_ctx_release(near);
    drip_ctx_release(far);
    drip_ctx_release(past);
    drip_ctx_release(root);
    assert_int_equal(talloc_live(&t), 0);
}

static void *cancel_later(void *p)
{
    usleep(20 * 1000);
    drip_ctx_cancel(p);
    return NULL;
}

static void test_wait(void **state)
{
    drip_ctx *root = drip_ctx_new(NULL);
    drip_ctx *c = drip_ctx_with_cancel(root);
    assert_int_equal(drip_ctx_wait(c, 1 * MS), 0);      /* timed out, still live */
    assert_int_equal(drip_ctx_wait(c, 0), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, root), 0);
    assert_int_equal(drip_ctx_wait(c, GENEROUS), -ECANCELED);  /* via parent */
    pthread_join(th, NULL);
    drip_ctx_release(c);
    drip_ctx_release(root);
}

static void test_fd(void **state)
{
    struct talloc t;
    talloc_init(&t);
    drip_ctx *root = drip_ctx_new(&t.a);
    drip_ctx *c = drip_ctx_with_cancel(root);
    int fd = drip_ctx_fd(c);
    assert_true(fd >= 0);
    assert_int_equal(drip_ctx_fd(c), fd);
    assert_int_equal(readable(fd, 0), 0);
    drip_ctx_cancel(root);
    assert_int_equal(readable(fd, 0), 1);               /* synchronous */
    assert_int_equal(readable(fd, 0), 1);               /* and stays so */
    /* fd asked for after cancellation */
    drip_ctx *late = drip_ctx_with_cancel(c);
    assert_int_equal(readable(drip_ctx_fd(late), 0), 1);

    drip_ctx *r2 = drip_ctx_new(&t.a);
    drip_ctx *d = drip_ctx_with_timeout(r2, 20 * MS);
    int dfd = drip_ctx_fd(d);
    assert_true(dfd >= 0);
    assert_int_equal(readable(dfd, 10000), 1);          /* deadline fires */
    assert_int_equal(drip_ctx_err(d), -ETIMEDOUT);
    drip_ctx *d2 = drip_ctx_with_timeout(r2, 3600 * 1000 * MS);
    int d2fd = drip_ctx_fd(d2);
    assert_int_equal(readable(d2fd, 0), 0);
    drip_ctx_cancel(d2);
    assert_int_equal(readable(d2fd, 10000), 1);         /* cancel, through epoll */
    drip_ctx *past = drip_ctx_with_deadline(r2, 1);
    assert_int_equal(readable(drip_ctx_fd(past), 10000), 1);
    drip_ctx_release(past);
    drip_ctx_release(d2);
    drip_ctx_release(d);
    drip_ctx_release(r2);
    drip_ctx_release(late);
    drip_ctx_release(c);
    drip_ctx_release(root);
    assert_int_equal(talloc_live(&t), 0);
}

static void test_args(void **state)
{
    drip_ctx_release(NULL);
    drip_ctx_cancel(NULL);
    assert_null(drip_ctx_retain(NULL));
    errno = 0;
    assert_null(drip_ctx_with_cancel(NULL));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(drip_ctx_err(NULL), -EINVAL);
    assert_int_equal(drip_ctx_wait(NULL, 0), -EINVAL);
    assert_int_equal(drip_ctx_fd(NULL), -EINVAL);
    drip_ctx *c = drip_ctx_new(NULL);
    assert_ptr_equal(drip_ctx_retain(c), c);
    drip_ctx_release(c);
    assert_int_equal(drip_ctx_err(c), 0);               /* still one ref */
    drip_ctx_release(c);
}

static void test_fail(void **state)
{
    struct talloc t;
    talloc_init(&t);
    talloc_fail_nth(&t, 1);
    errno = 0;
    assert_null(drip_ctx_new(&t.a));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(talloc_live(&t), 0);
    drip_ctx *root = drip_ctx_new(&t.a);
    assert_non_null(root);
    drip_ctx *(*mk[3])(drip_ctx *) = { drip_ctx_with_cancel, NULL, NULL };
    for (int kind = 0; kind < 3; kind++) {
        for (long n = 1;; n++) {
            talloc_fail_nth(&t, n);
            errno = 0;
            drip_ctx *c = kind == 0 ? mk[0](root)
                        : kind == 1 ? drip_ctx_with_timeout(root, 1000 * MS)
                                    : drip_ctx_with_deadline(root, 1);
            talloc_fail_nth(&t, 0);
            if (c) {
                assert_int_equal(n, 2);   /* one allocation per node */
                drip_ctx_release(c);
                break;
            }
            assert_int_equal(errno, ENOMEM);
            assert_int_equal(talloc_live(&t), 1);
        }
    }
    /* The failed creations left no child behind: cancel walks only root. */
    drip_ctx_cancel(root);
    drip_ctx_release(root);
    assert_int_equal(talloc_live(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_fd),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_fail),
    };
    return cmocka_run_group_tests_name("safe_ctx", tests, NULL, NULL);
}
