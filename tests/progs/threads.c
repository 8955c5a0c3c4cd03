/* threads.c — a thread still running at exit (blocker, holding a 4096-byte buffer), a thread
 * that finished but was never joined (quick), one joined and one detached (neither reported).
 * With argument "exit-from-thread", exit(3) is called from a thread while main allocates. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *blocker(void *arg)
{
    char *buf = malloc(4096);
    memset(buf, 0, 4096);
    pthread_mutex_lock(&mu);
    for (;;)
        pthread_cond_wait(&never, &mu);
    return buf;
}

static void *quick(void *arg) { return arg; }

static void *exiter(void *arg)
{
    usleep(50000);
    exit(3);
}

__attribute__((noinline)) void start_workers(void)
{
    pthread_t a, b, c, d;
    pthread_attr_t attr;
    pthread_create(&a, NULL, blocker, NULL);
    pthread_create(&b, NULL, quick, NULL);
    pthread_create(&c, NULL, quick, NULL);
    pthread_join(c, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&d, &attr, quick, NULL);
    pthread_attr_destroy(&attr);
}

/* The program's threads now, not counting drip's own (named "drip" and "drip-http"): the quick ones have really
 * exited once only main and blocker remain. Waiting on this instead of sleeping keeps the test
 * exact on a loaded machine. */
static int tasks(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(comm, sizeof comm, f))
                comm[0] = 0;
            fclose(f);
        }
        n += strcmp(comm, "drip\n") != 0 && strcmp(comm, "drip-http\n") != 0;
    }
    if (d)
        closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    start_workers();
    for (int i = 0; i < 2000 && tasks() != 2; i++)
        usleep(5000);
    if (argc > 1 && !strcmp(argv[1], "exit-from-thread")) {
        pthread_t e;
        pthread_create(&e, NULL, exiter, NULL);
        for (;;) {
            void *p = malloc(64);
            free(p);
        }
    }
    return 0;
}
