/* fds.c — prints the descriptor its first open() gets and whether 3 and 4 exist: under drip, the
 * same as without it (libunwind's pipe must not be opened on the program's descriptors). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *volatile p;   /* volatile: the compiler must keep the malloc/free pair */

int main(void)
{
    p = malloc(32);   /* an allocation: the hook and a stack walk run before the open */
    int has3 = fcntl(3, F_GETFD) != -1, has4 = fcntl(4, F_GETFD) != -1;
    int fd = open("/dev/null", O_RDONLY);
    printf("first_open=%d fd3=%d fd4=%d\n", fd, has3, has4);
    free(p);
    return 0;
}
