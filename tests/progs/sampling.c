/* sampling.c — for sampling mode (the tests use sample=64KiB):
 *   big()   keeps 100,000 blocks of 4,096 bytes (409,600,000 bytes)
 *   small() keeps 100,000 blocks of 64 bytes (6,400,000 bytes)
 *   even()  allocates and frees 10,000 blocks of 65,536 bytes, the sampling rate: Go's scaling,
 *           1/(1 - e^-1) = 1.582 per sample, and a naive one (rate/size = 1) are 37% apart
 *   huge()  allocates and frees 100 blocks of 1 MiB: each is sampled but for a chance of e^-16
 *   and 100,000 blocks of 100 bytes come and go. */
#include <stdlib.h>

void *keep[200000];
void *volatile sink;

__attribute__((noinline)) void big(int i) { keep[i] = malloc(4096); }
__attribute__((noinline)) void small(int i) { keep[100000 + i] = malloc(64); }
__attribute__((noinline)) void even(void) { sink = malloc(65536); free(sink); }
__attribute__((noinline)) void huge(void) { sink = malloc(1 << 20); free(sink); }

int main(void)
{
    for (int i = 0; i < 100000; i++) {
        big(i);
        small(i);
        void *p = malloc(100);
        sink = p;
        free(p);
        if (i % 10 == 0)
            even();
        if (i % 1000 == 0)
            huge();
    }
    sink = NULL;
    return 0;
}
