"""Shared helpers for drip's end-to-end tests: run a program under drip, read its JSON report.

Every test runs the traced program in a child process with a timeout, so a hang fails the test
instead of the whole suite.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

BUILD = os.environ.get("DRIP_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
DRIP = os.path.abspath(os.path.join(BUILD, "bin", "drip"))
LIBDRIP = os.path.abspath(os.path.join(BUILD, "lib", "libdrip.so"))
PROGS = os.path.abspath(os.path.join(BUILD, "bin", "progs"))
EXAMPLES = os.path.abspath(os.path.join(BUILD, "bin", "examples"))

failures = []


def sanitizer():
    """The sanitizers drip's own build was made with (make test-asan / test-tsan: DRIP_SANITIZE in
    the build's CMake cache), "" for a plain build."""
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("DRIP_SANITIZE:"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return ""


# The exit status of a test that cannot run here (a tool or program is missing, root is needed):
# ctest reports it as skipped, never as passed (the tests set SKIP_RETURN_CODE to it).
SKIP = 77


class Result:
    def __init__(self, rc, out, err, report, path):
        self.rc, self.out, self.err, self.report, self.json_path = rc, out, err, report, path

    def summary(self, kind):
        return summary(self.report, kind)

    def records(self, kind):
        return [r for r in self.report["leaks"] if r["kind"] == kind]

    def functions(self, record):
        return [f.get("function") for f in record["stack"]]


def run(cmd, drip_args=(), timeout=60, env=None, preload=False, stdin=None):
    """Runs cmd under `drip run` (or LD_PRELOAD when preload=True) with a JSON report."""
    fd, path = tempfile.mkstemp(prefix="drip-test-", suffix=".json")
    os.close(fd)
    os.unlink(path)
    e = dict(os.environ)
    e.update(env or {})
    if preload:
        e["LD_PRELOAD"] = LIBDRIP
        opts = e.get("DRIP_OPTIONS", "")
        e["DRIP_OPTIONS"] = (opts + ":" if opts else "") + "json=" + path
        argv = list(cmd)
    else:
        argv = [DRIP, "run", "--json", path] + list(drip_args) + ["--"] + list(cmd)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e, stdin=stdin)
    report = None
    if os.path.exists(path):
        with open(path) as f:
            report = json.load(f)
        os.unlink(path)
    return Result(p.returncode, p.stdout, p.stderr, report, path)


def free_port():
    """A loopback TCP port that was free a moment ago (bound, read, released)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def symserve_pid(pid):
    """The pid of drip run's shared symbolizer server (symserve.c) under drip run pid: its child
    named drip-symbolize; None when none appears within about 10 s."""
    import time
    for _ in range(2000):
        try:
            kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        except OSError:
            kids = []
        for k in kids:
            try:
                if open("/proc/%s/comm" % k).read().strip() == "drip-symbolize":
                    return int(k)
            except OSError:
                pass
        time.sleep(0.005)
    return None


def summary(report, kind):
    """(bytes, blocks) of one kind in a JSON report's summary."""
    s = report["summary"][kind]
    return s["bytes"], s["blocks"]


def load_reports(path):
    """{path: report} for FILE and every FILE.<pid> (forked children); a file that does not parse
    maps to {"unparsable": why}. The files are removed once read."""
    out = {}
    for p in [path] + sorted(glob.glob(path + ".*")):
        if os.path.exists(p):
            try:
                with open(p) as f:
                    out[p] = json.load(f)
            except ValueError as e:
                out[p] = {"unparsable": str(e)}
            os.unlink(p)
    return out


def check(cond, what):
    """Records a failed expectation (and prints it) without stopping the test."""
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        failures.append(what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def skip(why):
    """Ends the test as skipped (status SKIP) with a line saying why; a test that already failed
    an expectation fails instead."""
    if failures:
        finish()
    print("SKIP " + why)
    sys.exit(SKIP)


def finish():
    if failures:
        print("%d expectation(s) failed" % len(failures))
        sys.exit(1)
    print("all expectations met")
    sys.exit(0)


def main(namespace, cleanup=None):
    """A test file's entry point: runs the case_NAME function of `namespace` named by argv[1]
    (`--list` prints the names), then `cleanup` if given, then finish()."""
    cases = {k[5:]: v for k, v in namespace.items() if k.startswith("case_")}
    if len(sys.argv) != 2 or (sys.argv[1] not in cases and sys.argv[1] != "--list"):
        print("usage: %s CASE (one of: %s)" % (os.path.basename(sys.argv[0]), " ".join(cases)))
        sys.exit(2)
    if sys.argv[1] == "--list":
        print("\n".join(cases))
        sys.exit(0)
    try:
        cases[sys.argv[1]]()
    finally:
        if cleanup:
            cleanup()
    finish()
