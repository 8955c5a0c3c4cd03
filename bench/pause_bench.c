/* pause_bench.c — how long a live leak check stops the program, seen from the program.
 *
 * Holds --blocks blocks (default 5,000,000) of --size bytes (default 56: ~280 MB of heap plus the
 * 40 MB array that holds them, all reachable) and runs a thread that reads CLOCK_MONOTONIC in a
 * loop and keeps the longest gap between two reads. Prints "ready" once the heap is built; then,
 * for each line read on stdin, prints the longest gap (in microseconds) since the previous line
 * and starts a new window. bench/pause.py sends a line, asks GET /debug/drip/leaks, sends a line:
 * the second answer is the pause the check imposed (plus the scheduler's own noise, which a
 * window without a check measures).
 * Usage: pause_bench [--blocks N] [--size BYTES]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_llong longest;   /* ns */
static atomic_int reset;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *watch(void *arg)
{
    (void)arg;
    long long last = now_ns();
    for (;;) {
        long long t = now_ns();
        if (atomic_exchange(&reset, 0))
            atomic_store(&longest, 0);
        else if (t - last > atomic_load(&longest))
            atomic_store(&longest, t - last);
        last = t;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    size_t n = 5000000, size = 56;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--blocks"))
            n = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--size"))
            size = strtoull(argv[i + 1], NULL, 10);
    }
    void **keep = malloc(n * sizeof *keep);
    if (!keep)
        return 1;
    for (size_t i = 0; i < n; i++) {
        keep[i] = malloc(size);
        if (!keep[i])
            return 1;
        memset(keep[i], 0x5a, size);
    }
    pthread_t t;
    pthread_create(&t, NULL, watch, NULL);
    printf("ready %zu blocks of %zu bytes\n", n, size);
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        printf("%lld\n", atomic_load(&longest) / 1000);
        fflush(stdout);
        atomic_store(&reset, 1);
    }
    return 0;
}
