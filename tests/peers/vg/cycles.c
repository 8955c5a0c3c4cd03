/* cycles.c — lost cycles (memcheck's leak-cycle scenario), written for drip. Blocks of
 * different sizes, so which block of a lost group is "definitely lost" (the others indirectly)
 * shows in the figures: valgrind makes each lost block that no other lost block points at
 * definite, and in a cycle where every block is pointed at, the first it meets in address order.
 *   a: a ring of 3 blocks (40, 48, 56 bytes), lost;
 *   b: a ring of 2 (64, 72) hanging off a lost 80-byte head;
 *   c: two rings of 2 (88, 96) and (104, 112) that point at each other, lost;
 *   d: a ring of 2 (120, 128) reached from a global through an interior pointer;
 *   e: a ring of 2 (136, 144) reached from a global: reachable.
 * Allocation order sets the address order (fresh heap, ascending). */
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *next; struct node *other; };

static struct node *mk(size_t size)
{
    struct node *n = calloc(1, size);
    return n;
}

static struct node *ring(size_t s1, size_t s2, size_t s3)
{
    struct node *a = mk(s1), *b = mk(s2), *c = s3 ? mk(s3) : NULL;
    a->next = b;
    b->next = c ? c : a;
    if (c)
        c->next = a;
    return a;
}

char *keep_d;
struct node *keep_e;

__attribute__((noinline)) static void build(void)
{
    ring(40, 48, 56);
    struct node *head = mk(80);
    head->next = ring(64, 72, 0);
    struct node *c1 = ring(88, 96, 0), *c2 = ring(104, 112, 0);
    c1->other = c2;
    c2->other = c1;
    keep_d = (char *)ring(120, 128, 0) + 8;
    keep_e = ring(136, 144, 0);
}

int main(void)
{
    build();
    printf("cycles built\n");
    return 0;
}
