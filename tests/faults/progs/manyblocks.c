/* manyblocks.c — argv[1] (default 10,000,000) live blocks at exit, all from make_blocks:
 * half of them (16 bytes each) held by one pointer array (reachable, plus the array itself:
 * 8 bytes a slot, from keep_array), the other half (16-byte nodes) chained in a list whose
 * head is then lost (1 definite + N/2-1 indirect, all from make_list). Prints "ok". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; long v; };
void **held;
void *volatile sink;

__attribute__((noinline)) void **keep_array(size_t n) { return malloc(n * sizeof(void *)); }
__attribute__((noinline)) void *make_block(void) { return malloc(16); }
__attribute__((noinline)) struct node *make_node(void) { return malloc(sizeof(struct node)); }

__attribute__((noinline)) void make_blocks(size_t n)
{
    held = keep_array(n);
    for (size_t i = 0; i < n; i++)
        held[i] = make_block();
}

__attribute__((noinline)) void make_list(size_t n)
{
    struct node *head = NULL;
    for (size_t i = 0; i < n; i++) {
        struct node *x = make_node();
        x->next = head;
        x->v = (long)i;
        head = x;
    }
    sink = head;
    sink = NULL;
}

__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
    make_blocks(n / 2);
    make_list(n - n / 2);
    scrub();
    printf("ok\n");
    return 0;
}
