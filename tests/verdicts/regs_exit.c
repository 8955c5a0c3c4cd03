/* regs_exit.c — a 64-byte block whose only pointer is in a callee-saved register (r12) when the
 * program calls _exit. The word is really held, and drip scans the registers of the thread that
 * exits: still reachable. valgrind does not scan the exiting thread's registers at _exit (it does
 * at exit(), where exit's own frames save r12 on the stack): definitely lost. */
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
#if defined(__x86_64__)
    register void *p __asm__("r12") = malloc(64);
    __asm__ volatile("" : : "r"(p));
#else
    void *p = malloc(64);   /* other architectures: the case is x86-64's */
    (void)p;
#endif
    _exit(0);
}
