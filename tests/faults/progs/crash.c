/* crash.c — leaks 100 bytes in leak_once, prints "ready <pid>", then leaves the way argv[1] says:
 *   segv | abort | bus (SIGBUS by raise) | fpe (integer division by zero)
 *   raise-term | raise-int          raise the signal, no handler installed
 *   pipe                            write to a pipe whose reader is gone (SIGPIPE, as `prog | head`)
 *   alarm                           alarm(1) and wait (SIGALRM, no handler)
 *   wait                            sleep until a signal arrives from outside (test sends it)
 *   handler-term | handler-int      a handler prints "caught N" and calls exit(9)
 *   handler-return                  SIGTERM handler sets a flag, main sees it and returns 11
 *   segv-handler                    a SIGSEGV handler prints "caught 11" and calls _exit(12)
 *   ignore-term                     SIGTERM ignored, raise(SIGTERM), return 13
 * With "wait", the handlers of the handler-* modes are installed first when argv[2] says so. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;
static volatile sig_atomic_t flag;

__attribute__((noinline)) void leak_once(void) { sink = malloc(100); sink = NULL; }

__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

static void say(const char *s) { ssize_t r = write(1, s, strlen(s)); (void)r; }

static void on_exit9(int sig)
{
    say(sig == SIGTERM ? "caught 15\n" : "caught 2\n");
    exit(9);
}

static void on_flag(int sig) { flag = sig; }

static void on_segv(int sig)
{
    say("caught 11\n");
    _exit(12);
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "segv";
    const char *handler = argc > 2 ? argv[2] : "";
    leak_once();
    scrub();
    if (!strcmp(how, "handler-term") || !strcmp(how, "handler-int") || !strcmp(handler, "exit9")) {
        signal(SIGTERM, on_exit9);
        signal(SIGINT, on_exit9);
    }
    if (!strcmp(how, "handler-return") || !strcmp(handler, "flag")) {
        signal(SIGTERM, on_flag);
        signal(SIGINT, on_flag);
    }
    if (!strcmp(how, "segv-handler"))
        signal(SIGSEGV, on_segv);
    /* write(2), not stdio: a handler that calls exit() must find no half-flushed buffer */
    char ready[32];
    snprintf(ready, sizeof ready, "ready %d\n", (int)getpid());
    say(ready);
    if (!strcmp(how, "segv") || !strcmp(how, "segv-handler"))
        *(volatile int *)16 = 1;
    if (!strcmp(how, "abort"))
        abort();
    if (!strcmp(how, "bus"))
        raise(SIGBUS);
    if (!strcmp(how, "fpe")) {
        volatile int zero = 0, num = 100;
        printf("%d\n", num / zero);
    }
    if (!strcmp(how, "raise-term"))
        raise(SIGTERM);
    if (!strcmp(how, "raise-int"))
        raise(SIGINT);
    if (!strcmp(how, "pipe")) {
        int fds[2];
        if (pipe(fds) == 0) {
            close(fds[0]);
            ssize_t n = write(fds[1], "x", 1);
            (void)n;
        }
    }
    if (!strcmp(how, "alarm")) {
        alarm(1);
        for (;;)
            pause();
    }
    if (!strcmp(how, "handler-term"))
        raise(SIGTERM);
    if (!strcmp(how, "handler-int"))
        raise(SIGINT);
    if (!strcmp(how, "handler-return")) {
        raise(SIGTERM);
        return flag == SIGTERM ? 11 : 1;
    }
    if (!strcmp(how, "ignore-term")) {
        signal(SIGTERM, SIG_IGN);
        raise(SIGTERM);
        return 13;
    }
    if (!strcmp(how, "wait")) {
        for (int i = 0; i < 600 && !flag; i++)
            usleep(100000);
        printf("flag %d\n", (int)flag);
        return flag ? 11 : 1;
    }
    return 0;
}
