/* sampling.c — for sampling mode: big() keeps 100,000 blocks of 4,096 bytes (409,600,000 bytes),
 * small() keeps 100,000 blocks of 64 bytes (6,400,000 bytes), and 100,000 blocks of 100 bytes
 * come and go. */
#include <stdlib.h>

void *keep[200000];
void *volatile sink;

__attribute__((noinline)) void big(int i) { keep[i] = malloc(4096); }
__attribute__((noinline)) void small(int i) { keep[100000 + i] = malloc(64); }

int main(void)
{
    for (int i = 0; i < 100000; i++) {
        big(i);
        small(i);
        void *p = malloc(100);
        sink = p;
        free(p);
    }
    return 0;
}
