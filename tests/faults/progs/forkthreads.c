/* forkthreads.c — four threads allocate and free in a loop while main forks argv[1] children
 * (default 20), one after the other. Each child (only the forking thread survives in it)
 * mallocs and frees a little, leaks 123 bytes in leak_in_child and calls exit(0); the parent
 * waits for each. A lock left held across fork (drip's or libc's) would hang the child.
 * Prints "children N ok M". The parent itself loses nothing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;
void *volatile sink;

__attribute__((noinline)) void leak_in_child(void) { sink = malloc(123); sink = NULL; }

__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

static void *churn(void *arg)
{
    for (unsigned i = 0; !stop; i++) {
        void *p = malloc(8 + (i % 4000));
        void *q = realloc(p, 16 + (i % 9000));
        free(q);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20, ok = 0;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn, NULL);
    usleep(20000);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int k = 0; k < 1000; k++)
                free(malloc(32 + k));
            char *s = strdup("child");
            free(s);
            leak_in_child();
            scrub();
            exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("children %d ok %d\n", n, ok);
    return ok == n ? 0 : 1;
}
