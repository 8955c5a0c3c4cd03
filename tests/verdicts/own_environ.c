/* own_environ.c — a program that makes its environment an array of its own, as nginx's workers
 * do (ngx_set_environment: `environ = ngx_alloc(...)`, kept to the end). At exit the array is
 * reachable through libc's `environ`. valgrind's default --run-libc-freeres=yes runs glibc's
 * __libc_freeres before its leak check, whose clearenv() sets environ to NULL: the array is then
 * definitely lost (16 bytes in 1 block); with --run-libc-freeres=no, and under drip, reachable.
 * (test_verdicts.py case own_environ) */
#include <stdlib.h>

extern char **environ;

int main(void)
{
    char **env = malloc(2 * sizeof *env);
    if (!env)
        return 1;
    env[0] = "ONLY=1";
    env[1] = NULL;
    environ = env;
    return 0;
}
