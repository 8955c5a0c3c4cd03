/* segv_jmp.c — leaks around a SIGSEGV that the program catches and leaves with siglongjmp
 * (memcheck's leak-segv-jmp scenario), written for drip. The fault comes from a PROT_NONE page;
 * a pointer stored in a page later made PROT_NONE is no root (neither tool reads that page), so
 * its 200-byte block is definitely lost. Before the fault: 100 bytes lost. After the jump:
 * 300 bytes kept by a global (reachable) and 50 lost. The program prints how many faults it
 * caught and exits 0. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile sig_atomic_t faults;
void *kept;

static void on_segv(int sig)
{
    (void)sig;
    faults++;
    siglongjmp(env, 1);
}

__attribute__((noinline)) static void lose(size_t n)
{
    char *volatile p = malloc(n);
    p[0] = 1;
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *none = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void **hidden = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (none == MAP_FAILED || hidden == MAP_FAILED)
        return 2;
    hidden[0] = malloc(200);
    mprotect(hidden, (size_t)page, PROT_NONE);
    struct sigaction sa = {0};
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, NULL);
    lose(100);
    for (int i = 0; i < 3; i++)
        if (sigsetjmp(env, 1) == 0)
            none[i * 8] = 1;
    kept = malloc(300);
    lose(50);
    printf("caught %d faults\n", (int)faults);
    return 0;
}
