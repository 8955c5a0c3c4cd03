/* reraise.c — a program that handles a fatal signal and re-raises it with the default
 * disposition, as Python does on KeyboardInterrupt: the handler sets SIG_DFL and raises the
 * signal again, so the process dies by it. Under drip, the report must be written (one
 * 100-byte definite leak in leak_once) and the process must still die by that signal.
 * It also prints the dispositions it reads back, which must be the same with and without drip.
 *   reraise signal|sigaction SIGNUM
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int use_sigaction;

static const char *disposition(int sig)
{
    struct sigaction old;
    sigaction(sig, NULL, &old);
    return old.sa_handler == SIG_DFL ? "default" : old.sa_handler == SIG_IGN ? "ignored" : "handled";
}

static void set_default(int sig)
{
    if (use_sigaction) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigaction(sig, &sa, NULL);
    } else {
        signal(sig, SIG_DFL);
    }
}

static void handler(int sig)
{
    static const char msg[] = "caught, re-raising\n";
    ssize_t ignored = write(1, msg, sizeof msg - 1);
    (void)ignored;
    set_default(sig);
    raise(sig);
}

static void *volatile sink;

__attribute__((noinline)) static void leak_once(void)
{
    sink = malloc(100);
    sink = NULL;
}

/* wipes the stale copies of the block's address that leak_once left below the stack pointer */
__attribute__((noinline)) static void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    use_sigaction = !strcmp(argv[1], "sigaction");
    int sig = atoi(argv[2]);
    printf("at start: %s\n", disposition(sig));
    if (use_sigaction) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = handler;
        sigaction(sig, &sa, &old);
        printf("old: %s\n", old.sa_handler == SIG_DFL ? "default" : "other");
    } else {
        printf("old: %s\n", signal(sig, handler) == SIG_DFL ? "default" : "other");
    }
    printf("now: %s\n", disposition(sig));
    fflush(stdout);
    leak_once();
    scrub();
    kill(getpid(), sig);
    pause();
    return 0;
}
