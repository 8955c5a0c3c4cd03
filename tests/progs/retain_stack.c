/* retain_stack.c — roots that are stack frames and TLS, for the retention paths (issue #16):
 *   holder_main (a thread that blocks in pause() for ever) keeps 4,096 bytes from hold_block in
 *     a volatile local: held by a slot of holder_main's frame on that thread's stack;
 *   main keeps 1,000 bytes from main_block in a volatile local, then exits: held by main's frame
 *     on the main thread's stack;
 *   tls_buf, a __thread variable of the holder thread, holds 2,048 bytes from tls_block.
 * Built -O0: the locals live in their frames. Prints "ready" once the thread holds its blocks.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int ready;
static __thread char *tls_buf;

__attribute__((noinline)) static char *hold_block(void) { return malloc(4096); }
__attribute__((noinline)) static char *main_block(void) { return malloc(1000); }
__attribute__((noinline)) static char *tls_block(void) { return malloc(2048); }

static void *holder_main(void *arg)
{
    (void)arg;
    char *volatile held = hold_block();
    tls_buf = tls_block();
    atomic_store(&ready, 1);
    for (;;)
        pause();
    return (void *)held;
}

int main(void)
{
    char *volatile mine = main_block();
    pthread_t t;
    if (pthread_create(&t, NULL, holder_main, NULL) != 0)
        return 1;
    while (!atomic_load(&ready))
        usleep(1000);
    printf("ready %p\n", (void *)mine);
    fflush(stdout);
    exit(0);
}
