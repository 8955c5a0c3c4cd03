"""drip's verdicts must not follow what should not matter: the cwd, the environment's size, the
unwinder option. Each case pins one difference found by tests/verdicts/sweep_envshape.py (which runs
Debian's programs under valgrind and drip while varying those) and fails without its fix.

Usage: test_envshape.py CASE   (one ctest per case; `--list` names them)
Without valgrind (or the program) a case exits 77: ctest shows it SKIPPED.
"""
import os
import shutil
import subprocess
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


def run_in(argv, env, cwd, timeout):
    """argv with os.environ + env, in cwd; returns (status, stderr, pid)."""
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    p = subprocess.Popen(argv, cwd=cwd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = p.communicate(timeout=timeout)
    return p.returncode, err.decode(errors="replace"), p.pid


def drip_variants_vs_valgrind(name, cmd, variants, env=None, timeout=300, cwd=None):
    """cmd under valgrind once, then under drip once per option set in `variants`, every run in
    an environment of the same shape (test_verdicts.equal_envs, with DRIP_OPTIONS of one
    length, and PWD: valgrind sets it to its client's cwd): asserts drip's status and four
    figures equal valgrind's in each; returns valgrind's figures."""
    vg_env, drip_env, _ = tv.equal_envs(env, ())
    vg_env["DRIP_OPTIONS"], unused = fixed_options([])
    drip_env["PWD"] = vg_env["PWD"] = os.path.realpath(cwd or os.getcwd())
    xml = os.path.join(os.path.dirname(unused), "vg.xml")
    rc_v, _, _ = run_in(tv.vg.argv_for(cmd, xml), vg_env, cwd, timeout)
    v = tv.vg.parse(xml)
    shutil.rmtree(os.path.dirname(unused), ignore_errors=True)
    for opts in variants:
        drip_env["DRIP_OPTIONS"], path = fixed_options(opts)
        rc, err, pid = run_in(cmd, drip_env, cwd, timeout)
        r = tv.drip_report(path, pid)
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


def case_shapes_env_copies():
    """Programs that copy their environment into heap blocks (perl's %ENV, gawk's ENVIRON), run
    from / and from a directory 400 characters deep with a 10 KB variable: drip's four figures
    are valgrind's in each shape. (The sweep found them 4 to 141 bytes apart
    until both runs got the same PWD, which valgrind sets to its client's cwd.)"""
    tv.need("/usr/bin/perl", "/usr/bin/gawk")
    d = tempfile.mkdtemp(prefix="drip-envshape-")
    try:
        deep = os.path.join(d, *(["d" * 39] * 10))
        os.makedirs(deep)
        progs = [["/usr/bin/perl", "-e", "my %h; $h{$_} = $_ for 1..2000; print scalar(keys %ENV)"],
                 ["/usr/bin/gawk", "BEGIN {for (i = 0; i < 2000; i++) a[i] = i; n = 0; for (k in ENVIRON) n++; print n}"]]
        env = {"PERL_HASH_SEED": "0", "PERL_PERTURB_KEYS": "0"}
        for cwd, extra in (("/", {}), (deep, {"DRIP_ENVSHAPE_BIG": "x" * 10240})):
            for cmd in progs:
                drip_variants_vs_valgrind("%s in %s" % (os.path.basename(cmd[0]), "/" if cwd == "/" else
                                                        "a deep cwd, with a 10 KB variable"),
                                          cmd, [[]], env=dict(env, **extra), cwd=cwd, timeout=120)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    dt.main(globals())
