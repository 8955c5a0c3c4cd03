/* leaks.c — one of each kind, with exact sizes:
 *   definite  148 bytes in 3 blocks: lose_pointer 100, lose_list head 16, lose_cycle 32
 *   indirect   96 bytes in 5 blocks: lose_list tail 4 x 16, lose_cycle's other block 32
 *   possible 2048 bytes in 1 block : keep_interior (only base+100 is kept)
 *   reachable 512 bytes in 1 block : keep_global
 */
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; long value; };

void *volatile sink;          /* stops the compiler from dropping "useless" allocations */
static void *reachable_global;
static char *interior;

__attribute__((noinline)) void lose_pointer(void)
{
    char *p = malloc(100);
    memset(p, 1, 100);
    sink = p;
    sink = NULL;
}

__attribute__((noinline)) struct node *make_node(struct node *next)
{
    struct node *n = malloc(sizeof *n);
    n->next = next;
    n->value = 7;
    return n;
}

__attribute__((noinline)) void lose_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 5; i++)
        head = make_node(head);
    sink = head;
    sink = NULL;
}

__attribute__((noinline)) void lose_cycle(void)
{
    struct node *a = calloc(1, 32), *b = calloc(1, 32);
    a->next = b;
    b->next = a;
    sink = a;
    sink = NULL;
}

__attribute__((noinline)) void keep_interior(void)
{
    char *p = malloc(2048);
    interior = p + 100;
}

__attribute__((noinline)) void keep_global(void) { reachable_global = malloc(512); }

/* Clears the stack below main so no stale copy of a lost pointer survives there. */
__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

int main(void)
{
    lose_pointer();
    lose_list();
    lose_cycle();
    keep_interior();
    keep_global();
    scrub();
    return interior && reachable_global ? 0 : 1;
}
