/* threads_bench.c — what a leak tracker costs per thread of the program.
 *
 *   threads_bench alive N K   N threads alive at once (they meet at a barrier), each holding K
 *                             blocks of 32-95 bytes, then freeing them: peak RSS / N is the cost
 *                             of a live thread
 *   threads_bench churn N K   N threads made and joined one after another, each allocating and
 *                             freeing K blocks: CPU time / N is the cost of a thread's life
 * Prints "ok" and exits 0; nothing leaks.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int blocks;
static pthread_barrier_t meet;

static void *work(void *alive)
{
    void **v = malloc((size_t)blocks * sizeof *v + 1);
    if (!v)
        abort();
    for (int i = 0; i < blocks; i++) {
        if (!(v[i] = malloc(32 + (size_t)(i % 64))))
            abort();
        memset(v[i], 1, 8);
    }
    if (alive)
        pthread_barrier_wait(&meet);
    for (int i = 0; i < blocks; i++)
        free(v[i]);
    free(v);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "alive") && strcmp(argv[1], "churn"))) {
        fprintf(stderr, "usage: threads_bench alive|churn THREADS BLOCKS\n");
        return 2;
    }
    int n = atoi(argv[2]);
    blocks = atoi(argv[3]);
    if (n < 1 || blocks < 0) {
        fprintf(stderr, "threads_bench: THREADS must be at least 1 and BLOCKS at least 0\n");
        return 2;
    }
    if (!strcmp(argv[1], "alive")) {
        pthread_t *t = malloc((size_t)n * sizeof *t);
        if (!t || pthread_barrier_init(&meet, NULL, (unsigned)n))
            return 1;
        for (int i = 0; i < n; i++)
            if (pthread_create(&t[i], NULL, work, (void *)1)) {
                perror("threads_bench: pthread_create");
                return 1;
            }
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        free(t);
    } else {
        for (int i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, work, NULL)) {
                perror("threads_bench: pthread_create");
                return 1;
            }
            pthread_join(t, NULL);
        }
    }
    puts("ok");
    return 0;
}
