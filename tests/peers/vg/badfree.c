/* badfree.c MODE — frees that glibc refuses (memcheck's badfree, doublefree, free of a stack or
 * interior address scenarios), written for drip. Without a checker glibc aborts with its own
 * message; under drip the program must do exactly that (same message on stderr, killed by
 * SIGABRT) and drip's report must still arrive. Valgrind instead reports an "Invalid free" and
 * lets the program go on: only the behaviour without a checker is the reference here.
 *   double    free(p); free(p) (a tcache-sized block)
 *   double_big  free(p); x = malloc(); free(p) on a 2000-byte block
 *   stack     free(&local)
 *   interior  free(p + 16)
 *   static    free of a global array
 *   segv      no bad free: a write through a NULL pointer kills the program with SIGSEGV (valgrind
 *             dies of it as well and checks for leaks first: the figures are compared)
 * Before the bad free: one lost 70-byte block and one 90-byte block kept by a global. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *kept;

int main(int argc, char **argv)
{
    static char global[64];
    const char *m = argc > 1 ? argv[1] : "";
    char *volatile lost = malloc(70);
    lost[0] = 1;
    lost = NULL;
    kept = malloc(90);
    printf("before the bad free (%s)\n", m);
    fflush(stdout);
    if (!strcmp(m, "double")) {
        char *p = malloc(32);
        free(p);
        free(p);
    } else if (!strcmp(m, "double_big")) {
        char *p = malloc(2000);
        char *guard = malloc(2000);
        free(p);
        free(p);
        free(guard);
    } else if (!strcmp(m, "stack")) {
        long frame[6] = {0};   /* the word before frame + 2 is glibc's size field: 0 */
        free(&frame[2]);
    } else if (!strcmp(m, "interior")) {
        char *p = malloc(64);
        free(p + 16);
    } else if (!strcmp(m, "static")) {
        free(global);
    } else if (!strcmp(m, "segv")) {
        *(volatile int *)(argc - 2 > 0 ? (int *)global : NULL) = 1;
    } else {
        fprintf(stderr, "usage: badfree double|double_big|stack|interior|static|segv\n");
        return 2;
    }
    printf("after the bad free\n");
    return 0;
}
