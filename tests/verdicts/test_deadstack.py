"""The stacks of threads that have ended are not roots (issue #12), as under valgrind memcheck,
though glibc keeps them mapped in its stack cache: a block whose only pointer was in a joined
thread's frame is definitely lost in both. Uses test_verdicts.py's runner (same environment
for both tools); SKIPPED without valgrind.

Usage: test_deadstack.py CASE   (`--list` names them)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_verdicts as tv  # noqa: E402
dt = tv.dt


def case_dead_thread_stack():
    """A joined thread left its blocks' values only in its dead frame: 100 + 1 bytes definitely
    lost (drip read the cached stack and called them reachable); the stdout buffer reachable."""
    tv.need("readelf", "ldd")
    prog = os.path.join(tv.BIN, "dead_thread_stack")
    r, v = tv.both("dead_thread_stack", [prog])
    for k in ("definite", "indirect", "reachable"):
        dt.eq(dt.summary(r, k), dt.summary(v, k), "dead_thread_stack: %s as valgrind" % k)
    dt.eq(dt.summary(r, "definite"), (101, 2), "the two blocks of the joined thread's frame are lost")
    dt.eq(dt.summary(r, "reachable"), (4096, 1), "only stdout's buffer is reachable")
    # the thread's DTV: possibly lost in both, 16 bytes larger per TLS module drip adds (case_dtv_size)
    _, prog_libs = tv.tls_modules(prog)
    extra = 0
    out = tv.subprocess.run(["ldd", dt.LIBDRIP], capture_output=True, text=True).stdout
    for lib in [dt.LIBDRIP] + tv.re.findall(r"=> (/\S+)", out):
        if lib not in prog_libs:
            ph = tv.subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True).stdout
            extra += bool(tv.re.search(r"^\s*TLS\s", ph, tv.re.M))
    dp, vp = dt.summary(r, "possible"), dt.summary(v, "possible")
    dt.eq(dp, (vp[0] + 16 * extra, vp[1]), "possible: the DTV, 16 bytes per added TLS module larger")


if __name__ == "__main__":
    dt.main(globals())
