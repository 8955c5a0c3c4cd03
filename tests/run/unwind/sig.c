/* sig.c — a leak from a signal handler: the walk crosses the kernel's signal frame (__restore_rt),
 * which drip's .eh_frame walker models from the ucontext_t the kernel pushed. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
void *volatile keep;
__attribute__((noinline)) static void leak_in_handler(void) { keep = malloc(123); keep = 0; }
static void handler(int s) { (void)s; leak_in_handler(); }
__attribute__((noinline)) static void busy(void) { raise(SIGUSR1); }
int main(void) { signal(SIGUSR1, handler); busy(); return 0; }
