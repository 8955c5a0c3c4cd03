/* overflow: loses 77 bytes, then recurses until its stack overflows (SIGSEGV). The kernel can
 * run no handler on the overflowed stack, drip's neither: the process dies with no report (the
 * program has no alternate signal stack, and drip does not give it one: sigaltstack would answer
 * differently). valgrind, whose own code runs on stacks of its own, reports the 77 bytes. */
#include <stdio.h>
#include <stdlib.h>

static void *volatile keep;

static int deeper(int n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    if (n < 0)   /* never: the recursion ends only in the overflow */
        return 0;
    return deeper(n + 1) + frame[0];
}

int main(void)
{
    keep = malloc(77);
    keep = NULL;
    puts("recursing");
    fflush(stdout);
    return deeper(0);
}
