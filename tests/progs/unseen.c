/* unseen.c — what a program can see of drip (issue #12: "the program must not see drip").
 *   unseen tasks [MS]   allocates a kept 64-byte block every 2 ms for MS ms (default 400: past
 *                       several of the growth detector's samples), then prints
 *                       "tasks N single S": N the entries of /proc/self/task, S glibc's
 *                       __libc_single_threaded. Plainly: "tasks 1 single 1".
 *   unseen thread       the same after starting (and joining) one thread of its own: 400 ms of
 *                       allocations with the thread alive, then "tasks N" while it still runs.
 *   unseen system CMD   system(CMD), then "status S"
 *   unseen popen CMD    popen(CMD, "r"), copies what it prints to stdout, then "status S"
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <time.h>

static void *kept[4096];

static int tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void allocate_for(int ms)
{
    struct timespec step = {0, 2 * 1000000};
    for (int i = 0; i < ms / 2 && i < 4096; i++) {
        kept[i] = malloc(64);
        memset(kept[i], i, 64);
        nanosleep(&step, NULL);
    }
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "tasks";
    if (!strcmp(what, "system") && argc > 2) {
        fflush(stdout);
        int st = system(argv[2]);
        printf("status %d\n", st);
        return 0;
    }
    if (!strcmp(what, "popen") && argc > 2) {
        FILE *f = popen(argv[2], "r");
        char buf[4096];
        for (size_t n; f && (n = fread(buf, 1, sizeof buf, f)) > 0;)
            fwrite(buf, 1, n, stdout);
        printf("status %d\n", f ? pclose(f) : -1);
        return 0;
    }
    if (!strcmp(what, "thread")) {
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
        allocate_for(400);
        printf("tasks %d\n", tasks());
        fflush(stdout);
        pthread_mutex_lock(&mu);
        done = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
        pthread_join(t, NULL);
        return 0;
    }
    allocate_for(argc > 2 ? atoi(argv[2]) : 400);
    printf("tasks %d single %d\n", tasks(), (int)__libc_single_threaded);
    return 0;
}
