/* sigalloc.c — a 20 kHz SIGALRM timer (setitimer ITIMER_REAL at 50 us) whose handler mallocs and
 * frees, while main mallocs and frees in a loop: the signal usually lands while main
 * is inside malloc or free (and so inside drip's hook). Sizes stay in glibc's tcache bins so
 * glibc itself takes no lock in either; a deadlock here would be drip's. So the handler uses no
 * calloc (glibc's calloc never uses the tcache: it takes the arena lock whenever the process has
 * a second thread, as it has under drip, whose ticker runs beside main), and every bin is filled
 * before the timer starts (a first malloc of a size would take the lock).
 * Prints "signals N iterations M" after argv[1] seconds (default 2); N must be > 0. Leaks nothing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t hits;
static void *volatile hsink;

static void on_alarm(int sig)
{
    void *p = malloc(40);
    void *q = malloc(24);
    memset(q, 0, 24);
    hsink = p;
    free(q);
    free(p);
    hits++;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    void *warm[7][11];   /* glibc's tcache keeps 7 chunks a size: main's nine sizes, the handler's two */
    for (int k = 0; k < 7; k++)
        for (int i = 0; i < 11; i++)
            warm[k][i] = malloc(i < 8 ? 24 + i * 8 : i == 8 ? 100 : i == 9 ? 40 : 24);
    for (int k = 0; k < 7; k++)
        for (int i = 0; i < 11; i++)
            free(warm[k][i]);
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);
    double end = now() + secs;
    unsigned long iters = 0;
    while (now() < end) {
        for (int i = 0; i < 1000; i++) {
            void *p = malloc(24 + (i & 7) * 8);
            void *q = malloc(100);
            free(p);
            free(q);
        }
        iters += 1000;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("signals %s iterations %s\n", hits > 0 ? "many" : "none", iters > 0 ? "many" : "none");
    return 0;
}
