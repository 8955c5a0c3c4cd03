/* leakotron.c — a loop that loses what it allocates (memcheck's leakotron scenario), written
 * for drip: blocks of 1..1000 bytes from one call site; every 100th kept in a global table
 * (10 blocks, 5,500 bytes reachable), every other 7th freed at once, the other 849 lost
 * (424,629 bytes definitely lost). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *table[16];

__attribute__((noinline)) static void churn(void)
{
    int kept = 0;
    for (int i = 1; i <= 1000; i++) {
        char *p = malloc((size_t)i);
        memset(p, 0, (size_t)i);
        if (i % 100 == 0)
            table[kept++] = p;
        else if (i % 7 == 0)
            free(p);
    }
}

int main(void)
{
    churn();
    printf("churned\n");
    return 0;
}
