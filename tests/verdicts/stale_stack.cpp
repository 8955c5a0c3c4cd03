// stale_stack.cpp — LeakSanitizer's exit_atexit_stale_stack, as the issue describes it: a
// 100-byte block whose only copies are in dead stack slots below main's frame when main calls
// exit(). exit's own frames, its atexit handler and drip's report reuse that memory; the block
// is definitely lost (valgrind: the slots are below the stack pointer, or undefined again).
#include <cstdlib>

__attribute__((noinline)) static void put_on_stack()
{
    void *locals[256];
    void *p = malloc(100);
    for (int i = 0; i < 256; i++)
        locals[i] = p;
    asm volatile("" : : "r"(locals) : "memory");
}

static void handler() {}

int main()
{
    atexit(handler);
    put_on_stack();
    exit(0);
}
