/* stale_live.c — a 100-byte block whose only copies are in never-written slots of a frame that is
 * live when the program calls _exit: put_on_stack() filled its array and returned, later()'s array
 * lies over the same memory and is never written. valgrind knows those words are undefined (a
 * fresh frame) and calls the block definitely lost; drip has no shadow memory, reads the live
 * stack from the stack pointer up, finds the stale copy and calls it still reachable. */
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) static void put_on_stack(void)
{
    void *locals[64];
    void *p = malloc(100);
    for (int i = 0; i < 64; i++)
        locals[i] = p;
    __asm__ volatile("" : : "r"(locals) : "memory");
}

__attribute__((noinline)) static void later(void)
{
    void *fresh[80];   /* never written: over put_on_stack's locals */
    __asm__ volatile("" : : "r"(fresh) : "memory");
    _exit(0);
}

int main(void)
{
    put_on_stack();
    later();
    return 0;
}
