/* wild_rbp.c — malloc called while %rbp holds -16, as in Debian's python3 (Py_FinalizeEx, built
 * without frame pointers, keeps an integer in %rbp). unwind=fp follows the %rbp chain from the
 * hook: its next frame is at 2^64 - 16, whose end (f + 16) wraps to 0 and passed the bounds test,
 * so the walk read it and the program died of SIGSEGV (verdict: every block the program had not
 * freed yet). The program keeps one 40-byte block (reachable) and loses one 24-byte block. */
#include <stdint.h>
#include <stdlib.h>

void *call_with_rbp(size_t n, uintptr_t rbp);
#if defined(__x86_64__)
/* push %rbp leaves %rsp 16-byte aligned for the call (it was 8 off at entry) */
__asm__(".text\n.globl call_with_rbp\n.type call_with_rbp,@function\ncall_with_rbp:\n"
        "  push %rbp\n  mov %rsi, %rbp\n  call malloc@PLT\n  pop %rbp\n  ret\n"
        ".size call_with_rbp, .-call_with_rbp\n");
#else
void *call_with_rbp(size_t n, uintptr_t rbp) { (void)rbp; return malloc(n); }
#endif

void *kept;

int main(void)
{
    /* the values a general-purpose %rbp can hold: near 2^64, zero, odd, small */
    static const uintptr_t wild[] = { (uintptr_t)-16, (uintptr_t)-8, (uintptr_t)-1, 0, 8, 0x1001 };
    for (unsigned i = 0; i < sizeof wild / sizeof wild[0]; i++)
        free(call_with_rbp(100 + i, wild[i]));
    kept = call_with_rbp(40, (uintptr_t)-16);
    void *lost = call_with_rbp(24, (uintptr_t)-16);
    lost = NULL;
    return lost != NULL;
}
