/* jemalloc_tcache.c — blocks from a malloc that is not glibc's (jemalloc, preloaded by the test,
 * as Debian's redis-server links it), kept only by interior pointers, and one block lost.
 *
 * jemalloc's thread cache hands out blocks from a stack of addresses and leaves each address in
 * its slot: its own memory holds a start pointer to every block below. That memory is malloc's,
 * not the program's (valgrind replaces jemalloc's malloc and never sees it): the 16 blocks are
 * possibly lost and the 200-byte one definitely lost, under valgrind and drip alike. Before drip
 * left the allocator's own mappings out of the roots it called all 17 reachable.
 * The pointers kept 3 bytes past the start are redis's sds strings (a header, then the chars).
 * Two more of jemalloc's own words: its extent metadata holds the start of every large block (the
 * 40,000-byte one, kept 16 bytes in: possibly lost), and a freed region keeps what it held (the
 * 48-byte block whose only pointer was in a freed block: definitely lost).
 */
#include <stdlib.h>
#include <string.h>

static char *keep[16];
static char *keep_big;
struct holder { long tag; void *p; };

int main(void)
{
    for (int i = 0; i < 16; i++) {
        char *p = malloc(100);
        memset(p, 'x', 100);
        keep[i] = p + 3;
    }
    char *lost = malloc(200);
    memset(lost, 0, 200);
    lost = NULL;
    char *big = malloc(40000);
    memset(big, 0, 40000);
    keep_big = big + 16;
    struct holder *h = malloc(sizeof *h);
    h->tag = 1;
    h->p = malloc(48);
    memset(h->p, 0, 48);
    free(h);
    return keep[15][0] == 'x' ? 0 : 1;
}
