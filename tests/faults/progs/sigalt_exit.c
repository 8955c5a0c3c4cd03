/* exit(9) from a SIGUSR1 handler running on a 32 KiB alternate signal stack (a heap block):
 * the exit report must not need the caller's stack. The handler's 66-byte block is lost. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *volatile altstack;

static __attribute__((noinline)) void handler_leak(void)
{
    void *volatile p = malloc(66);
    p = NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
    handler_leak();
    exit(9);
}

int main(void)
{
    stack_t ss;
    altstack = malloc(32 << 10);
    ss.ss_sp = altstack;
    ss.ss_size = 32 << 10;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    return 0;
}
