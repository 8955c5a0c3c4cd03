/* growth.c — one pattern per run (argv[1]), for argv[2] seconds (default 4), 100 steps a second:
 *   list      append_event: a global list that only grows (48-byte nodes, 50 a step)  -> suspect
 *   sessions  session_open: a hash map of sessions never expired (256 B, 20 a step)   -> suspect
 *   eventlog  log_append: an array grown by realloc 16 KiB at a time, never truncated
 *             (32-byte entries, 40 a step)                                            -> suspect
 *   plateau   cache_put: a cache bounded at 2,000 entries of 512 B (fills in 1 s, then evicts) -> not
 *   churn     churn: 2,000 blocks of 256 B allocated and freed every step             -> not
 *   startup   load_config: one 8 MiB block at start, then idle                        -> not
 * Steps are paced by absolute deadlines (10 ms apart on CLOCK_MONOTONIC), so the time a step takes
 * does not slow the rate down. At exit it prints "steps N seconds S" on stdout: the run's real
 * pace, against which the tests check the rate drip reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct node { struct node *next; char data[40]; };
static struct node *events;
static void *sessions[4096];
static void **sess_chain[4096];
static char *log_buf;
static size_t log_len, log_cap;
static void *cache[2000];
static int cache_next;
static void *config;
void *volatile sink;

__attribute__((noinline)) void append_event(int i)
{
    struct node *n = malloc(sizeof *n);
    memset(n->data, i, sizeof n->data);
    n->next = events;
    events = n;
}

__attribute__((noinline)) void session_open(unsigned id)
{
    void **s = malloc(256);
    s[0] = sess_chain[id % 4096];
    sess_chain[id % 4096] = s;
    sessions[id % 4096] = s;
}

__attribute__((noinline)) void log_append(int i)
{
    if (log_len + 32 > log_cap) {
        log_cap += 16384;
        log_buf = realloc(log_buf, log_cap);
    }
    memset(log_buf + log_len, i, 32);
    log_len += 32;
}

__attribute__((noinline)) void cache_put(int i)
{
    free(cache[cache_next]);
    cache[cache_next] = malloc(512);
    cache_next = (cache_next + 1) % 2000;
}

__attribute__((noinline)) void churn(void)
{
    static void *tmp[2000];
    for (int i = 0; i < 2000; i++)
        tmp[i] = malloc(256);
    for (int i = 0; i < 2000; i++)
        free(tmp[i]);
}

__attribute__((noinline)) void load_config(void)
{
    config = malloc(8 << 20);
    memset(config, 1, 8 << 20);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "list";
    int seconds = argc > 2 ? atoi(argv[2]) : 4;
    if (!strcmp(what, "startup"))
        load_config();
    unsigned id = 0;
    struct timespec start, next;
    clock_gettime(CLOCK_MONOTONIC, &start);
    next = start;
    for (int step = 0; step < seconds * 100; step++) {
        if (!strcmp(what, "list"))
            for (int i = 0; i < 50; i++)
                append_event(i);
        else if (!strcmp(what, "sessions"))
            for (int i = 0; i < 20; i++)
                session_open(id++);
        else if (!strcmp(what, "eventlog"))
            for (int i = 0; i < 40; i++)
                log_append(i);
        else if (!strcmp(what, "plateau"))
            for (int i = 0; i < 20; i++)
                cache_put(i);
        else if (!strcmp(what, "churn"))
            churn();
        next.tv_nsec += 10 * 1000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
            ;
    }
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("steps %d seconds %.6f\n", seconds * 100,
           (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
    sink = config;
    return 0;
}
