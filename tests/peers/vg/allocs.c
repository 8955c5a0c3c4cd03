/* allocs.c MODE — the allocator's answers that a program sees, which must be the same under drip
 * as without it (memcheck's malloc_usable, memalign_test, memalign2, posix_memalign,
 * aligned_alloc, realloc1-3, calloc-overflow, mallinfo/mallinfo2 and malloc_free_fill scenarios,
 * written for drip). Each mode prints every answer (NULL or not, alignment, errno, sizes), so the
 * driver compares the output with the plain run's; the blocks a mode keeps or loses are its leak
 * figures, compared with valgrind's where valgrind's allocator answers as glibc's does.
 *   memalign   memalign / posix_memalign / aligned_alloc / valloc / pvalloc, good and bad
 *              alignments (0, 3, not a power of two), sizes 0 and huge
 *   hugealign  the three with an alignment of 2^62 (glibc: ENOMEM; valgrind 3.19 panics), and
 *              pvalloc (valgrind 3.19 aborts the program): compared with the plain run only
 *   realloc    realloc(NULL), grow, shrink, to 0, of a memalign block, failing huge (block kept),
 *              reallocarray overflow
 *   calloc     calloc overflow (n * size wraps), calloc(0, n), huge malloc, errno after each
 *   usable     malloc_usable_size of NULL, of small and large blocks, after realloc
 *   mallinfo   mallinfo2 before and after 100 blocks and their frees (arena figures)
 *   fill       a freed block's neighbour untouched; contents of a fresh calloc block zero
 * Leaks every mode leaves: one lost 33-byte block and one 44-byte block kept by a global. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *kept;

/* glibc rounds an alignment that is not a power of two up to one: check against that, so the
 * answer does not depend on where the block landed */
static size_t pow2(size_t a)
{
    size_t p = 1;
    while (p < a && p)
        p <<= 1;
    return p ? p : a;
}

static void show(const char *what, void *p, size_t align)
{
    align = pow2(align);
    int e = errno;
    if (!p)
        printf("%-28s NULL errno=%d\n", what, e);
    else
        printf("%-28s ok aligned=%d\n", what, align ? (int)((uintptr_t)p % align == 0) : 1);
}

static void rc(const char *what, int r, void *p, size_t align)
{
    align = pow2(align);
    printf("%-28s rc=%d %s aligned=%d\n", what, r, p ? "ptr" : "null", p && align ? (int)((uintptr_t)p % align == 0) : -1);
}

static void one_alignment(size_t a)
{
    char name[64];
    errno = 0;
    snprintf(name, sizeof name, "memalign(%zu, 100)", a);
    void *p = memalign(a, 100);
    show(name, p, a);
    free(p);
    errno = 0;
    void *q = (void *)0x1;
    snprintf(name, sizeof name, "posix_memalign(%zu, 100)", a);
    int r = posix_memalign(&q, a, 100);
    rc(name, r, r == 0 ? q : NULL, a);
    printf("  errno=%d out-untouched=%d\n", errno, r != 0 && q == (void *)0x1);
    if (r == 0)
        free(q);
    errno = 0;
    snprintf(name, sizeof name, "aligned_alloc(%zu, 128)", a);
    p = aligned_alloc(a, 128);
    show(name, p, a);
    free(p);
}

static void mode_memalign(void)
{
    size_t aligns[] = {0, 1, 3, 8, 16, 24, 64, 4096, 1u << 20};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++)
        one_alignment(aligns[i]);
    errno = 0;
    void *q = NULL;
    printf("posix_memalign(16, huge) rc=%d\n", posix_memalign(&q, 16, SIZE_MAX - 4096));
    void *p = memalign(64, 0);
    show("memalign(64, 0)", p, 64);
    free(p);
    p = valloc(10);
    show("valloc(10)", p, 4096);
    printf("  usable>=10: %d\n", malloc_usable_size(p) >= 10);
    free(p);
    errno = 0;
    p = valloc(SIZE_MAX - 100);
    show("valloc(huge)", p, 4096);
}

