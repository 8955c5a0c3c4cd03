/* static_malloc.c — a program that defines malloc and free over a 10,000-byte static buffer and
 * nothing else (no calloc, no realloc), as valgrind's memcheck/tests/static_malloc.c does. It
 * must run under drip exactly as without it (drip used to abort it with "realloc(): invalid
 * pointer": its own exit work mixed this malloc with libc's realloc), and drip must say in one
 * line that it cannot see these blocks. Prints what it allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char buf[10000];
static size_t used;

void *malloc(size_t n)
{
    if (used + n >= sizeof buf) {
        fprintf(stderr, "Failed to allocate %lu\n", (unsigned long)n);
        abort();
    }
    used += (n + 15) & ~(size_t)15;
    return buf + used - ((n + 15) & ~(size_t)15);
}

void free(void *p) { (void)p; }

int main(void)
{
    char *p = malloc(10);
    p = malloc(123);
    strcpy(p, "hello");
    printf("%s: %zu bytes of the static buffer used\n", p, used);
    free(p);
    return 0;
}
