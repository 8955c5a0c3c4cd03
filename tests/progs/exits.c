/* exits.c — leaks 100 bytes in leak_once, then leaves the way argv[1] says:
 *   return | exit | _exit | abort | segv | sigterm | sigterm-handler (handler calls exit(5)) */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile sink;

__attribute__((noinline)) void leak_once(void) { sink = malloc(100); sink = NULL; }

/* Clears the stack below the caller so no stale copy of a lost pointer survives there. */
__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

static void on_term(int sig) { exit(5); }

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "return";
    leak_once();
    scrub();
    if (!strcmp(how, "exit"))
        exit(4);
    if (!strcmp(how, "_exit"))
        _exit(6);
    if (!strcmp(how, "abort"))
        abort();
    if (!strcmp(how, "segv"))
        *(volatile int *)sink = 1;
    if (!strcmp(how, "sigterm"))
        raise(SIGTERM);
    if (!strcmp(how, "sigterm-handler")) {
        signal(SIGTERM, on_term);
        raise(SIGTERM);
    }
    return 0;
}
