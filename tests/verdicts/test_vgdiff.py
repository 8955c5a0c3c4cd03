"""drip's verdicts against valgrind memcheck's where the program's malloc is not glibc's.

Usage: test_vgdiff.py CASE   (one ctest per case; `--list` names them)
Debian's redis-server runs on jemalloc; valgrind replaces that malloc (--soname-synonyms=
somalloc=*jemalloc*), drip forwards to it. jemalloc's own memory (arenas, thread caches, extent
metadata) must not be a root (docs/run.md): these cases preload jemalloc into small programs and
assert drip's four figures equal valgrind's. Without valgrind or jemalloc a case exits 77 (SKIPPED).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

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
    want = {"definite": (248, 2), "indirect": (0, 0), "possible": (41600, 17), "reachable": (0, 0)}
    dt.eq(tv.figures(v), want, "valgrind (jemalloc's malloc replaced): the exact figures")
    dt.eq(tv.figures(r), want, "drip on jemalloc: the same figures (jemalloc's thread cache is no root)")
    offs = [(x["interior_offset"]["min"], x["interior_offset"]["max"]) for x in tv.records(r, "possible")]
    dt.eq(sorted(offs), [(3, 3), (16, 16)], "the interior pointers: 3 bytes in (an sds header), 16 in the large block")
    # the same program on glibc's malloc: nothing changes (the exclusion is the allocator's only)
    tv.same_as_valgrind("jemalloc_tcache on glibc", [prog])


def case_usable_size():
    """A block grown into the room malloc_usable_size reports (redis's sds strings): valgrind
    reports the size asked for, glibc the size class, so the two runs allocate differently (README:
    where drip's verdicts differ); the verdict is the same."""
    tv.need()
    prog = os.path.join(tv.BIN, "usable_size")
    vg_env, drip_env, path = tv.equal_envs({}, ())
    rc_v, v = vg.run([prog], env=vg_env)
    rc, r, err = tv.run_drip([prog], drip_env, path, 60)
    dt.eq(tv.figures(v), {"definite": (0, 0), "indirect": (0, 0), "possible": (21, 1), "reachable": (0, 0)},
          "valgrind: reallocated to 21 bytes (its usable size is the size asked for)")
    dt.eq(tv.figures(r) if r else None, {"definite": (0, 0), "indirect": (0, 0), "possible": (10, 1), "reachable": (0, 0)},
          "drip: the 10-byte block grew in glibc's room (24 bytes), possibly lost as under valgrind")


def case_git_status():
    """git status in a repository with a changed and an untracked file: the index read, the
    work tree walked. Old mtimes and a first `git status` leave the index fresh: both runs do
    the same work."""
    tv.need("git")
    d = tempfile.mkdtemp()
    try:
        git = ["git", "-C", d, "-c", "user.email=t@t", "-c", "user.name=t"]
        subprocess.run(git[:3] + ["init", "-q"], check=True)
        for i in range(50):
            with open(os.path.join(d, "f%d" % i), "w") as f:
                f.write("%d\n" % i)
        old = time.time() - 3600   # no racily clean entry: no run rereads or rewrites the index
        for i in range(50):
            os.utime(os.path.join(d, "f%d" % i), (old, old))
        subprocess.run(git + ["add", "."], check=True)
        subprocess.run(git + ["commit", "-qm", "x"], check=True)
        with open(os.path.join(d, "f3"), "w") as f:
            f.write("changed\n")
        with open(os.path.join(d, "new"), "w") as f:
            f.write("new\n")
        for n in ("f3", "new"):
            os.utime(os.path.join(d, n), (old + 60, old + 60))
        cmd = [shutil.which("git"), "-C", d, "status", "--porcelain"]
        subprocess.run(cmd, capture_output=True)
        dt.eq(subprocess.run(cmd, capture_output=True, text=True).stdout, " M f3\n?? new\n", "git status sees the two changes")
        r, v = tv.same_as_valgrind("git status", cmd)
        dt.eq(tv.figures(r)["definite"], (0, 0), "git status: nothing definitely lost")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_sqlite_sql():
    """sqlite3 :memory: with real work (5,000 rows, an index, an aggregate), where
    verdict_debian_tools runs `select 1`."""
    tv.need("sqlite3")
    sql = ("create table t(a integer primary key, b text); with recursive c(x) as (select 1 union all "
           "select x+1 from c where x<5000) insert into t select x, printf('%08d-%d', x*7919 % 5003, x) from c; "
           "create index i on t(b); select count(*), sum(length(b)) from t;")
    cmd = [shutil.which("sqlite3"), ":memory:", sql]
    dt.eq(subprocess.run(cmd, capture_output=True, text=True).stdout.split("|")[0], "5000", "sqlite3 counts 5,000 rows")
    tv.same_as_valgrind("sqlite3 :memory:", cmd)


if __name__ == "__main__":
    dt.main(globals())
