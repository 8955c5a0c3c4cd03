/* A program that defines malloc, free, calloc and realloc itself, as a counting shim over glibc's
 * second names (__libc_malloc and its kin): drip's hooks for malloc never run in it (its own
 * definitions come first in symbol lookup), the ones for __libc_malloc do, as valgrind's
 * replacements in libc do. Leaks 100 bytes (malloc), 6 (strdup, which libc serves through the
 * program's malloc), 100 (calloc) and 300 (a realloc that grew a block): 506 bytes in 4 blocks,
 * definitely lost; one block is freed. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static unsigned long calls;

void *malloc(size_t n) { calls++; return __libc_malloc(n); }
void free(void *p) { calls++; __libc_free(p); }
void *calloc(size_t n, size_t size) { calls++; return __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { calls++; return __libc_realloc(p, n); }

void *volatile sink;

int main(void)
{
    char *a = malloc(100);
    strcpy(a, "lost");
    sink = strdup("leak2");
    sink = calloc(4, 25);
    char *b = malloc(50);
    memset(b, 1, 50);
    sink = realloc(b, 300);
    char *c = malloc(70);
    free(c);
    sink = NULL;
    a = NULL;
    printf("shim: %s\n", calls > 6 ? "called" : "not called");
    return 0;
}
