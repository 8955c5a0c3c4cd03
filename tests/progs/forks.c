/* forks.c — the child leaks 200 bytes (leak_in_child) and exits 0; the parent waits, then leaks
 * 100 bytes (leak_in_parent). Each process's report counts only its own. A thread of the parent
 * holds a 300-byte block (hold_in_thread) whose only pointer is on its stack while the fork
 * happens: in the child that thread does not exist, but the block is not the child's leak (it is
 * reachable from the thread's stack, which the child has as it was at fork); the parent's thread
 * frees it before the parent exits. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;

__attribute__((noinline)) void leak_in_child(void) { sink = malloc(200); sink = NULL; }
__attribute__((noinline)) void leak_in_parent(void) { sink = malloc(100); sink = NULL; }

/* Clears the stack below the caller so no stale copy of a lost pointer survives there. */
__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

static int go[2], done[2];

__attribute__((noinline)) void *hold_in_thread(void *arg)
{
    void *volatile held = malloc(300);
    char c = 1;
    if (write(go[1], &c, 1) != 1 || read(done[0], &c, 1) != 1)   /* parked until the fork is over */
        abort();
    free(held);
    return arg;
}

int main(void)
{
    pthread_t th;
    char c;
    if (pipe(go) || pipe(done) || pthread_create(&th, NULL, hold_in_thread, NULL) || read(go[0], &c, 1) != 1)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        leak_in_child();
        scrub();
        exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (write(done[1], &c, 1) != 1 || pthread_join(th, NULL))
        return 2;
    leak_in_parent();
    scrub();
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
