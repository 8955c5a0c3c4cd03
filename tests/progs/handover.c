/* handover.c — blocks allocated inside a callback that libc's qsort calls. This program keeps
 * frame pointers and Debian's libc does not, so unwind=auto walks frame pointers down to the
 * first frame in qsort and hands the rest of the stack to the .eh_frame walker there (unwind.c).
 * The stacks it records must be the ones the .eh_frame walker (unwind=cfi) and libunwind find on
 * their own. One block of 77 bytes is lost from inside the comparison. */
#include <stdlib.h>
#include <string.h>

static int calls;

__attribute__((noinline)) static void leak_here(void)
{
    char *p = malloc(77);
    memset(p, 1, 77);
    p = NULL;   /* lost */
}

__attribute__((noinline)) static int compare(const void *a, const void *b)
{
    if (calls++ == 0)
        leak_here();
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    int v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i * 37) % 64;
    qsort(v, 64, sizeof v[0], compare);
    return v[0] == 0 && v[63] == 63 ? 0 : 1;
}
