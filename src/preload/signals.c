/* signals.c — drip's report on a fatal signal, invisible to the program.
 *
 * drip writes its report and then dies by the signal when a fatal signal (SEGV, ABRT, TERM, INT,
 * ...) meets the default disposition. It does so by standing in for SIG_DFL: wherever the
 * program's disposition for such a signal is SIG_DFL (at start-up, or later, when the program
 * sets it back), drip's handler is installed in its place, and sigaction/signal tell the program
 * SIG_DFL with the mask and flags it set. This is what lets a program that handles a signal and
 * re-raises it (`signal(s, SIG_DFL); raise(s)`, as Python does on KeyboardInterrupt) be reported:
 * the raise meets drip's stand-in. Any other disposition the program sets is installed as given.
 *
 * The stand-in table is written under no lock: sigaction calls that race on one signal already
 * leave the kernel's disposition to whichever came last, and the table follows the same order
 * closely enough for what it is used for (what sigaction returns as the old disposition).
 * Not covered: dispositions set with the raw rt_sigaction syscall, sysv_signal and sigset.
 */
#include "internal.h"
#include "signals.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static atomic_int stand_in[_NSIG];            /* 1: drip's handler holds the program's SIG_DFL */
static struct sigaction program_view[_NSIG];  /* what the program asked for when it set SIG_DFL */

/* Every signal whose default action ends the process and that a program meets without asking
 * for it: SIGPIPE (`drip run -- prog | head`), SIGALRM (alarm() with no handler), SIGUSR1/2,
 * SIGXCPU/SIGXFSZ (ulimit), as valgrind reports them. SIGTRAP and SIGPROF are left to debuggers
 * and profilers, SIGKILL and SIGSTOP cannot be caught. */
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT, SIGHUP, SIGQUIT,
                                    SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ};

int drip__is_fatal_signal(int sig)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        if (fatal_signals[i] == sig)
            return 1;
    return 0;
}

static void resolve(void)
{
    if (!real_sigaction)
        real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))dlsym(RTLD_NEXT, "sigaction");
}

int drip__real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    resolve();
    return real_sigaction(sig, act, old);
}

/* Sets sig's disposition to the real SIG_DFL (drip is about to die by it). */
void drip__signal_default(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    if (sig > 0 && sig < _NSIG)
        atomic_store(&stand_in[sig], 0);
    drip__real_sigaction(sig, &sa, NULL);
}

static int standing_in(int sig)
{
    return sig > 0 && sig < _NSIG && drip__opt.handle_signals && atomic_load(&drip__g.initialised) &&
           drip__is_fatal_signal(sig);
}

/* Installs drip's handler for sig in place of SIG_DFL; view is what the program set (NULL:
 * plain SIG_DFL). old receives the kernel's previous disposition. */
static int install_stand_in(int sig, const struct sigaction *view, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = drip__on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    int rc = drip__real_sigaction(sig, &sa, old);
    if (rc == 0) {
        if (view)
            program_view[sig] = *view;
        else {
            memset(&program_view[sig], 0, sizeof program_view[sig]);
            sigemptyset(&program_view[sig].sa_mask);
        }
        program_view[sig].sa_handler = SIG_DFL;
        atomic_store(&stand_in[sig], 1);
    }
    return rc;
}

/* At start-up: stand in for every fatal signal whose disposition is SIG_DFL. One the program's
 * parent left ignored or handled stays as it is. */
void drip__signals_init(void)
{
    resolve();
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction old;
        if (drip__real_sigaction(fatal_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            install_stand_in(fatal_signals[i], NULL, NULL);
    }
}

int drip__sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!standing_in(sig))
        return drip__real_sigaction(sig, act, old);
    int was = atomic_load(&stand_in[sig]);
    struct sigaction prev;
    int rc;
    if (act && act->sa_handler == SIG_DFL) {
        rc = install_stand_in(sig, act, &prev);
    } else {
        rc = drip__real_sigaction(sig, act, &prev);
        if (rc == 0 && act)
            atomic_store(&stand_in[sig], 0);
    }
    if (rc == 0 && old) {
        if (was && prev.sa_sigaction == drip__on_fatal)
            *old = program_view[sig];   /* the program set SIG_DFL: it gets SIG_DFL back */
        else
            *old = prev;
    }
    return rc;
}

/* signal() with glibc's (BSD) semantics for the signals drip stands in for: the handler stays,
 * SA_RESTART, sig blocked in it. Other signals go to libc's signal() as they are. */
sighandler_t drip__signal(int sig, sighandler_t handler)
{
    static sighandler_t (*real_signal)(int, sighandler_t);
    if (!standing_in(sig)) {   /* libc's own, siginterrupt's flags included */
        if (!real_signal)
            real_signal = (sighandler_t(*)(int, sighandler_t))dlsym(RTLD_NEXT, "signal");
        return real_signal(sig, handler);
    }
    struct sigaction sa, old;
    if (sig <= 0 || sig >= _NSIG || handler == SIG_ERR) {
        errno = EINVAL;
        return SIG_ERR;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, sig);
    sa.sa_flags = SA_RESTART;
    if (drip__sigaction(sig, &sa, &old) < 0)
        return SIG_ERR;
    return old.sa_handler;
}
