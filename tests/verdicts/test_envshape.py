"""drip's verdicts must not follow what should not matter: the cwd, the environment's size, the
unwinder option. Each case pins one difference found by tests/verdicts/sweep_envshape.py (which runs
Debian's programs under valgrind and drip while varying those) and fails without its fix.

Usage: test_envshape.py CASE   (one ctest per case; `--list` names them)
Without valgrind (or the program) a case exits 77: ctest shows it SKIPPED.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_verdicts as tv  # noqa: E402
from test_verdicts import dt  # noqa: E402

UNWINDERS = ("auto", "fp", "cfi", "libunwind")


def case_unwind_fp_wild_rbp():
    """malloc called with %rbp holding -16 (python3's Py_FinalizeEx does): unwind=fp's walk
    compared f + 16 with the stack's top, which wraps to 0 for f = 2^64 - 16, read that frame and
    killed the program (SIGSEGV; python3 -c pass under unwind=fp: 463 blocks possibly lost, 3,263
    more reachable, status 139). Every unwinder: the program's status and valgrind's figures."""
    tv.need()
    prog = os.path.join(tv.BIN, "wild_rbp")
    want = {"definite": (24, 1), "indirect": (0, 0), "possible": (0, 0), "reachable": (40, 1)}
    for u in UNWINDERS:
        r, v = tv.same_as_valgrind("wild_rbp, unwind=" + u, [prog], drip_opts=["unwind=" + u])
        dt.eq(tv.figures(r), want, "wild_rbp, unwind=%s: the exact figures" % u)


if __name__ == "__main__":
    dt.main(globals())
