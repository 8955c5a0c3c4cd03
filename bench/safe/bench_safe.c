/*
 * bench_safe.c - throughput of drip_lru and drip_ttlmap against a plain hash
 * map of the same design (the same internal drip__hmap, one allocation per
 * entry with the key inline, replace = allocate new + free old) without
 * recency list, expiry or eviction.  Each structure is compared with the
 * baseline of its own locking: the unlocked lru with the plain map, the
 * thread-safe lru and the ttlmap (always locked) with the plain map behind a
 * mutex.  One run measures all of them on the same keys.
 *
 *   bench_safe [entries] [gets]      defaults 200000 and 2000000
 *
 * Not a test: numbers depend on the machine and its load.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "drip/lru.h"
#include "drip/ttlmap.h"
#include "hmap.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the baseline: plain map, same node layout ---- */
struct pnode {
    void *value;
    struct drip__hnode h;   /* the key follows it */
    unsigned char key[];
};

struct plain {
    struct drip__hmap map;
    pthread_mutex_t mu;
    int locked;
};

static void plain_put(struct plain *p, const char *k, size_t kl, void *v)
{
    struct pnode *n = malloc(sizeof *n + kl);
    memcpy(n->key, k, kl);
    n->h.klen = kl;
    n->h.hash = drip__hash(k, kl);
    n->value = v;
    if (p->locked) pthread_mutex_lock(&p->mu);
    struct drip__hnode *old = drip__hmap_find(&p->map, k, kl, n->h.hash);
    if (old)
        drip__hmap_remove(&p->map, old);
    drip__hmap_insert(&p->map, &n->h);
    if (p->locked) pthread_mutex_unlock(&p->mu);
    free(DRIP__ENTRY_OF(old, struct pnode, h));
}

static int plain_get(struct plain *p, const char *k, size_t kl, void **v)
{
    uint64_t h = drip__hash(k, kl);
    if (p->locked) pthread_mutex_lock(&p->mu);
    struct pnode *n = DRIP__ENTRY_OF(drip__hmap_find(&p->map, k, kl, h), struct pnode, h);
    if (n)
        *v = n->value;
    if (p->locked) pthread_mutex_unlock(&p->mu);
    return n ? 0 : -1;
}

static void plain_free(struct plain *p)
{
    for (size_t i = 0; i <= p->map.mask; i++)
        for (struct drip__hnode *n = p->map.buckets[i], *next; n; n = next) {
            next = n->next;
            free(DRIP__ENTRY_OF(n, struct pnode, h));
        }
    drip__hmap_fini(&p->map);
}

/* ---- workload ---- */
static size_t N, G;
static char (*keys)[32];
static size_t *order;   /* random get sequence */

struct result { double put, get; };

typedef void *(*mk_fn)(int variant);
typedef void (*put_fn)(void *, const char *, size_t, void *);
typedef int (*get_fn)(void *, const char *, size_t, void **);
typedef void (*free_fn)(void *);

static struct result run(void *s, put_fn put, get_fn get)
{
    struct result r;
    double t0 = now_s();
    for (size_t i = 0; i < N; i++)
        put(s, keys[i], strlen(keys[i]), (void *)(i + 1));
    double t1 = now_s();
    size_t hits = 0;
    void *v;
    for (size_t i = 0; i < G; i++)
        hits += get(s, keys[order[i]], strlen(keys[order[i]]), &v) == 0;
    double t2 = now_s();
    if (hits != G)
        fprintf(stderr, "bench: only %zu/%zu hits\n", hits, G);
    r.put = N / (t1 - t0);
    r.get = G / (t2 - t1);
    return r;
}

static void p_put(void *s, const char *k, size_t kl, void *v) { plain_put(s, k, kl, v); }
static int p_get(void *s, const char *k, size_t kl, void **v) { return plain_get(s, k, kl, v); }
static void l_put(void *s, const char *k, size_t kl, void *v) { drip_lru_put(s, k, kl, v, 1, 0); }
static void l_put_ttl(void *s, const char *k, size_t kl, void *v) { drip_lru_put(s, k, kl, v, 1, 3600000000000ULL); }
static int l_get(void *s, const char *k, size_t kl, void **v) { return drip_lru_get(s, k, kl, v); }
static void t_put(void *s, const char *k, size_t kl, void *v) { drip_ttlmap_set(s, k, kl, v, 0); }
static int t_get(void *s, const char *k, size_t kl, void **v) { return drip_ttlmap_get(s, k, kl, v); }

/* ---- the structures, each created, filled, read and destroyed per round ---- */
enum { PLAIN, PLAIN_MU, LRU, LRU_SC, LRU_TS, LRU_TS_SC, LRU_TS_TTL, LRU_TS_SC_TTL, TTLMAP, TTLMAP_SWEEP, NKINDS,
       ROUNDS = 5 };
