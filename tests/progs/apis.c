/* apis.c — every allocation entry point, and what the program can observe of each: results,
 * errno, alignment, malloc_usable_size, failure behaviour. Prints one line per check (the test
 * compares the output with and without drip), and leaks exactly one block per entry point:
 *   malloc 11, calloc 3x7=21, realloc 33 (grown from 5), reallocarray 4x11=44, posix_memalign 55,
 *   aligned_alloc 64, memalign 77, valloc 88, pvalloc 99, strdup 6 ("drip!"), asprintf 3 ("abc")
 *   = 501 bytes in 11 blocks, all definitely lost. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile sink;

static void lose(void *p) { sink = p; sink = NULL; }

int main(void)
{
    char *p;
    void *q;
    lose(malloc(11));
    lose(calloc(3, 7));
    p = malloc(5);
    lose(realloc(p, 33));
    lose(reallocarray(NULL, 4, 11));
    printf("posix_memalign rc=%d\n", posix_memalign(&q, 64, 55));
    printf("aligned=%d\n", (int)((uintptr_t)q % 64 == 0));
    lose(q);
    q = aligned_alloc(64, 64);
    printf("aligned_alloc aligned=%d\n", (int)((uintptr_t)q % 64 == 0));
    lose(q);
    q = memalign(256, 77);
    printf("memalign aligned=%d\n", (int)((uintptr_t)q % 256 == 0));
    lose(q);
    q = valloc(88);
    printf("valloc aligned=%d\n", (int)((uintptr_t)q % 4096 == 0));
    lose(q);
    q = pvalloc(99);
    printf("pvalloc usable>=4096: %d\n", (int)(malloc_usable_size(q) >= 4096));
    lose(q);
    lose(strdup("drip!"));
    if (asprintf(&p, "%s", "abc") == 3)
        lose(p);

    /* observable behaviour, none of it leaking */
    free(NULL);
    errno = 1234;
    p = malloc(10);
    free(p);
    printf("errno kept across malloc+free: %d\n", errno);
    p = malloc(100);
    printf("usable>=100: %d\n", (int)(malloc_usable_size(p) >= 100));
    p = realloc(p, 0);
    printf("realloc(p,0) = %s\n", p ? "non-null" : "NULL");
    free(p);
    errno = 0;
    p = malloc(SIZE_MAX / 2);
    printf("huge malloc: %s errno=%s\n", p ? "non-null" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
    errno = 0;
    p = calloc(SIZE_MAX / 2, 4);
    printf("overflowing calloc: %s errno=%s\n", p ? "non-null" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
    errno = 0;
    p = reallocarray(NULL, SIZE_MAX / 2, 4);
    printf("overflowing reallocarray: %s errno=%s\n", p ? "non-null" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
    p = malloc(8);
    char *r = realloc(p, SIZE_MAX / 2);
    printf("failed realloc keeps block: %s\n", r ? "no" : "yes");
    free(p);
    printf("posix_memalign(3) = %d (EINVAL=%d)\n", posix_memalign(&q, 3, 8), EINVAL);
    char *line = NULL;
    size_t cap = 0;
    FILE *f = fmemopen("one line\n", 9, "r");
    ssize_t n = getline(&line, &cap, f);
    printf("getline read %zd\n", n);
    free(line);
    fclose(f);
    fflush(stdout);
    setvbuf(stdout, NULL, _IONBF, 0);
    return 0;
}
