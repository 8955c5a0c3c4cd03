/* tree.c — a binary tree of 15 nodes (memcheck's leak-tree scenario), written for drip; node i
 * is 24 + i bytes (its size names it), node i's children are 2i and 2i+1. A global keeps the
 * root; then the program cuts links and frees one node:
 *   node 2 is cut from the root: 2 definite (26 bytes), 5, 10, 11 indirect (98 bytes);
 *   node 4 (2's left child) is freed, its children 8 and 9 are kept by a global: reachable;
 *   node 6 is cut from 3 but a global points 8 bytes into it: 6, 12, 13 possible (103 bytes);
 *   1, 3, 7, 14, 15, 8, 9 reachable (225 bytes).
 */
#include <stdio.h>
#include <stdlib.h>

struct tnode { struct tnode *l, *r; long id; };

static struct tnode *nodes[16];
struct tnode *tree_root;
char *middle;
struct tnode *kids_of_4[2];

__attribute__((noinline)) static void build(void)
{
    for (int i = 1; i <= 15; i++) {
        nodes[i] = calloc(1, 24 + (size_t)i);
        nodes[i]->id = i;
    }
    for (int i = 1; i <= 7; i++) {
        nodes[i]->l = nodes[2 * i];
        nodes[i]->r = nodes[2 * i + 1];
    }
    tree_root = nodes[1];
    /* 2's subtree: only the parent link held it */
    tree_root->l = NULL;
    /* 6 (3's left child, with leaves 12, 13) held through its middle */
    middle = (char *)nodes[6] + 8;
    nodes[3]->l = NULL;
    /* 4: freed, its children 8, 9 kept by a global */
    kids_of_4[0] = nodes[4]->l;
    kids_of_4[1] = nodes[4]->r;
    free(nodes[4]);
    for (int i = 0; i < 16; i++)
        nodes[i] = NULL;
}

int main(void)
{
    build();
    printf("tree of 15, cut\n");
    return 0;
}
