"""drip's verdicts against valgrind memcheck's where the program's malloc is not glibc's.

Usage: test_vgdiff.py CASE   (one ctest per case; `--list` names them)
Debian's redis-server runs on jemalloc; valgrind replaces that malloc (--soname-synonyms=
somalloc=*jemalloc*), drip forwards to it. jemalloc's own memory (arenas, thread caches, extent
metadata) must not be a root (docs/run.md): these cases preload jemalloc into small programs and
assert drip's four figures equal valgrind's. Without valgrind or jemalloc a case exits 77 (SKIPPED).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_verdicts as tv  # noqa: E402
from test_verdicts import dt, vg  # noqa: E402

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


def need_jemalloc():
    tv.need()
    if not os.path.exists(JEMALLOC):
        tv.skip(JEMALLOC + " is not installed (apt-get install libjemalloc2)")


def on_jemalloc(name, cmd, timeout=300):
    """cmd on jemalloc under valgrind (which replaces jemalloc's malloc) and under drip (which
    forwards to it): returns (drip report, valgrind report, drip's stderr)."""
    vg_env, drip_env, path = tv.equal_envs({}, ())
    vg_env["LD_PRELOAD"] = JEMALLOC
    drip_env["LD_PRELOAD"] = dt.LIBDRIP + ":" + JEMALLOC
    rc_v, v = vg.run(cmd, timeout=timeout, extra=["--soname-synonyms=somalloc=*jemalloc*"], env=vg_env)
    rc, r, err = tv.run_drip(cmd, drip_env, path, timeout)
    dt.check(r is not None, name + ": drip wrote its JSON report")
    if r is None:
        print(err[-3000:])
        dt.finish()
    dt.eq(rc, rc_v, name + ": same exit status under drip as under valgrind")
    return r, v, err


def case_jemalloc_tcache():
    need_jemalloc()
    prog = os.path.join(tv.BIN, "jemalloc_tcache")
    r, v, err = on_jemalloc("jemalloc_tcache", [prog])
    want = {"definite": (200, 1), "indirect": (0, 0), "possible": (1600, 16), "reachable": (0, 0)}
    dt.eq(tv.figures(v), want, "valgrind (jemalloc's malloc replaced): the exact figures")
    dt.eq(tv.figures(r), want, "drip on jemalloc: the same figures (jemalloc's thread cache is no root)")
    offs = [(x["interior_offset"]["min"], x["interior_offset"]["max"]) for x in tv.records(r, "possible")]
    dt.eq(offs, [(3, 3)], "the interior pointers point 3 bytes in (an sds header)")
    # the same program on glibc's malloc: nothing changes (the exclusion is the allocator's only)
    tv.same_as_valgrind("jemalloc_tcache on glibc", [prog])


if __name__ == "__main__":
    dt.main(globals())
