/* arena.c — drip's own memory. Everything drip keeps inside the traced process (the live table,
 * stacks, snapshots) comes from here, never from libc's allocator, so a hook never re-enters
 * malloc and drip's data never shows up as the program's.
 *
 * Small requests (<= 64 KiB) come from power-of-two size classes carved out of 1 MiB chunks and
 * recycled on per-class free lists; larger ones are mmap'd directly. Memory from mmap is zeroed;
 * recycled blocks are zeroed again on reuse.
 * Lock: `lock` guards the chunk cursor and the free lists (a leaf lock: nothing is called while
 * it is held but mmap).
 */
#include "internal.h"

#include <string.h>
#include <sys/mman.h>

enum { MIN_SHIFT = 4, MAX_SHIFT = 16, CHUNK = 1 << 20 };

struct free_block { struct free_block *next; };

static struct {
    pthread_mutex_t lock;
    char *cur, *end;                               /* the chunk being carved */
    struct free_block *free[MAX_SHIFT + 1];
    _Atomic size_t mapped;                         /* bytes mmap'd, for drip's own stats */
} A = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned class_of(size_t size)
{
    unsigned s = MIN_SHIFT;
    while (((size_t)1 << s) < size)
        s++;
    return s;
}

static void *map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    atomic_fetch_add_explicit(&A.mapped, size, memory_order_relaxed);
    return p;
}

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }

void *drip__arena_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << MAX_SHIFT))
        return map(page_round(size));
    unsigned c = class_of(size);
    size_t bsize = (size_t)1 << c;
    void *p = NULL;
    pthread_mutex_lock(&A.lock);
    if (A.free[c]) {
        p = A.free[c];
        A.free[c] = A.free[c]->next;
        pthread_mutex_unlock(&A.lock);
        memset(p, 0, bsize);
        return p;
    }
    if ((size_t)(A.end - A.cur) < bsize) {
        char *chunk = map(CHUNK);
        if (!chunk) {
            pthread_mutex_unlock(&A.lock);
            return NULL;
        }
        /* the tail of the old chunk is simply abandoned: at most 64 KiB per MiB */
        A.cur = chunk;
        A.end = chunk + CHUNK;
    }
    p = A.cur;
    A.cur += bsize;
    pthread_mutex_unlock(&A.lock);
    return p;
}

void drip__arena_free(void *p, size_t size)
{
    if (!p)
        return;
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << MAX_SHIFT)) {
        munmap(p, page_round(size));
        atomic_fetch_sub_explicit(&A.mapped, page_round(size), memory_order_relaxed);
        return;
    }
    unsigned c = class_of(size);
    pthread_mutex_lock(&A.lock);
    ((struct free_block *)p)->next = A.free[c];
    A.free[c] = p;
    pthread_mutex_unlock(&A.lock);
}

size_t drip__arena_mapped(void) { return atomic_load_explicit(&A.mapped, memory_order_relaxed); }

void drip__arena_lock_all(void) { pthread_mutex_lock(&A.lock); }
void drip__arena_unlock_all(void) { pthread_mutex_unlock(&A.lock); }
void drip__arena_child_reset(void) { pthread_mutex_init(&A.lock, NULL); }
