/* delta.c — a leak check in the middle of a run, counting what one piece of code left behind
 * (memcheck's leak-delta and leak-cases' DO_LEAK_CHECK scenarios), written for drip. The same
 * binary asks whichever tool runs it: drip through its check scope (drip/drip.h), valgrind
 * through its client requests (VALGRIND_DO_LEAK_CHECK then VALGRIND_DO_ADDED_LEAK_CHECK and
 * VALGRIND_COUNT_LEAK_BLOCKS before and after); each call is a no-op under the other tool.
 * The piece of code: 3 blocks lost (10, 20, 30 bytes), 2 kept by a global (40, 50), 1 freed.
 * Prints "drip: B bytes in N blocks" or "valgrind: B bytes in N blocks" (every kind added). */
#include <stdio.h>
#include <stdlib.h>
#include <valgrind/memcheck.h>

#include "drip/drip.h"

void *kept[2];

__attribute__((noinline)) static void piece(void)
{
    for (int i = 1; i <= 3; i++) {
        char *volatile p = malloc((size_t)i * 10);
        p[0] = 0;
    }
    kept[0] = malloc(40);
    kept[1] = malloc(50);
    free(malloc(60));
}

int main(void)
{
    unsigned long l0 = 0, d0 = 0, r0 = 0, s0 = 0, l1 = 0, d1 = 0, r1 = 0, s1 = 0;
    unsigned long bl0 = 0, bd0 = 0, br0 = 0, bs0 = 0, bl1 = 0, bd1 = 0, br1 = 0, bs1 = 0;
    drip_check_t c;
    int tracked = drip_check_begin(&c) == 0;
    VALGRIND_DO_LEAK_CHECK;
    VALGRIND_COUNT_LEAKS(l0, d0, r0, s0);
    VALGRIND_COUNT_LEAK_BLOCKS(bl0, bd0, br0, bs0);
    piece();
    VALGRIND_DO_ADDED_LEAK_CHECK;
    VALGRIND_COUNT_LEAKS(l1, d1, r1, s1);
    VALGRIND_COUNT_LEAK_BLOCKS(bl1, bd1, br1, bs1);
    if (tracked) {
        drip_check_result_t r;
        struct drip_check_options o = {.quiet = 1};
        drip_check_end_opts(&c, &o, &r);
        printf("drip: %llu bytes in %llu blocks\n", (unsigned long long)r.leaked_bytes,
               (unsigned long long)r.leaked_blocks);
    } else if (RUNNING_ON_VALGRIND) {
        printf("valgrind: %lu bytes in %lu blocks\n", (l1 + d1 + r1) - (l0 + d0 + r0), (bl1 + bd1 + br1) - (bl0 + bd0 + br0));
    } else {
        printf("neither tool\n");
    }
    return 0;
}
