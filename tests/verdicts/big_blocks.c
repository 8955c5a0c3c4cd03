/* big_blocks.c — the shapes the exit scan's in-place index and chunked marking must get right
 * (scan_index.c, scan_mark.c), against valgrind:
 *   - an array of 20,000 pointers (160 KB: read in 64 KiB chunks): the 10,000 small blocks it
 *     still points at are reachable, the 10,000 it forgot are definitely lost;
 *   - a 1 MiB block (mmapped on its own: inside a mapping that is otherwise a root candidate)
 *     whose only pointer to a small block lies 800,000 bytes in: reachable;
 *   - a 300,000-byte block held only by a pointer into its middle (the 2 KiB spans before that
 *     pointer hold no block start): possibly lost;
 *   - a lost list of four 5,000-byte nodes (each longer than two spans): 1 definite, 3 indirect;
 *   - 4,000 blocks of 40 and 24 bytes by turns, every fourth one freed (the live map then keeps
 *     each span's records from an offset into its leaf): 3,000 reachable, 88,000 bytes, and
 *     their 32,000-byte array.
 * Expected: reachable 1,568,616 bytes in 13,004 blocks; definite 245,000 in 10,001; indirect
 * 15,000 in 3; possible 300,000 in 1. */
#include <stdlib.h>
#include <string.h>

enum { N = 20000, K = 4000 };
void **arr, **keep;
void **big;
char *mid;

__attribute__((noinline)) static void fill(void)
{
    arr = malloc(N * sizeof *arr);
    for (int i = 0; i < N; i++)
        arr[i] = calloc(1, 24);
    for (int i = 1; i < N; i += 2)
        arr[i] = NULL;   /* lost */
}

__attribute__((noinline)) static void lost_list(void)
{
    void *head = NULL;
    for (int i = 0; i < 4; i++) {
        void **n = calloc(1, 5000);
        n[0] = head;
        head = n;
    }
    memset(&head, 0, sizeof head);
}

__attribute__((noinline)) static void scrub(void)
{
    volatile char pad[4096];   /* the dead frames above held the lost pointers */
    memset((char *)pad, 0, sizeof pad);
}

__attribute__((noinline)) static void fill_keep(void)
{
    keep = malloc(K * sizeof *keep);
    for (int i = 0; i < K; i++)
        keep[i] = calloc(1, (i & 1) ? 24 : 40);
    for (int i = 0; i < K; i += 4) {
        free(keep[i]);
        keep[i] = NULL;
    }
}

int main(void)
{
    fill();
    fill_keep();
    big = calloc(1, 1 << 20);
    big[100000] = calloc(1, 40);
    char *huge = calloc(1, 300000);
    mid = huge + 150000;
    huge = NULL;
    lost_list();
    scrub();
    return 0;
}
