/* interpose.c — the libc functions drip interposes besides the allocator (hooks.c) and thread
 * creation (threads.c): signal dispositions and exec. Each is a few lines that call a module:
 * signals.c for sigaction/signal, exec.c for the exec family.
 */
#include "internal.h"
#include "signals.h"

#include <signal.h>

DRIP_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return drip__sigaction(sig, act, old);
}

DRIP_EXPORT sighandler_t signal(int sig, sighandler_t handler) { return drip__signal(sig, handler); }
