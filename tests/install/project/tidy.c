/* tidy.c — allocates and frees: nothing to report. */
#include <stdlib.h>

int main(void)
{
    void *volatile p = malloc(100);
    free(p);
    return 0;
}
