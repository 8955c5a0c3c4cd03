/* alloc_bench.c — an allocation-heavy workload for comparing leak trackers' run-time cost.
 *
 * Shaped like a real program rather than an allocator microbenchmark:
 *  - N threads (default 4), each with its own slot array of live blocks (default 16384 slots,
 *    about 55% occupied in steady state, so ~36k live blocks over 4 threads);
 *  - sizes 16 B .. 1 MiB, log-distributed and mostly small (P(size class 2^k..2^(k+1)) ~ 0.6^k,
 *    about half of all requests are under 64 B, about 1 in 10000 is over 512 KiB);
 *  - malloc (~7/8 of new blocks), calloc (~1/8), realloc (~19% of ops on a live block), free;
 *  - every allocation and realloc happens at the bottom of a call chain 8-20 frames deep that
 *    goes through one of 4 call sites per level; a table of --sites (default 160) routes, chosen
 *    with a skewed (hot/cold) distribution, gives that many distinct allocation stacks;
 *  - every block is written after it is allocated (fully up to 4 KiB, one word per page above)
 *    and read before it is freed, and the reads feed the checksum;
 *  - deterministic: seeded PRNG per thread; the checksum does not depend on scheduling;
 *  - at exit 1 in --leak-every (default 64) live blocks is dropped without free (~560 leaks),
 *    so a leak checker has a report to write.
 *
 * Build: cc -O2 -g [-fno-omit-frame-pointer | -fomit-frame-pointer] -pthread alloc_bench.c
 * Usage: alloc_bench [--threads N] [--iters N] [--quick] [--seed S] [--slots N] [--sites N]
 *                    [--leak-every N]
 * --iters is per thread; --quick divides it by 10 (for valgrind-class slowdowns).
 * Prints one line: parameters and the checksum.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZE_CLASS 16          /* classes 0..16: 16 B << k, so up to 1 MiB */
#define MAX_BLOCK (1u << 20)
#define MIN_DEPTH 8
#define MAX_DEPTH 20

static unsigned long opt_threads = 4;
static unsigned long opt_iters = 5000000;   /* per thread; ~1.3 s wall on 2 cores, no tool */
static unsigned long opt_seed = 42;
static unsigned long opt_slots = 16384;     /* per thread */
static unsigned long opt_sites = 160;
static unsigned long opt_leak_every = 64;

/* ---- PRNG ----------------------------------------------------------------------------------- */
static inline uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct rng { uint64_t s; };
static inline uint64_t rnd(struct rng *r)
{
    /* xorshift64* */
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ---- the allocation sites ------------------------------------------------------------------- */
struct site {
    uint64_t route;   /* 2 bits a level: which of the 4 call sites each level takes */
    int depth;        /* levels below the dispatcher: MIN_DEPTH..MAX_DEPTH */
};
static struct site *sites;

enum op { OP_MALLOC, OP_CALLOC, OP_REALLOC };

struct work {
    struct rng rng;
    uint64_t route;
    uint64_t acc;      /* folded into the checksum; also keeps the chain's call sites distinct */
    uint64_t sum;      /* checksum of block contents */
    enum op op;
    size_t size;
    void *old;         /* OP_REALLOC: the block to resize; old_size its size */
    size_t old_size;
    void *result;
    uint64_t tag;      /* value written into the block's first word */
};

static size_t rand_size(struct rng *r)
{
    /* size class k with probability ~0.4 * 0.6^k, then uniform inside [16<<k, 32<<k) */
    int k = 0;
    while (k < MAX_SIZE_CLASS && (rnd(r) >> 32) < 2576980377u)   /* 0.6 * 2^32 */
        k++;
    size_t lo = (size_t)16 << k;
    size_t sz = lo + (rnd(r) >> 20) % lo;
    return sz > MAX_BLOCK ? MAX_BLOCK : sz;
}

/* Writes into [from, to) of p: every byte up to 4 KiB, then one word per 4 KiB page, and the
 * last 8 bytes. */
static void touch(unsigned char *p, size_t from, size_t to, uint64_t tag)
{
    if (to <= from)
        return;
    size_t full = to - from > 4096 ? 4096 : to - from;
    memset(p + from, (int)(tag & 0xff), full);
    for (size_t off = from + full; off + 8 <= to; off += 4096)
        memcpy(p + off, &tag, 8);
    if (to - from >= 8)
        memcpy(p + to - 8, &tag, 8);
}

static uint64_t readback(const unsigned char *p, size_t size)
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + size - 8, 8);
    return a * 31 + b + size;
}

