/* sleepers.c — a worker thread sleeps in one blocking call (argv[1]: nanosleep, clock_nanosleep,
 * sleep, poll, select, epoll, pause) and the program exits 3 if that call returns early (EINTR,
 * or before its time), as a program whose worker treats an interrupted sleep as an error does.
 *   sleepers HOW       exits (status 0) 0.3 s in, while the worker sleeps 2 s: drip's exit scan
 *                      stops it
 *   sleepers HOW live  the worker sleeps 600 s; prints "ready", and exits (status 0, "done") on a
 *                      line on stdin: live checks happen in between, and the exit scan at the end
 * A 100-byte block is lost in main. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static const char *how;
static int secs = 2;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void early(const char *what, int rc)
{
    printf("%s returned early: rc=%d errno=%s\n", what, rc, strerror(errno));
    fflush(stdout);
    _exit(3);
}

static void *worker(void *arg)
{
    (void)arg;
    double t0 = now();
    int rc = 0;
    if (!strcmp(how, "nanosleep")) {
        struct timespec ts = {secs, 0};
        rc = nanosleep(&ts, NULL);
    } else if (!strcmp(how, "clock_nanosleep")) {
        struct timespec ts = {secs, 0};
        rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
        if (rc) { errno = rc; rc = -1; }
    } else if (!strcmp(how, "sleep")) {
        rc = (int)sleep((unsigned)secs);
    } else if (!strcmp(how, "poll")) {
        rc = poll(NULL, 0, secs * 1000);
    } else if (!strcmp(how, "select")) {
        struct timeval tv = {secs, 0};
        rc = select(0, NULL, NULL, NULL, &tv);
    } else if (!strcmp(how, "epoll")) {
        int ep = epoll_create1(0);
        struct epoll_event ev;
        rc = epoll_wait(ep, &ev, 1, secs * 1000);
    } else if (!strcmp(how, "pause")) {
        rc = pause();   /* nothing ever wakes it: returning at all is early */
        early("pause", rc);
    }
    if (rc != 0 || now() - t0 < secs - 0.05)
        early(how, rc);
    return NULL;
}

/* the only pointer to 100 bytes, overwritten: a definite leak */
static void *volatile sink;
__attribute__((noinline)) static void lose(void)
{
    sink = malloc(100);
    sink = NULL;
}

int main(int argc, char **argv)
{
    how = argc > 1 ? argv[1] : "nanosleep";
    int live = argc > 2 && !strcmp(argv[2], "live");
    if (live)
        secs = 600;
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    lose();
    if (live || !strcmp(how, "pause")) {
        printf("ready\n");
        fflush(stdout);
    }
    if (live) {
        char line[16];
        if (!fgets(line, sizeof line, stdin))   /* the driver says when its checks are done */
            return 1;
        printf("done\n");
        return 0;
    }
    usleep(300000);   /* the worker is asleep: exit while it sleeps */
    printf("done\n");
    return 0;
}
