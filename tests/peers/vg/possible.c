/* possible.c — a program whose only leak is possibly lost: a global keeps a pointer 8 bytes
 * into a 40-byte block (memcheck's errors-for-leak-kinds and error-exitcode scenarios, written
 * for drip). Which leak kinds turn --error-exitcode into the exit status shows here. */
#include <stdlib.h>

char *inside;

int main(void)
{
    inside = (char *)malloc(40) + 8;
    return 0;
}
