/* fork_dlopen.c — forked children whose modules differ from what their parent had at its first
 * fork (export.c keeps the module list from then on for the children's reports):
 *   fork_dlopen LIB          forks child 1 (exits at once), then dlopens LIB (libleaky.so) and
 *                            forks child 2, which calls leaky_lose (77 bytes lost): its report
 *                            must name leaky_lose in libleaky.so, a module its parent did not
 *                            have at the first fork.
 *   fork_dlopen LIB child    forks child 1, then child 2 dlopens LIB itself and calls leaky_lose.
 * Prints "done 0" once both children exited 0.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *lib;

static void open_and_lose(void)
{
    void *h = dlopen(lib, RTLD_NOW);
    void (*lose)(void) = h ? (void (*)(void))dlsym(h, "leaky_lose") : NULL;
    if (!lose)
        _exit(3);
    lose();
}

static int child(void (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        if (fn)
            fn();
        _exit(0);
    }
    int st = 1;
    waitpid(pid, &st, 0);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    lib = argv[1];
    int bad = child(NULL);
    if (argc > 2) {
        bad |= child(open_and_lose);
        printf("done %d\n", bad);
        return 0;
    }
    void *h = dlopen(lib, RTLD_NOW);
    void (*lose)(void) = h ? (void (*)(void))dlsym(h, "leaky_lose") : NULL;
    if (!lose)
        return 3;
    bad |= child(lose);
    printf("done %d\n", bad);
    return 0;
}
