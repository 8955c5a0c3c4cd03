/* ownmalloc.c — a program that is its own allocator: it defines malloc, free, calloc, realloc
 * (and malloc_usable_size) over a bump allocator on a 64 MiB static arena; free does nothing.
 * The executable's definitions come before any preloaded library's, so libc, the program and
 * libdrip.so's own RTLD_NEXT lookups all meet them. Uses stdio, strdup, qsort, a thread.
 * Prints what it did; the output must be the same with and without drip. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(16) unsigned char arena[64 << 20];
static size_t used;
static unsigned long calls;

static void *bump(size_t n)
{
    size_t need = ((n ? n : 1) + 16 + 15) & ~(size_t)15;
    size_t at = __atomic_fetch_add(&used, need, __ATOMIC_RELAXED);
    if (at + need > sizeof arena) {
        errno = ENOMEM;
        return NULL;
    }
    __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    *(size_t *)(arena + at) = n;
    return arena + at + 16;
}

void *malloc(size_t n) { return bump(n); }
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = bump(n);
    if (p)
        memset(p, 0, n);   /* the arena is reused by nobody, but be honest */
    return p;
}
void *realloc(void *old, size_t n)
{
    void *p = bump(n);
    if (p && old) {
        size_t had = ((size_t *)old)[-2];
        memcpy(p, old, had < n ? had : n);
    }
    return p;
}
size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-2] : 0; }

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void *worker(void *arg)
{
    char *s = malloc(64);
    snprintf(s, 64, "thread %d", *(int *)arg);
    return s;
}

int main(void)
{
    char *words[100];
    for (int i = 0; i < 100; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "w%03d", (i * 37) % 100);
        words[i] = strdup(buf);
    }
    qsort(words, 100, sizeof words[0], cmp);
    int arg = 5;
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, worker, &arg);
    pthread_join(t, &ret);
    char *big = realloc(NULL, 1000);
    big = realloc(big, 100000);
    printf("first %s last %s %s; own allocator used: %s\n", words[0], words[99], (char *)ret,
           calls >= 103 ? "yes" : "no");
    return 0;
}
