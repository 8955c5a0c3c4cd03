/* arena.c — drip's own memory. Everything drip keeps inside the traced process (the live table,
 * stacks, snapshots) comes from here, never from libc's allocator, so a hook never re-enters
 * malloc and drip's data never shows up as the program's.
 *
 * All of it lies in one reserved range of address space (64 GiB, PROT_NONE until used; an eighth
 * of RLIMIT_AS at most under `ulimit -v`; halved until the kernel grants it), so the
 * reachability scan can tell drip's memory (which holds copies of every block address) from the
 * program's with one comparison, whatever mapping it sits next to.
 * Small requests (<= 64 KiB) come from power-of-two size classes carved out of 1 MiB chunks and
 * recycled on per-class free lists; larger ones take whole pages from the range and give them back
 * to the kernel (MADV_DONTNEED) when freed, keeping the range for a later request of the same size.
 * Fresh pages are zero; recycled blocks are zeroed again on reuse. During the exit report
 * (drip__arena_exiting) up to 8 MiB of large blocks freed are simply dropped, neither given back
 * nor reused: the process is about to end, and a MADV_DONTNEED costs more than the pages it
 * returns (each forked `$(echo)` subshell's scan frees a few such blocks).
 * Lock: `lock` guards the chunk cursor and the free lists (a leaf lock: nothing is called while
 * it is held but mmap).
 */
#include "internal.h"
#include "arena.h"
#include "lock.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

enum { MIN_SHIFT = 4, MAX_SHIFT = 16, CHUNK = 1 << 20 };
#define RESERVE ((size_t)64 << 30)
#define MIN_RESERVE ((size_t)64 << 20)

struct free_block { struct free_block *next; };
struct free_span { struct free_span *next; size_t size; };

static struct {
    pthread_mutex_t lock;
    char *base, *brk, *limit;                      /* the reserved range and its used prefix */
    char *cur, *end;                               /* the chunk being carved */
    struct free_block *free[MAX_SHIFT + 1];
    struct free_span *spans;                       /* large blocks given back, by exact size */
    _Atomic size_t mapped;                         /* bytes in use, for drip's own stats */
    _Atomic size_t drop;                           /* exit report: bytes of large frees to drop */
    atomic_int failed;                             /* a request was refused: records were lost */
} A = {.lock = PTHREAD_MUTEX_INITIALIZER};

void drip__arena_exiting(void) { atomic_store(&A.drop, (size_t)8 << 20); }

static unsigned class_of(size_t size)
{
    unsigned s = MIN_SHIFT;
    while (((size_t)1 << s) < size)
        s++;
    return s;
}

/* Takes `size` (page multiple) from the reserved range. Called with A.lock held. */
static void *map_locked(size_t size)
{
    DRIP_ASSERT_HELD(&A.lock);
    for (struct free_span **pp = &A.spans; *pp; pp = &(*pp)->next)
        if ((*pp)->size == size) {
            struct free_span *s = *pp;
            *pp = s->next;
            memset(s, 0, sizeof *s);   /* the rest of the span is zero since MADV_DONTNEED */
            atomic_fetch_add_explicit(&A.mapped, size, memory_order_relaxed);
            return s;
        }
    if (!A.base) {
        /* a smaller range when the 64 GiB is refused (valgrind's address space). Under
         * `ulimit -v` the reservation counts against the program's own limit: a quarter of it
         * at most, and down to 64 MiB (the live table takes 16 MiB of address space per 512 MiB
         * of the program's), so that a program near its limit fails no sooner than it must */
        size_t want = RESERVE;
        struct rlimit as;
        if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
            while (want > MIN_RESERVE && want > as.rlim_cur / 4)
                want /= 2;
        void *p = MAP_FAILED;
        for (; want >= MIN_RESERVE && size <= want; want /= 2)
            if ((p = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) != MAP_FAILED)
                break;
        if (p == MAP_FAILED) {
            atomic_store_explicit(&A.failed, 1, memory_order_relaxed);
            return NULL;
        }
        A.base = A.brk = p;
        A.limit = A.base + want;
    }
    if ((size_t)(A.limit - A.brk) < size || mprotect(A.brk, size, PROT_READ | PROT_WRITE) != 0) {
        atomic_store_explicit(&A.failed, 1, memory_order_relaxed);
        return NULL;
    }
    void *p = A.brk;
    A.brk += size;
    atomic_fetch_add_explicit(&A.mapped, size, memory_order_relaxed);
    return p;
}