/* The bottom of every chain: the only place that allocates (free happens in the worker). */
__attribute__((noinline)) static void leaf(struct work *w)
{
    unsigned char *p;
    switch (w->op) {
    case OP_MALLOC:
        p = malloc(w->size);
        if (!p)
            abort();
        touch(p, 0, w->size, w->tag);
        break;
    case OP_CALLOC:
        p = calloc(1, w->size);
        if (!p)
            abort();
        w->sum += p[w->size / 2];   /* must be 0 */
        touch(p, 0, w->size < 64 ? w->size : 64, w->tag);
        if (w->size > 64)
            touch(p, w->size - 8, w->size, w->tag);
        break;
    default:
        p = realloc(w->old, w->size);
        if (!p)
            abort();
        {
            uint64_t head;   /* the first word is always written; the rest may not be */
            memcpy(&head, p, 8);
            w->sum += head;
        }
        if (w->size > w->old_size)
            touch(p, w->old_size, w->size, w->tag);
        memcpy(p, &w->tag, 8);
        if (w->size < w->old_size)
            memcpy(p + w->size - 8, &w->tag, 8);
        break;
    }
    memcpy(p, &w->tag, 8);
    w->result = p;
}

/* Eight levels, each with four call sites into the next level (the route picks one). The
 * distinct constant added after each call keeps the compiler from merging the four calls into
 * one (cross-jumping) and from turning them into tail calls, so every route is its own stack. */
#define LEVEL_DECL(n) static void *lvl##n(struct work *w, int depth);
#define LEVEL(n, next)                                                                           \
    __attribute__((noinline)) static void *lvl##n(struct work *w, int depth)                     \
    {                                                                                            \
        if (depth == 0) {                                                                        \
            leaf(w);                                                                             \
            w->acc += n;                                                                         \
            return w->result;                                                                    \
        }                                                                                        \
        void *r;                                                                                 \
        switch ((w->route >> (2 * depth)) & 3) {                                                 \
        case 0: r = next(w, depth - 1); w->acc += 4 * n + 1; break;                              \
        case 1: r = next(w, depth - 1); w->acc ^= 4 * n + 2; break;                              \
        case 2: r = next(w, depth - 1); w->acc *= 4 * n + 3; break;                              \
        default: r = next(w, depth - 1); w->acc -= 4 * n + 4; break;                             \
        }                                                                                        \
        __asm__ volatile("" : : "r"(r) : "memory");                                              \
        return r;                                                                                \
    }
LEVEL_DECL(0) LEVEL_DECL(1) LEVEL_DECL(2) LEVEL_DECL(3)
LEVEL_DECL(4) LEVEL_DECL(5) LEVEL_DECL(6) LEVEL_DECL(7)
LEVEL(0, lvl1) LEVEL(1, lvl2) LEVEL(2, lvl3) LEVEL(3, lvl4)
LEVEL(4, lvl5) LEVEL(5, lvl6) LEVEL(6, lvl7) LEVEL(7, lvl0)

/* Entry into a chain; the low route bits pick which level it starts at. */
__attribute__((noinline)) static void *dispatch(struct work *w, const struct site *s)
{
    w->route = s->route;
    void *r;
    switch (s->route & 7) {
    case 0: r = lvl0(w, s->depth); break;
    case 1: r = lvl1(w, s->depth); break;
    case 2: r = lvl2(w, s->depth); break;
    case 3: r = lvl3(w, s->depth); break;
    case 4: r = lvl4(w, s->depth); break;
    case 5: r = lvl5(w, s->depth); break;
    case 6: r = lvl6(w, s->depth); break;
    default: r = lvl7(w, s->depth); break;
    }
    __asm__ volatile("" : : "r"(r) : "memory");
    return r;
}

/* Skewed choice of site: density ~ 1/sqrt(x), so the low-numbered sites are hot and every site
 * is still used. */
static const struct site *pick_site(struct rng *r)
{
    uint64_t u = (rnd(r) >> 40) & 1023;
    return &sites[(u * u * opt_sites) >> 20];
}

struct slot { void *p; size_t size; };

struct thread_arg {
    unsigned long id;
    uint64_t checksum;
    unsigned long allocs, frees, reallocs;
};

