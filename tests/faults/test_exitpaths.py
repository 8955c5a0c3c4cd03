"""Exit paths under drip (issue #12: the program runs as without drip, the report reaches the
user): main() ending with pthread_exit; exit() called on a small stack (a thread's, a signal
handler's alternate stack).

Usage: test_exitpaths.py CASE   (one ctest per case; `test_exitpaths.py --list` names them)
Programs run under `drip run` in a session of their own with a timeout: a hang kills the whole
process group (a hung program would outlive `drip run`) and fails the case.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

F = os.path.abspath(os.path.join(dt.BUILD, "bin", "faults"))


def run_plain(cmd, timeout=60):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)


def run_drip(cmd, what, opts=""):
    """`drip run --json` with DRIP_OPTIONS=opts; None (a failed check) when it hangs."""
    fd, path = tempfile.mkstemp(prefix="drip-exitpaths-", suffix=".json")
    os.close(fd)
    os.unlink(path)
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e["DRIP_OPTIONS"] = opts
    p = subprocess.Popen([dt.DRIP, "run", "--json", path, "--log-path", "/dev/null", "--"] + list(cmd),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e, start_new_session=True)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        dt.check(False, "%s: finished within 30 s (hung under drip)" % what)
        return None
    report = None
    if os.path.exists(path):
        with open(path) as f:
            report = json.load(f)
        os.unlink(path)
    return dt.Result(p.returncode, out, err, report, path)


def complete(res, what):
    ok = res is not None and res.report is not None and res.report.get("complete") is True
    dt.check(ok, what + ": JSON report written, complete")
    return ok


def by_fn(report, kind, fn):
    return [(r["bytes"], r["blocks"]) for r in report["leaks"]
            if r["kind"] == kind and r["stack"] and r["stack"][0].get("function") == fn]


# ---- main() ends with pthread_exit ------------------------------------------------------------

def pthexit(mode, want_out):
    plain = run_plain([F + "/pthexit_main", mode])
    dt.eq((plain.returncode, plain.stdout), (0, want_out), "without drip (%s)" % mode)
    # with the growth detector on (the default) drip's ticker runs once the program starts a
    # thread; with growth=0 it does not, and glibc's own last thread calls exit
    for opts in ("", "growth=0"):
        res = run_drip([F + "/pthexit_main", mode], "pthexit_main %s %s" % (mode, opts))
        if res is None:
            continue
        what = "%s, options '%s'" % (mode, opts)
        dt.eq(res.rc, 0, what + ": exit status 0, as glibc's last thread gives")
        dt.eq(res.out, want_out, what + ": the same output, atexit handler included")
        if complete(res, what):
            dt.eq(by_fn(res.report, "definite", "main_leak"), [(12, 1)], what + ": main_leak's 12 bytes lost")
            dt.eq(by_fn(res.report, "reachable", "worker"), [(100, 1)], what + ": the worker's kept block reachable")
            dt.eq(res.report["summary"]["definite"]["blocks"], 1, what + ": nothing else definitely lost")


def case_pthread_exit_after_worker():
    """The worker has ended (not joined) when main calls pthread_exit: under drip its own thread
    kept the process alive with every signal blocked (a hang only SIGKILL ended, no report)."""
    pthexit("ended", "worker out\nmain out\natexit ran\n")


def case_pthread_exit_before_worker():
    """The worker still runs when main calls pthread_exit, and ends 100 ms later: exit(0) then."""
    pthexit("running", "main out\nworker out\natexit ran\n")


# ---- exit() where the stack is small: the report runs on a stack of drip's own ---------------

def small_stack(cmd, status, fn, size, what, kind="definite"):
    plain = run_plain(cmd)
    dt.eq(plain.returncode, status, "without drip: " + what)
    res = run_drip(cmd, what)
    if res is None:
        return
    dt.eq(res.rc, status, what + ": the program's exit status under drip")
    if complete(res, what):
        kinds = [r["kind"] for r in res.report["leaks"] if r["stack"] and r["stack"][0].get("function") == fn]
        dt.eq(len(kinds), 1, what + ": %s's block in one record" % fn)
        dt.eq(by_fn(res.report, kind or (kinds[0] if kinds else "definite"), fn), [(size, 1)],
              what + ": %s's %d bytes in the report (%s)" % (fn, size, kind or "any kind"))


def case_exit_small_thread_stack():
    """exit() from a thread with a 64 KiB stack: the report needs ~200 KB (it overflowed: SIGSEGV)."""
    small_stack([F + "/smallstack_exit", "64"], 4, "thread_leak", 40, "exit(4) on a 64 KiB thread stack")


def case_exit_tiny_thread_stack():
    """exit() from a thread with a 16 KiB stack: drip's own 40 KB of static TLS, carved out of
    each thread's stack, made pthread_create fail with EINVAL (the program then waited for ever)."""
    small_stack([F + "/smallstack_exit", "16"], 4, "thread_leak", 40, "exit(4) on a 16 KiB thread stack")


def case_exit_on_sigaltstack():
    """exit() from a signal handler on a 32 KiB sigaltstack (a heap block)."""
    # valgrind calls the block definitely lost (the alternate stack below the stack pointer is
    # dead to it); drip reads the whole heap block that holds the stack, so the stale pointer the
    # handler left there keeps it reachable: the kind is not asserted here (issue #12's notes)
    small_stack([F + "/sigalt_exit"], 9, "handler_leak", 66, "exit(9) in a handler on a 32 KiB sigaltstack", kind=None)


if __name__ == "__main__":
    dt.main(globals())
