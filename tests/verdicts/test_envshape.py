"""drip's verdicts must not follow what should not matter: the cwd, the environment's size, the
unwinder option. Each case pins one difference found by tests/verdicts/sweep_envshape.py (which runs
Debian's programs under valgrind and drip while varying those) and fails without its fix.

Usage: test_envshape.py CASE   (one ctest per case; `--list` names them)
Without valgrind (or the program) a case exits 77: ctest shows it SKIPPED.
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_verdicts as tv  # noqa: E402
from test_verdicts import dt  # noqa: E402

UNWINDERS = ("auto", "fp", "cfi", "libunwind")
OPT_LEN = 160   # every run's DRIP_OPTIONS is this long: programs copy their environment


def fixed_options(opts):
    """DRIP_OPTIONS of OPT_LEN characters (the json file's name fills it up) and the json path."""
    d = tempfile.mkdtemp(prefix="drip-envshape-")
    head = ":".join(["follow_exec=1"] + list(opts) + ["json=" + d + "/r"])
    path = d + "/r" + "x" * (OPT_LEN - len(head) - len(".json")) + ".json"
    s = ":".join(["follow_exec=1"] + list(opts) + ["json=" + path])
    assert len(s) == OPT_LEN, s
    return s, path


def drip_variants_vs_valgrind(name, cmd, variants, env=None, timeout=300):
    """cmd under valgrind once, then under drip once per option set in `variants`, every run in
    an environment of the same shape (test_verdicts.equal_envs, with DRIP_OPTIONS of one
    length): asserts drip's status and four figures equal valgrind's in each; returns valgrind's
    figures."""
    vg_env, drip_env, _ = tv.equal_envs(env, ())
    vg_env["DRIP_OPTIONS"], unused = fixed_options([])
    rc_v, v = tv.vg.run(cmd, timeout=timeout, env=vg_env)
    shutil.rmtree(os.path.dirname(unused), ignore_errors=True)
    for opts in variants:
        drip_env["DRIP_OPTIONS"], path = fixed_options(opts)
        rc, r, err = tv.run_drip(cmd, drip_env, path, timeout)
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        what = "%s, %s" % (name, ":".join(opts) or "default options")
        dt.check(r is not None, what + ": drip wrote its JSON report")
        if r is None:
            print(err[-3000:])
            continue
        dt.eq(rc, rc_v, what + ": same exit status under drip as under valgrind")
        for k in tv.KINDS:
            dt.eq(dt.summary(r, k), dt.summary(v, k), what + ": %s (bytes, blocks) as valgrind" % k)
    return tv.figures(v)


def case_unwind_fp_wild_rbp():
    """malloc called with %rbp holding -16 (python3's Py_FinalizeEx does): unwind=fp's walk
    compared f + 16 with the stack's top, which wraps to 0 for f = 2^64 - 16, read that frame and
    killed the program (SIGSEGV; python3 -c pass under unwind=fp: 463 blocks possibly lost, 3,263
    more reachable, status 139). Every unwinder: the program's status and valgrind's figures."""
    tv.need()
    prog = os.path.join(tv.BIN, "wild_rbp")
    want = {"definite": (24, 1), "indirect": (0, 0), "possible": (0, 0), "reachable": (40, 1)}
    got = drip_variants_vs_valgrind("wild_rbp", [prog], [["unwind=" + u] for u in UNWINDERS])
    dt.eq(got, want, "wild_rbp: valgrind's figures (drip's are equal in each run)")


def case_python_unwinders():
    """Debian's python3 (built without frame pointers) under each unwinder: the same status and
    figures as valgrind's (unwind=fp crashed it in Py_FinalizeEx, case above). The system
    allocator and a fixed hash seed, as test_verdicts.py's python cases."""
    tv.need(tv.PY)
    drip_variants_vs_valgrind("python3 -c pass", [tv.PY, "-c", "pass"], [["unwind=" + u] for u in UNWINDERS],
                              env=tv.PYENV, timeout=120)


if __name__ == "__main__":
    dt.main(globals())
