/* chains.c — the nine pointer chains of a leak checker's classification (memcheck's leak-cases
 * scenario), written for drip: a root (global) points at the start or the inside of block A,
 * which points at the start or the inside of block B, or nothing points at A at all. Every
 * block is 16 bytes (two 8-byte words, so "inside" is offset 8). What each chain yields, as
 * valgrind classifies it (DR/IR: reachable, DL: definite, IL: indirect, P: possible):
 *   1 r -> A            A reachable
 *   2 r -> A -> B       A, B reachable
 *   3      A            A definite
 *   4      A -> B       A definite, B indirect
 *   5 r ~> A            A possible
 *   6 r -> A ~> B       A reachable, B possible
 *   7 r ~> A -> B       A, B possible
 *   8 r ~> A ~> B       A, B possible
 *   9      A ~> B       A definite, B indirect
 * Totals: definite 48/3, indirect 32/2, possible 96/6, reachable 64/4 (and stdout's buffer). The blocks are made in
 * a function of their own, so no stale copy of a pointer stays in main's live frame. */
#include <stdio.h>
#include <stdlib.h>

struct blk { struct blk *link; long pad; };

static struct blk *make(struct blk *to, int inside)
{
    struct blk *b = malloc(sizeof *b);
    b->link = to ? (struct blk *)((char *)to + (inside ? 8 : 0)) : NULL;
    b->pad = 0;
    return b;
}

static char *at(struct blk *b, int inside) { return (char *)b + (inside ? 8 : 0); }

char *root[10];

__attribute__((noinline)) static void build(void)
{
    root[1] = at(make(NULL, 0), 0);
    root[2] = at(make(make(NULL, 0), 0), 0);
    make(NULL, 0);
    make(make(NULL, 0), 0);
    root[5] = at(make(NULL, 0), 1);
    root[6] = at(make(make(NULL, 0), 1), 0);
    root[7] = at(make(make(NULL, 0), 0), 1);
    root[8] = at(make(make(NULL, 0), 1), 1);
    make(make(NULL, 0), 1);
}

int main(void)
{
    build();
    printf("nine chains built\n");
    return 0;
}
