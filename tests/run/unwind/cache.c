/* cache.c — stacks that drip's stack cache (unwind.c) must tell apart or must merge.
 * The cache finds an entry by the first frame's depth below the stack's top and its first six
 * return addresses, then checks every frame. Here:
 *  - via_a, via_b and via_c reach grab() through the same seven frames, at the same depth: the
 *    three stacks share one key (and one set of two entries), and differ only at the ninth frame;
 *  - via_alloca makes the same stack with a frame whose size changes from call to call (alloca):
 *    one site, whatever the frame addresses;
 *  - deep() is deeper than the cache keeps (35 frames): walked every time.
 * Every block is leaked; the report's counts per stack are exact only if no stack is taken for
 * another one.
 */
#include <alloca.h>
#include <stdlib.h>
#include <string.h>

void *volatile keep;
#define NOINL __attribute__((noinline))
#define NOTAIL __asm__ volatile("" ::: "memory")   /* no tail call: every frame stays on the stack */

NOINL static void grab(size_t n) { keep = malloc(n); keep = 0; NOTAIL; }
NOINL static void c1(size_t n) { grab(n); NOTAIL; }
NOINL static void c2(size_t n) { c1(n); NOTAIL; }
NOINL static void c3(size_t n) { c2(n); NOTAIL; }
NOINL static void c4(size_t n) { c3(n); NOTAIL; }
NOINL static void c5(size_t n) { c4(n); NOTAIL; }
NOINL static void c6(size_t n) { c5(n); NOTAIL; }
NOINL static void c7(size_t n) { c6(n); NOTAIL; }
NOINL static void via_a(size_t n) { c7(n); NOTAIL; }
NOINL static void via_b(size_t n) { c7(n); NOTAIL; }
NOINL static void via_c(size_t n) { c7(n); NOTAIL; }
NOINL static void via_alloca(size_t n, size_t pad)
{
    char *p = alloca(pad);
    memset(p, 1, pad);
    keep = p;
    c7(n);
    NOTAIL;
}
NOINL static void deep(int d, size_t n)
{
    if (d)
        deep(d - 1, n);
    else
        c7(n);
    NOTAIL;
}

int main(void)
{
    /* runs of 7 of each: the cache answers within a run and must not answer across them */
    for (int i = 0; i < 999; i++) {
        if (i / 7 % 3 == 0)
            via_a(40);
        else if (i / 7 % 3 == 1)
            via_b(40);
        else
            via_c(40);
    }
    for (int i = 0; i < 300; i++)
        via_alloca(41, 16 + (size_t)(i / 5 % 3) * 64);
    for (int i = 0; i < 200; i++)
        deep(40, 42);
    keep = 0;
    return 0;
}