static void *worker(void *argp)
{
    struct thread_arg *arg = argp;
    struct work w = {0};
    uint64_t seed = opt_seed * 1000003u + arg->id + 1;
    w.rng.s = splitmix64(&seed) | 1;
    struct slot *slots = calloc(opt_slots, sizeof *slots);
    if (!slots)
        abort();
    for (unsigned long i = 0; i < opt_iters; i++) {
        uint64_t x = rnd(&w.rng);
        struct slot *sl = &slots[(x >> 16) % opt_slots];
        w.tag = x ^ i;
        if (!sl->p) {
            w.op = (x & 7) == 0 ? OP_CALLOC : OP_MALLOC;
            w.size = rand_size(&w.rng);
            sl->p = dispatch(&w, pick_site(&w.rng));
            sl->size = w.size;
            arg->allocs++;
        } else if (((x >> 8) & 15) < 3) {
            w.op = OP_REALLOC;
            w.old = sl->p;
            w.old_size = sl->size;
            if ((x >> 12) & 1) {
                w.size = rand_size(&w.rng);
            } else {
                w.size = sl->size * 2;
                if (w.size > MAX_BLOCK)
                    w.size = sl->size / 2;
            }
            sl->p = dispatch(&w, pick_site(&w.rng));
            sl->size = w.size;
            arg->reallocs++;
        } else {
            w.sum += readback(sl->p, sl->size);
            free(sl->p);
            sl->p = NULL;
            arg->frees++;
        }
    }
    for (unsigned long j = 0; j < opt_slots; j++) {
        if (!slots[j].p)
            continue;
        w.sum += readback(slots[j].p, slots[j].size);
        if (opt_leak_every && j % opt_leak_every == 0)
            continue;   /* leaked on purpose: the only pointer goes away with `slots` */
        free(slots[j].p);
    }
    free(slots);
    arg->checksum = w.sum * 0x9e3779b97f4a7c15ull + w.acc;
    return NULL;
}

static unsigned long num_arg(const char *name, const char *v)
{
    char *end;
    if (!v)
        goto bad;
    unsigned long n = strtoul(v, &end, 0);
    if (*end || end == v)
        goto bad;
    return n;
bad:
    fprintf(stderr, "alloc_bench: %s needs a number\n", name);
    exit(2);
}

int main(int argc, char **argv)
{
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--threads"))
            opt_threads = num_arg(a, argv[++i]);
        else if (!strcmp(a, "--iters"))
            opt_iters = num_arg(a, argv[++i]);
        else if (!strcmp(a, "--seed"))
            opt_seed = num_arg(a, argv[++i]);
        else if (!strcmp(a, "--slots"))
            opt_slots = num_arg(a, argv[++i]);
        else if (!strcmp(a, "--sites"))
            opt_sites = num_arg(a, argv[++i]);
        else if (!strcmp(a, "--leak-every"))
            opt_leak_every = num_arg(a, argv[++i]);
        else if (!strcmp(a, "--quick"))
            quick = 1;
        else {
            fprintf(stderr,
                    "usage: alloc_bench [--threads N] [--iters N] [--quick] [--seed S] "
                    "[--slots N] [--sites N] [--leak-every N]\n");
            return 2;
        }
    }
    if (quick)
        opt_iters /= 10;
    if (opt_threads < 1 || opt_threads > 256 || opt_slots < 1 || opt_sites < 1) {
        fprintf(stderr, "alloc_bench: threads must be 1-256, slots and sites at least 1\n");
        return 2;
    }

    uint64_t s = opt_seed;
    sites = malloc(opt_sites * sizeof *sites);
    if (!sites)
        abort();
    for (unsigned long i = 0; i < opt_sites; i++) {
        uint64_t x = splitmix64(&s);
        sites[i].route = x;
        sites[i].depth = MIN_DEPTH - 1 + (int)((x >> 50) % (MAX_DEPTH - MIN_DEPTH + 1));
    }

    pthread_t *tids = malloc(opt_threads * sizeof *tids);
    struct thread_arg *args = calloc(opt_threads, sizeof *args);
    if (!tids || !args)
        abort();
    for (unsigned long t = 0; t < opt_threads; t++) {
        args[t].id = t;
        if (pthread_create(&tids[t], NULL, worker, &args[t])) {
            fprintf(stderr, "alloc_bench: pthread_create failed\n");
            return 1;
        }
    }
    uint64_t checksum = 0;
    unsigned long allocs = 0, frees = 0, reallocs = 0;
    for (unsigned long t = 0; t < opt_threads; t++) {
        pthread_join(tids[t], NULL);
        checksum = checksum * 1099511628211ull ^ args[t].checksum;
        allocs += args[t].allocs;
        frees += args[t].frees;
        reallocs += args[t].reallocs;
    }
    printf("alloc_bench: threads=%lu iters=%lu slots=%lu sites=%lu seed=%lu allocs=%lu "
           "reallocs=%lu frees=%lu checksum=%016llx\n",
           opt_threads, opt_iters, opt_slots, opt_sites, opt_seed, allocs, reallocs, frees,
           (unsigned long long)checksum);
    free(tids);
    free(args);
    free(sites);
    return 0;
}
