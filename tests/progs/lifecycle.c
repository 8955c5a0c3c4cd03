/* lifecycle.c — allocations outside main, and a block drip never saw:
 *   a constructor (before main) keeps 111 bytes in early_keep and loses 222 in early_leak;
 *   main frees a block from __libc_malloc (drip never saw it: free passes it to libc unchanged);
 *   a destructor (after main) frees early_keep's block and loses 333 in late_leak.
 * Expected at exit: definitely lost 555 bytes in 2 blocks (early_leak, late_leak), nothing else. */
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
void *volatile sink;
static void *kept;

__attribute__((noinline)) void early_keep(void) { kept = malloc(111); }
__attribute__((noinline)) void early_leak(void) { sink = malloc(222); sink = NULL; }
__attribute__((noinline)) void late_leak(void) { sink = malloc(333); sink = NULL; }

__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

__attribute__((constructor)) static void before_main(void)
{
    early_keep();
    early_leak();
    scrub();
}

__attribute__((destructor)) static void after_main(void)
{
    free(kept);
    late_leak();
    scrub();
}

int main(void)
{
    void *unseen = __libc_malloc(64);
    memset(unseen, 7, 64);
    free(unseen);
    return 0;
}