static const struct {
    const char *name;
    int baseline;   /* compared with the plain map of the same locking */
} kinds[NKINDS] = {
    {"plain hmap (no lock)", PLAIN},
    {"plain hmap + mutex", PLAIN_MU},
    {"drip_lru (unlocked)", PLAIN},
    {"drip_lru (unlocked, second_chance)", PLAIN},
    {"drip_lru (thread_safe)", PLAIN_MU},
    {"drip_lru (thread_safe, second_chance)", PLAIN_MU},
    {"drip_lru (thread_safe, TTL)", PLAIN_MU},
    {"drip_lru (thread_safe, s_c, TTL)", PLAIN_MU},
    {"drip_ttlmap (no cleanup thread)", PLAIN_MU},
    {"drip_ttlmap (cleanup every 10ms)", PLAIN_MU},
};

static struct result measure(int kind)
{
    struct result r;
    if (kind == PLAIN || kind == PLAIN_MU) {
        struct plain p = {.locked = kind == PLAIN_MU};
        pthread_mutex_init(&p.mu, NULL);
        drip__hmap_init(&p.map, NULL, 1024);
        r = run(&p, p_put, p_get);
        plain_free(&p);
        pthread_mutex_destroy(&p.mu);
    } else if (kind >= LRU && kind <= LRU_TS_SC_TTL) {
        drip_lru_options lo = {.max_entries = N, .thread_safe = kind >= LRU_TS,
                               .second_chance = kind == LRU_SC || kind == LRU_TS_SC || kind == LRU_TS_SC_TTL};
        drip_lru *l = drip_lru_create(&lo);
        r = run(l, kind == LRU_TS_TTL || kind == LRU_TS_SC_TTL ? l_put_ttl : l_put, l_get);
        drip_lru_destroy(l);
    } else {
        drip_ttlmap_options to = {.ttl_ns = 3600000000000ULL};
        if (kind == TTLMAP_SWEEP)
            to.sweep_interval_ns = 10000000;   /* 10 ms, nothing due: measures contention */
        drip_ttlmap *m = drip_ttlmap_create(&to);
        r = run(m, t_put, t_get);
        drip_ttlmap_close(m);
    }
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, ROUNDS, sizeof *v, cmp_double);
    return v[ROUNDS / 2];
}

int main(int argc, char **argv)
{
    N = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    G = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000000;
    keys = malloc(N * sizeof *keys);
    order = malloc(G * sizeof *order);
    for (size_t i = 0; i < N; i++)
        snprintf(keys[i], sizeof keys[i], "key:%010zu", i);
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < G; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        order[i] = s % N;
    }
    /* Rounds run every structure in turn (so each meets the allocator in the state the others
     * left); the median of the rounds is reported. A first untimed round warms malloc's free
     * lists and the page cache. */
    static double put[NKINDS][ROUNDS], get[NKINDS][ROUNDS];
    for (int k = 0; k < NKINDS; k++)
        (void)measure(k);
    for (int round = 0; round < ROUNDS; round++)
        for (int k = 0; k < NKINDS; k++) {
            struct result r = measure(k);
            put[k][round] = r.put;
            get[k][round] = r.get;
        }
    double mput[NKINDS], mget[NKINDS];
    for (int k = 0; k < NKINDS; k++) {
        mput[k] = median(put[k]);
        mget[k] = median(get[k]);
    }
    printf("entries %zu, gets %zu, median of %d rounds (ops/s; ratio = baseline / this, higher = more overhead)\n",
           N, G, ROUNDS);
    printf("%-38s %12s %8s %12s %8s  %s\n", "structure", "put ops/s", "ratio", "get ops/s", "ratio", "baseline");
    for (int k = 0; k < NKINDS; k++) {
        int b = kinds[k].baseline;
        printf("%-38s %12.0f %7.2fx %12.0f %7.2fx  %s\n", kinds[k].name, mput[k], mput[b] / mput[k], mget[k],
               mget[b] / mget[k], kinds[b].name);
    }

    drip_lru_options lo = {.max_entries = N / 2};   /* every put past the half evicts */
    drip_lru *l = drip_lru_create(&lo);
    double t0 = now_s();
    for (size_t i = 0; i < N; i++)
        drip_lru_put(l, keys[i], strlen(keys[i]), (void *)(i + 1), 1, 0);
    double ev = N / (now_s() - t0);
    drip_lru_destroy(l);
    printf("%-38s %12.0f %7.2fx %21s  %s\n", "drip_lru put, evicting (cap N/2)", ev, mput[PLAIN] / ev, "",
           kinds[PLAIN].name);

    free(keys);
    free(order);
    return 0;
}