static void mode_realloc(void)
{
    char *p = realloc(NULL, 10);
    show("realloc(NULL, 10)", p, 16);
    strcpy(p, "abcdefghi");
    p = realloc(p, 100000);
    show("grow to 100000", p, 16);
    printf("  kept: %s\n", p);
    p = realloc(p, 5);
    show("shrink to 5", p, 16);
    printf("  kept: %.5s\n", p);
    errno = 0;
    char *q = realloc(p, SIZE_MAX - 64);
    show("realloc(p, huge)", q, 16);
    printf("  old still there: %.5s\n", p);
    errno = 0;
    q = realloc(p, 0);
    printf("realloc(p, 0) -> %s\n", q ? "ptr" : "NULL");
    free(q);
    char *m = memalign(256, 40);
    memset(m, 'm', 40);
    m = realloc(m, 4000);
    printf("realloc(memalign block) keeps: %d\n", m[39] == 'm');
    free(m);
    errno = 0;
    void *r = reallocarray(NULL, SIZE_MAX / 2, 3);
    show("reallocarray overflow", r, 16);
    r = reallocarray(NULL, 10, 10);
    show("reallocarray(10, 10)", r, 16);
    free(r);
    for (int i = 0; i < 200; i++) {
        char *g = NULL;
        for (size_t n = 1; n < 5000; n = n * 3 + 1)
            g = realloc(g, n);
        free(g);
    }
    printf("realloc loop done\n");
}

static void mode_calloc(void)
{
    errno = 0;
    void *p = calloc((size_t)1 << 33, (size_t)1 << 33);
    show("calloc(2^33, 2^33)", p, 16);
    errno = 0;
    p = calloc(SIZE_MAX / 2 + 2, 2);
    show("calloc(wraps to 2)", p, 16);
    errno = 0;
    p = calloc(0, 10);
    show("calloc(0, 10)", p, 16);
    free(p);
    errno = 0;
    p = malloc(SIZE_MAX - 10);
    show("malloc(huge)", p, 16);
    errno = 0;
    p = malloc(0);
    show("malloc(0)", p, 16);
    free(p);
    unsigned char *z = calloc(1000, 3);
    int zero = 1;
    for (int i = 0; i < 3000; i++)
        zero &= z[i] == 0;
    printf("calloc(1000, 3) zeroed: %d\n", zero);
    free(z);
}

static void mode_usable(void)
{
    printf("usable(NULL) = %zu\n", malloc_usable_size(NULL));
    size_t sizes[] = {0, 1, 8, 24, 25, 100, 1000, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = malloc(sizes[i]);
        printf("usable(malloc(%zu)) = %zu\n", sizes[i], malloc_usable_size(p));
        p = realloc(p, sizes[i] + 50);
        printf("  after realloc +50 = %zu\n", malloc_usable_size(p));
        free(p);
    }
}

static void mode_mallinfo(void)
{
    struct mallinfo2 a = mallinfo2();
    void *v[100];
    for (int i = 0; i < 100; i++)
        v[i] = malloc(100 + (size_t)i);
    struct mallinfo2 b = mallinfo2();
    for (int i = 0; i < 100; i++)
        free(v[i]);
    struct mallinfo2 c = mallinfo2();
    printf("in use grew by %zu, then fell by %zu\n", b.uordblks - a.uordblks, b.uordblks - c.uordblks);
    printf("arena %zu %zu %zu\n", a.arena, b.arena, c.arena);
    printf("blocks mmapped %zu %zu\n", a.hblks, b.hblks);
    struct mallinfo old = mallinfo();
    printf("mallinfo uordblks == mallinfo2: %d\n", (size_t)old.uordblks == c.uordblks);
}

static void mode_fill(void)
{
    unsigned char *a = malloc(64), *b = malloc(64);
    memset(a, 0xaa, 64);
    memset(b, 0xbb, 64);
    free(a);
    int same = 1;
    for (int i = 0; i < 64; i++)
        same &= b[i] == 0xbb;
    printf("neighbour untouched by free: %d\n", same);
    free(b);
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "memalign"))
        mode_memalign();
    else if (!strcmp(m, "hugealign")) {
        one_alignment((size_t)1 << 62);
        void *p = pvalloc(10);
        show("pvalloc(10)", p, 4096);
        free(p);
    }
    else if (!strcmp(m, "realloc"))
        mode_realloc();
    else if (!strcmp(m, "calloc"))
        mode_calloc();
    else if (!strcmp(m, "usable"))
        mode_usable();
    else if (!strcmp(m, "mallinfo"))
        mode_mallinfo();
    else if (!strcmp(m, "fill"))
        mode_fill();
    else {
        fprintf(stderr, "usage: allocs memalign|realloc|calloc|usable|mallinfo|fill\n");
        return 2;
    }
    char *volatile lost = malloc(33);
    lost[0] = 0;
    lost = NULL;
    kept = malloc(44);
    return 0;
}
