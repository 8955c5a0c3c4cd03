/* nofde.c — allocations made by a function that has no FDE (hand-written assembly without CFI
 * directives), so drip's own walkers give up at its frame and libunwind, loaded on that first
 * need (unwind_lu.c), takes the stack. Prints whether libunwind is mapped in the process.
 *   nofde none      no such allocation: libunwind must stay out of the process
 *   nofde main      one 48-byte leak from asm_alloc called by main
 *   nofde threads   4 threads at once, 56 bytes each: the first need of libunwind is raced */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* push %rbp / mov %rsp,%rbp keeps a frame libunwind's fallback can read; no .cfi_* directives,
 * so .eh_frame has no FDE for it */
__asm__(".text\n"
        ".globl asm_alloc\n"
        ".type asm_alloc, @function\n"
        "asm_alloc:\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  call malloc@PLT\n"
        "  pop %rbp\n"
        "  ret\n"
        ".size asm_alloc, .-asm_alloc\n");
void *asm_alloc(size_t n);

void *volatile sink;
static pthread_barrier_t go;

static int libunwind_mapped(void)
{
    char line[512];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, "/libunwind.so") != NULL;
    if (f)
        fclose(f);
    return found;
}

__attribute__((noinline)) static void *worker(void *arg)
{
    pthread_barrier_wait(&go);
    sink = asm_alloc(56);
    sink = NULL;
    return arg;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "none";
    if (!strcmp(mode, "main")) {
        sink = asm_alloc(48);
        sink = NULL;
    } else if (!strcmp(mode, "threads")) {
        pthread_t t[4];
        pthread_barrier_init(&go, NULL, 4);
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    printf("libunwind=%d\n", libunwind_mapped());
    return 0;
}
