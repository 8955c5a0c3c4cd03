/* altstack.c — a signal handled on an alternate stack that the program malloc'ed (memcheck's
 * sigaltstack scenario), written for drip. The handler allocates: one 48-byte block kept by a
 * global, one 24-byte block lost. The 64 KiB alternate stack stays registered (only the kernel
 * and sigaltstack's answer know it): it is lost after main drops its pointer, in both tools.
 * Prints what sigaltstack reports before and after, and that the handler ran on it. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ALT (64 * 1024)
static char *alt;
static volatile int on_alt;
void *from_handler;

static void handler(int sig)
{
    char here;
    (void)sig;
    on_alt = (uintptr_t)&here >= (uintptr_t)alt && (uintptr_t)&here < (uintptr_t)alt + ALT;
    from_handler = malloc(48);
    char *volatile lost = malloc(24);
    lost[0] = 0;
}

__attribute__((noinline)) static void setup(void)
{
    stack_t ss = {0}, old;
    alt = malloc(ALT);
    ss.ss_sp = alt;
    ss.ss_size = ALT;
    if (sigaltstack(&ss, &old) != 0)
        perror("sigaltstack");
    printf("old: flags %d size %zu\n", old.ss_flags, old.ss_size);
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
}

int main(void)
{
    setup();
    raise(SIGUSR1);
    stack_t now;
    sigaltstack(NULL, &now);
    printf("handler on the alternate stack: %d; now: flags %d size %zu same=%d\n", on_alt, now.ss_flags,
           now.ss_size, now.ss_sp == alt);
    alt = NULL;
    return 0;
}
