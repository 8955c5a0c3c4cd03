/* pool.c — a custom allocator that carves objects out of big malloc'ed chunks (memcheck's
 * custom_alloc and mempool scenarios, without the client requests that tell valgrind about the
 * objects), written for drip. Both tools see the chunks only: a chunk is reachable while the
 * pool's global list holds it, and the malloc'ed blocks that objects inside a chunk point at are
 * reachable through it (2 chunks of 4,112 bytes, 150 payloads of 24). A second pool, itself a
 * malloc'ed 8-byte header, is dropped whole: the header is definitely lost, its 2 chunks and the
 * 150 payloads of 40 bytes its objects point at indirectly lost.
 */
#include <stdio.h>
#include <stdlib.h>

#define CHUNK 4096
struct chunk { struct chunk *next; size_t used; _Alignas(16) char mem[CHUNK]; };
struct pool { struct chunk *head; };
struct obj { void *payload; long id; };

static void *pool_alloc(struct pool *p, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!p->head || p->head->used + n > CHUNK) {
        struct chunk *c = malloc(sizeof *c);
        c->next = p->head;
        c->used = 0;
        p->head = c;
    }
    void *r = p->head->mem + p->head->used;
    p->head->used += n;
    return r;
}

struct pool kept_pool;

__attribute__((noinline)) static void fill(struct pool *p, int objs, size_t payload)
{
    for (int i = 0; i < objs; i++) {
        struct obj *o = pool_alloc(p, sizeof *o);
        o->id = i;
        o->payload = i % 2 ? malloc(payload) : NULL;
    }
}

__attribute__((noinline)) static void drop(void)
{
    struct pool *lost = malloc(sizeof *lost);
    lost->head = NULL;
    fill(lost, 300, 40);
    lost->head = lost->head;   /* the pool header itself is lost with it */
}

int main(void)
{
    fill(&kept_pool, 300, 24);
    drop();
    printf("pools filled\n");
    return 0;
}