bool drip__arena_failed(void) { return atomic_load_explicit(&A.failed, memory_order_relaxed) != 0; }

bool drip__arena_contains(uintptr_t p)
{
    return p >= (uintptr_t)A.base && p < (uintptr_t)A.limit;
}

void drip__arena_range(uintptr_t *lo, uintptr_t *hi)
{
    *lo = (uintptr_t)A.base;
    *hi = (uintptr_t)A.limit;
}

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }

void *drip__arena_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << MAX_SHIFT)) {
        pthread_mutex_lock(&A.lock);
        void *p = map_locked(page_round(size));
        pthread_mutex_unlock(&A.lock);
        return p;
    }
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
    /* blocks of 64 bytes or more start on a cache line (structures rely on _Alignas(64)) */
    size_t align = bsize < 64 ? bsize : 64;
    A.cur = (char *)(((uintptr_t)A.cur + align - 1) & ~(uintptr_t)(align - 1));
    if (!A.cur || (uintptr_t)A.cur + bsize > (uintptr_t)A.end) {
        char *chunk = map_locked(CHUNK);
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
        size_t n = page_round(size);
        atomic_fetch_sub_explicit(&A.mapped, n, memory_order_relaxed);
        size_t d = atomic_load(&A.drop);
        while (d >= n && !atomic_compare_exchange_weak(&A.drop, &d, d - n))
            ;
        if (d >= n)
            return;   /* dropped: its pages stay as they are until the process ends */
        madvise(p, n, MADV_DONTNEED);
        pthread_mutex_lock(&A.lock);
        struct free_span *s = p;
        s->size = n;
        s->next = A.spans;
        A.spans = s;
        pthread_mutex_unlock(&A.lock);
        return;
    }
    unsigned c = class_of(size);
    pthread_mutex_lock(&A.lock);
    ((struct free_block *)p)->next = A.free[c];
    A.free[c] = p;
    pthread_mutex_unlock(&A.lock);
}

/* The program lowered its address-space limit below what the process already has (setrlimit,
 * prlimit: interpose.c). The kernel counts the reservation's unused part against it too, PROT_NONE
 * as it is, so after `ulimit -v` in a shell, or a program's own RLIMIT_AS, every later mmap or brk
 * of the program's would fail. The
 * reservation is cut to what is in use plus a quarter of the new limit (the share it takes at
 * start under such a limit) and the rest unmapped. drip's memory stays in [base, limit), so
 * drip__arena_contains still tells it apart; a limit raised again later does not grow it back. */
void drip__arena_fit(uint64_t limit)
{
    pthread_mutex_lock(&A.lock);
    if (A.base) {
        size_t keep = (size_t)(limit / 4) & ~(size_t)4095;
        if ((size_t)(A.limit - A.brk) > keep) {
            char *cut = A.brk + keep;
            if (munmap(cut, (size_t)(A.limit - cut)) == 0)
                A.limit = cut;
        }
    }
    pthread_mutex_unlock(&A.lock);
}

size_t drip__arena_mapped(void) { return atomic_load_explicit(&A.mapped, memory_order_relaxed); }

void drip__arena_lock_all(void) { pthread_mutex_lock(&A.lock); }
void drip__arena_unlock_all(void) { pthread_mutex_unlock(&A.lock); }
void drip__arena_child_reset(void) { pthread_mutex_init(&A.lock, NULL); }

bool drip__arena_grow(void *pp, size_t *cap, size_t n, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : first;
    while (nc < need)
        nc *= 2;
    void **p = pp, *np = drip__arena_alloc(nc * elem);
    if (!np)
        return false;
    if (*p)
        memcpy(np, *p, n * elem);
    drip__arena_free(*p, *cap * elem);
    *p = np;
    *cap = nc;
    return true;
}
