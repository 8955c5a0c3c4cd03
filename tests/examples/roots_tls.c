/* roots_tls.c — memory held from thread-local variables, for the TLS roots of the retention paths
 * (issue #16): a worker thread keeps a cache of 16 entries of 64 bytes (entry_new) in the
 * __thread variable t_cache and waits in pause() for ever; the main thread keeps 1,000 bytes
 * (main_buffer) in the _Thread_local m_buffer and exits. Each block is held by a variable of one
 * thread's static TLS block: `tls `t_cache` (roots_tls.c:21) in roots_tls, thread T (start
 * routine session_worker)`. The worker scrubs the dead part of its stack before it waits, so no
 * stale copy of an entry's address on its stack is met before the variable. With the argument
 * `serve` it waits for its standard input to close before it exits (a live check). Built -O0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct entry {
    struct entry *next;
    char key[56];
};

static __thread struct entry *t_cache;
static _Thread_local char *m_buffer;
static atomic_int ready;

__attribute__((noinline)) static struct entry *entry_new(int i)
{
    struct entry *e = malloc(sizeof *e);
    if (e)
        snprintf(e->key, sizeof e->key, "session-%d", i);
    return e;
}

__attribute__((noinline)) static void cache_fill(int n)
{
    for (int i = 0; i < n; i++) {
        struct entry *e = entry_new(i);
        e->next = t_cache;
        t_cache = e;
    }
}

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char pad[65536];
    memset((char *)pad, 0, sizeof pad);
}

__attribute__((noinline)) static char *main_buffer(void) { return malloc(1000); }

static void *session_worker(void *arg)
{
    (void)arg;
    cache_fill(16);
    scrub_stack();
    atomic_store(&ready, 1);
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    m_buffer = main_buffer();
    pthread_t t;
    if (pthread_create(&t, NULL, session_worker, NULL) != 0)
        return 1;
    while (!atomic_load(&ready))
        usleep(1000);
    scrub_stack();
    printf("ready %d\n", m_buffer != NULL);
    fflush(stdout);
    char c;
    while (argc > 1 && !strcmp(argv[1], "serve") && read(0, &c, 1) > 0)
        ;
    exit(0);
}
