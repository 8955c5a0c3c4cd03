"""drip's contract with the traced program and with the user (issue #12: points 5, 6, 8, 10, 12,
13, 14): options are checked against their ranges and every documented DRIP_OPTIONS example
parses; a program with its own allocator runs unharmed; a program that re-raises a fatal signal
is reported and dies by it; the process `drip run` started stays traced through its in-place
execs, and where no report can exist the CLI says so in one line; forked children can be kept
silent, and children that exec'd untraced are counted.

Usage: test_contract.py CASE   (one ctest per case; `test_contract.py --list` names them)
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

P = dt.PROGS
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def cli(args, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run([dt.DRIP] + args, capture_output=True, text=True, **kw)


def plain(cmd, **kw):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.pop("DRIP_OPTIONS", None)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e, **kw)


def one_line_error(p, rc, text, what):
    dt.eq(p.returncode, rc, what + ": status")
    lines = p.stderr.strip().splitlines()
    dt.eq(len(lines), 1, what + ": one line")
    dt.check(bool(lines) and lines[0].startswith("drip: ") and text in lines[0], what + ": message %r" % (lines[:1],))


def reports_in(err):
    return err.count("drip: leak report for process")


# ---- 13: ranges and enumerations ---------------------------------------------------------------

def case_options_ranges():
    cwd = tempfile.mkdtemp()
    one_line_error(cli(["run", "--json", "--", "/bin/true"], cwd=cwd), 2, "option --json needs a value (got '--')",
                   "--json followed by --")
    dt.eq(os.listdir(cwd), [], "no file named '--' was written")
    os.rmdir(cwd) if not os.listdir(cwd) else None
    one_line_error(cli(["run", "--log-path", "--json", "x", "--", "/bin/true"]), 2,
                   "option --log-path needs a value (got '--json')", "--log-path followed by another flag")
    for v in ("0", "65", "100", "-5"):
        one_line_error(cli(["run", "--max-frames", v, "--", "/bin/true"]), 2,
                       "option max_frames takes 1 to 64, not " + v, "--max-frames " + v)
    for v in ("1", "64"):
        dt.eq(cli(["run", "--max-frames", v, "--log-path", "/dev/null", "--", "/bin/true"]).returncode, 0,
              "--max-frames %s accepted" % v)
    one_line_error(cli(["run", "--error-exitcode", "256", "--", "/bin/true"]), 2,
                   "option error_exitcode takes 0 to 255, not 256", "--error-exitcode 256")
    one_line_error(cli(["run", "--error-exitcode=-1", "--", "/bin/true"]), 2,
                   "option error_exitcode takes 0 to 255, not -1", "--error-exitcode=-1")
    one_line_error(cli(["run", "--nice", "20", "--", "/bin/true"]), 2, "option nice takes 0 to 19, not 20", "--nice 20")
    one_line_error(cli(["run", "--stop-signal", "65", "--", "/bin/true"]), 2, "option stop_signal takes 0 to 64, not 65",
                   "--stop-signal 65")
    one_line_error(cli(["run", "--max-records", "-1", "--", "/bin/true"]), 2,
                   "option max_records takes 0 to 1000000000, not -1", "--max-records -1")
    one_line_error(cli(["run", "--unwind", "frames", "--", "/bin/true"]), 2,
                   "option unwind takes one of auto|fp|cfi|libunwind, not frames", "--unwind frames")
    # the same limits in DRIP_OPTIONS: `drip run` refuses them, the library says one line and
    # leaves the program alone
    p = cli(["run", "--", "/bin/true"], env=dict(os.environ, DRIP_OPTIONS="max_frames=100"))
    one_line_error(p, 2, "DRIP_OPTIONS: option max_frames takes 1 to 64, not 100", "DRIP_OPTIONS max_frames=100 in drip run")
    env = dict(os.environ, DRIP_OPTIONS="error_exitcode=300", LD_PRELOAD=dt.LIBDRIP)
    p = subprocess.run([P + "/leaks"], capture_output=True, text=True, timeout=60, env=env)
    dt.eq(p.returncode, 0, "DRIP_OPTIONS error_exitcode=300 under LD_PRELOAD: the program's status")
    dt.eq(p.stderr, "drip: DRIP_OPTIONS: option error_exitcode takes 0 to 255, not 300 (drip is not tracking this process)\n",
          "DRIP_OPTIONS error_exitcode=300: one line")
    h = cli(["run", "--help"]).stdout
    dt.check("frames kept per allocation stack (default: 64; 1 to 64)" in h, "--help gives max_frames' range from the table")
    dt.check("one of auto|fp|cfi|libunwind)" in h, "--help gives unwind's words from the table")


# ---- 12: every documented DRIP_OPTIONS example parses as written -------------------------------

def documented_values():
    files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    out = []
    for path in files:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                for m in re.finditer(r'DRIP_OPTIONS=("([^"]*)"|\'([^\']*)\'|([^\s`\'")]+))', line):
                    v = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
                    out.append(("%s:%d" % (os.path.relpath(path, ROOT), n), v))
    return out


def case_options_docs():
    vals = documented_values()
    dt.check(len(vals) >= 2, "the README and docs/ hold DRIP_OPTIONS examples (%d found)" % len(vals))
    for where, v in vals:
        if v.endswith("..."):
            v = v[:-3]
        p = cli(["options", "--check", v])
        dt.check(p.returncode == 0 and not p.stderr, "%s: DRIP_OPTIONS=%s parses (%s)" % (where, v, p.stderr.strip()))
    p = cli(["options", "--check", "http=127.0.0.1:6060"])
    dt.eq(p.stdout, "http=127.0.0.1:6060\n", "http=127.0.0.1:6060 keeps its port")
    p = cli(["options", "--check", "json=report.json:error_exitcode=23"])
    dt.eq(p.stdout, "json=report.json\nerror_exitcode=23\n", "':' still separates options")
    p = cli(["options", "--check", "http=[::1]:6060 report=0:log_path=/tmp/a:b"])
    dt.eq(p.stdout, "report=0\nlog_path=/tmp/a:b\nhttp=[::1]:6060\n", "':' inside values that no option name follows")
    one_line_error(cli(["options", "--check", "http=127.0.0.1:6060:bogus=1"]), 2, "unknown option 'bogus'",
                   "an unknown name after ':' is still an error")


def case_drip_http():
    """DRIP_HTTP=host:port (docs/cli.md) serves the endpoint as http= does (the "serving" line goes
    to log_path, with the report, when there is one)."""
    log = tempfile.mktemp(suffix=".log")
    p = cli(["run", "--log-path", log, "--", "/bin/sleep", "0.2"], env=dict(os.environ, DRIP_HTTP="127.0.0.1:0"))
    dt.eq(p.returncode, 0, "DRIP_HTTP: status")
    text = open(log).read() if os.path.exists(log) else ""
    dt.check(re.search(r"drip: serving http://127\.0\.0\.1:\d+/ for process \d+", text) is not None,
             "DRIP_HTTP=127.0.0.1:0: the endpoint is served (%r)" % text)
    env = dict(os.environ, DRIP_HTTP="127.0.0.1:6060", DRIP_OPTIONS="http=127.0.0.1:0", LD_PRELOAD=dt.LIBDRIP)
    env["DRIP_OPTIONS"] += ":log_path=" + log
    p = subprocess.run(["/bin/sleep", "0.2"], capture_output=True, text=True, timeout=60, env=env)
    text = open(log).read() if os.path.exists(log) else ""
    dt.check(":6060/" not in text and "drip: serving http://127.0.0.1:" in text,
             "DRIP_OPTIONS' http= wins over DRIP_HTTP (%r)" % text)
    if os.path.exists(log):
        os.unlink(log)


# ---- 5: a program that brings its own allocator ----------------------------------------------

def own_allocator_line(prog, defines):
    return ("drip: %s brings its own allocator (it defines %s): drip cannot see the blocks it serves or their "
            "frees, so there is no leak report for this process (execs, forks and fatal signals are still followed)"
            % (prog, defines))


def case_own_allocator():
    prog = P + "/static_malloc"
    base = plain([prog])
    dt.eq((base.returncode, base.stdout), (0, "hello: 144 bytes of the static buffer used\n"), "without drip")
    for preload in (False, True):
        how = "LD_PRELOAD" if preload else "drip run"
        res = dt.run([prog], preload=preload)
        dt.eq((res.rc, res.out), (0, base.stdout), how + ": runs unharmed, same status and output")
        dt.check(re.fullmatch(r"==\d+== " + re.escape(own_allocator_line(prog, "malloc, free")) + "\n", res.err) is not None,
                 how + ": one line says what drip cannot see (%r)" % res.err)
        dt.eq(res.report and res.report.get("own_allocator"), {"module": prog, "defines": "malloc, free"},
              how + ": the JSON says the same")
        dt.eq(res.report and res.report.get("summary", 0), None, how + ": and gives no leak figures")
    # with a small program that also uses stdio, an exec and a fork
    res = dt.run(["/bin/sh", "-c", "exec " + prog])
    dt.eq((res.rc, res.out), (0, base.stdout), "exec'd by sh: runs unharmed")
    dt.check(own_allocator_line(prog, "malloc, free") in res.err, "exec'd by sh: the line")


# ---- 6: a fatal signal re-raised with the default disposition ----------------------------------

def case_reraise():
    for how in ("signal", "sigaction"):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGSEGV):
            what = "%s %s" % (how, sig.name)
            cmd = [P + "/reraise", how, str(int(sig))]
            base = plain(cmd)
            res = dt.run(cmd, ["--log-path", "/dev/null"])
            dt.eq(base.returncode, -sig, what + ": without drip, dies by the signal")
            dt.eq(res.rc, -sig, what + ": under drip, dies by the same signal")
            dt.eq(res.out, base.stdout, what + ": same output, dispositions read back included")
            dt.check(res.report is not None, what + ": the JSON report is written")
            if res.report:
                dt.eq(res.summary("definite"), (100, 1), what + ": the 100-byte leak is reported")


def python3():
    """A python3 that is the interpreter itself, not a wrapper that execs it (pyenv's shim)."""
    import sysconfig
    exe = os.path.join(sysconfig.get_config_var("BINDIR") or "/usr/bin", "python3")
    return exe if os.path.exists(exe) else "/usr/bin/python3"


def case_python_signals():
    """Python's KeyboardInterrupt: SIGINT's handler raises it; at exit Python sets SIG_DFL and
    kills itself with SIGINT. SIGTERM has no Python handler (drip's stands in for SIG_DFL)."""
    py = python3()
    for sig, code in ((signal.SIGINT, "import os,signal; os.kill(os.getpid(), signal.SIGINT)"),
                      (signal.SIGINT, "raise KeyboardInterrupt"),
                      (signal.SIGTERM, "import os,signal; os.kill(os.getpid(), signal.SIGTERM)")):
        res = dt.run([py, "-c", code], ["--log-path", "/dev/null"])
        dt.eq(res.rc, -sig, "python3 -c %r: dies by %s" % (code, sig.name))
        dt.check(res.report is not None and res.report.get("complete") is True,
                 "python3 -c %r: the JSON report is written" % code)


GROUP_KILL = """n=0
trap 'n=$((n+1))' TERM
kill -TERM 0
sleep 0.3
sleep 0.3
echo "TERM seen $n time(s)"
"""


def case_group_kill():
    """A script that sends SIGTERM to its own process group (`kill 0`, `trap 'kill 0' EXIT`):
    drip run is in that group too and gets it; the script got it itself, so drip must not pass it
    on (it saw it twice). A SIGTERM a process outside the group sends to drip run (a supervisor, a
    test harness) is still passed on: the program dies of it once."""
    sh = shutil.which("bash") or "/bin/sh"
    argv = [sh, "-c", GROUP_KILL]
    # setsid: a process group of its own, as a shell's job gets (else the group would be ctest's)
    base = subprocess.run(["setsid", "-w"] + argv, capture_output=True, text=True, timeout=60)
    dt.eq((base.returncode, base.stdout), (0, "TERM seen 1 time(s)\n"), "without drip: the trap runs once")
    p = subprocess.run(["setsid", "-w", dt.DRIP, "run", "--log-path", "/dev/null", "--"] + argv, capture_output=True,
                       text=True, timeout=60)
    dt.eq((p.returncode, p.stdout), (base.returncode, base.stdout), "under drip run: the trap runs once too")
    p = subprocess.Popen([dt.DRIP, "run", "--log-path", "/dev/null", "--", sh, "-c",
                          "trap 'echo TERM; kill $!; exit 3' TERM; sleep 30 & wait"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)   # from this process: outside the program's tree
    out, _ = p.communicate(timeout=60)
    dt.eq((p.returncode, out), (3, "TERM\n"), "a SIGTERM from outside reaches the program, once")


# ---- 8: the process drip run started stays traced through its in-place execs -------------------

LEAKS_DEFINITE = (148, 3)   # tests/progs/leaks.c


def case_exec_wrappers():
    d = tempfile.mkdtemp()
    wrapper = os.path.join(d, "wrap.sh")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexport WRAPPED=1\nexec "$@"\n')
    os.chmod(wrapper, 0o755)
    leaks = P + "/leaks"
    cases = [
        ("a shell script ending in exec \"$@\"", [wrapper, leaks]),
        ("env", ["env", "X=1", leaks]),
        ("nice", ["nice", "-n", "1", leaks]),
        ("stdbuf (which sets LD_PRELOAD itself)", ["stdbuf", "-o0", leaks]),
        ("setsid", ["setsid", leaks]),
        ("sh -c 'exec prog'", ["/bin/sh", "-c", "exec " + leaks]),
        ("env, nice and a script in a row", ["env", "Y=2", "nice", wrapper, leaks]),
    ]
    tmp = tempfile.mkdtemp()
    for what, cmd in cases:
        res = dt.run(cmd, env={"TMPDIR": tmp})
        dt.eq(res.rc, 0, what + ": status")
        dt.check(res.report is not None, what + ": the JSON report is written")
        if res.report:
            dt.eq(res.summary("definite"), LEAKS_DEFINITE, what + ": the exec'd program's leaks are reported")
        dt.eq(reports_in(res.err), 1, what + ": one text report")
    dt.eq(os.listdir(tmp), [], "drip run leaves no status directory behind")
    # one that a killed drip run left (its pid no longer runs) is removed by the next drip run
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = os.path.join(tmp, "drip-run-%d-AbC123" % dead.pid)
    os.mkdir(stale)
    open(os.path.join(stale, "state"), "w").close()
    keep = os.path.join(tmp, "drip-run-%d-AbC123" % os.getpid())
    os.mkdir(keep)
    dt.run(["/bin/true"], env={"TMPDIR": tmp})
    dt.eq(sorted(os.listdir(tmp)), [os.path.basename(keep)], "a killed run's directory is swept, a live one's kept")
    os.rmdir(keep)
    # the JSON file is written when the last program is a shell that leaves at once
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    os.unlink(path)
    p = cli(["run", "--json", path, "--", "env", "X=1", "sh", "-c", "exit 0"])
    dt.eq(p.returncode, 0, "env X=1 sh -c 'exit 0': status")
    dt.check(os.path.exists(path), "env X=1 sh -c 'exit 0': the JSON file is written")
    if os.path.exists(path):
        os.unlink(path)
    # under plain LD_PRELOAD too
    res = dt.run(["env", "X=1", leaks], preload=True)
    dt.check(res.report is not None and res.summary("definite") == LEAKS_DEFINITE, "LD_PRELOAD: env X=1 prog is reported")
    # a relative LD_PRELOAD and a program that changes directory before it execs
    libdir = os.path.dirname(dt.LIBDRIP)
    env = dict(os.environ, LD_PRELOAD="./" + os.path.basename(dt.LIBDRIP), DRIP_OPTIONS="log_path=/dev/null")
    p = subprocess.run(["/bin/sh", "-c", "cd / && exec " + leaks], capture_output=True, text=True, timeout=60,
                       env=env, cwd=libdir)
    dt.eq((p.returncode, p.stderr), (0, ""), "relative LD_PRELOAD, cd, exec: no loader error")
    # the output of the wrapped programs is theirs
    dt.eq(dt.run(["env", "X=1", "sh", "-c", "echo $X $WRAPPED"]).out, "1\n", "env passes its variables on")
    dt.eq(dt.run([wrapper, "sh", "-c", "echo $WRAPPED"]).out, "1\n", "the script's variables reach the program")


def case_exec_unfollowable():
    """Where no report can exist, drip run says so in one line, and why."""
    static = P + "/static_prog"
    cases = [
        ("static", ["/bin/sh", "-c", "exec " + static], "exec'd %s, which is statically linked: LD_PRELOAD cannot reach it, so there is no leak report" % static),
    ]
    d = tempfile.mkdtemp()
    if os.geteuid() == 0:
        suid = os.path.join(d, "suid_prog")
        with open(P + "/leaks", "rb") as src, open(suid, "wb") as dst:
            dst.write(src.read())
        os.chown(suid, 65534, 65534)
        os.chmod(suid, 0o4755)
        os.chmod(d, 0o755)
        cases.append(("setuid", ["/bin/sh", "-c", "exec " + suid],
                      "exec'd %s, which is setuid/setgid: the loader ignores LD_PRELOAD for it, so there is no leak report" % suid))
    for what, cmd, line in cases:
        base = plain(cmd)
        p = cli(["run", "--"] + cmd)
        dt.eq(p.returncode, base.returncode, what + ": the program's status")
        lines = [ln for ln in p.stderr.splitlines() if ln.startswith("drip:")]
        dt.eq(len(lines), 1, what + ": one line from drip (%r)" % lines)
        dt.check(bool(lines) and re.match(r"drip: process \d+ \((sh|env)\) ", lines[0]) is not None and lines[0].endswith(line),
                 what + ": it names the process and says why (%r)" % lines[:1])
    # drip run hides its variables from the program (test_unseen.py), so a program that clears
    # its environment (env -i) does not clear drip: the program it execs is traced, and sees
    # exactly the cleared environment
    res = dt.run(["env", "-i", P + "/leaks"])
    dt.check(res.report is not None and res.summary("definite") == LEAKS_DEFINITE, "env -i prog under drip run: traced")
    res = dt.run(["env", "-i", "A=1", "env"])
    dt.eq((res.rc, res.out), (0, "A=1\n"), "env -i A=1 env under drip run: the cleared environment, nothing of drip's")
    # under plain LD_PRELOAD the variables are the user's, and env -i clears them: one line
    env = dict(os.environ, LD_PRELOAD=dt.LIBDRIP)
    p = subprocess.run(["env", "-i", P + "/leaks"], capture_output=True, text=True, timeout=60, env=env)
    dt.check(p.stderr.startswith("drip: process ") and p.stderr.endswith(
        "exec'd %s with a cleared environment (no LD_PRELOAD, as env -i makes): drip cannot follow it, so there is no leak report\n" % (P + "/leaks")),
        "LD_PRELOAD: env -i prog is named on stderr (%r)" % p.stderr)
    # under plain LD_PRELOAD there is no drip run to print it: the library says it at the exec
    env = dict(os.environ, LD_PRELOAD=dt.LIBDRIP)
    p = subprocess.run(["/bin/sh", "-c", "exec " + static], capture_output=True, text=True, timeout=60, env=env)
    dt.check(p.stderr.startswith("drip: process ") and p.stderr.endswith(cases[0][2] + "\n"),
             "LD_PRELOAD: the static exec is named on stderr (%r)" % p.stderr)
    # a program started as root that drops its privileges still tells drip run it reported
    if os.geteuid() == 0:
        p = cli(["run", "--log-path", "/dev/null", "--", "/usr/bin/python3", "-c",
                 "import os; os.setgid(65534); os.setuid(65534)"])
        dt.eq((p.returncode, p.stderr), (0, ""), "a root process that becomes nobody: no false 'no report' line")
    # --no-report: the user did not ask for a report, drip says nothing
    p = cli(["run", "--no-report", "--", "/bin/sh", "-c", "exec " + static])
    dt.eq(p.stderr, "", "--no-report: no line")


def case_sanitized():
    """A program built with gcc's -fsanitize=address needs libasan.so first in the process; with
    libdrip.so in LD_PRELOAD it stopped at once ("ASan runtime does not come first", status 1).
    drip run refuses it with one line (2); a traced shell that execs it in place hands it no drip
    and says so; under --follow-exec a child that runs it is counted, not traced: in each, the
    program runs as without drip."""
    import shutil
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        dt.skip("no C compiler")
    d = tempfile.mkdtemp(prefix="drip-contract-")
    try:
        src, prog = os.path.join(d, "a.c"), os.path.join(d, "asan_prog")
        with open(src, "w") as f:
            f.write('#include <stdio.h>\n#include <stdlib.h>\nint main(void){free(malloc(8)); puts("hi"); return 3;}\n')
        if subprocess.run([cc, "-fsanitize=address", "-o", prog, src], capture_output=True).returncode != 0:
            dt.skip("the compiler cannot build with -fsanitize=address here")
        base = plain([prog])
        if (base.returncode, base.stdout) != (3, "hi\n"):
            dt.skip("the AddressSanitizer program does not run here: %r" % base.stderr[:200])
        p = cli(["run", "--", prog])
        dt.eq((p.returncode, p.stdout), (2, ""), "drip run refuses it, status 2")
        dt.check(re.fullmatch(r"drip: %s is built with AddressSanitizer \(libasan\.so\.\d+\), whose runtime must come "
                              r"first in the process: .*\n" % re.escape(prog), p.stderr) is not None, "one line says why (%r)" % p.stderr)
        p = cli(["run", "--", "/bin/sh", "-c", "exec " + prog])
        dt.eq((p.returncode, p.stdout), (3, "hi\n"), "exec in place: the program runs as without drip")
        lines = [ln for ln in p.stderr.splitlines() if ln.startswith("drip:")]
        dt.check(len(lines) == 1 and re.match(r"drip: process \d+ \(sh\) exec'd %s, which is built with AddressSanitizer "
                                              % re.escape(prog), lines[0]) is not None, "one line says why (%r)" % lines)
        p = cli(["run", "--follow-exec", "--", "/bin/sh", "-c", prog + "; echo $?"])
        dt.eq((p.returncode, p.stdout), (0, "hi\n3\n"), "--follow-exec: the child runs as without drip")
        dt.check(re.search(r"not traced: 1 child process\(es\) ran a program built with a sanitizer, whose runtime must "
                           r"come first \(the first: %s\)" % re.escape(prog), p.stderr) is not None,
                 "--follow-exec: the report counts it (%r)" % p.stderr[-300:])
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- 14: a process killed by SIGKILL ----------------------------------------------------------

def case_sigkill():
    p = cli(["run", "--", "/bin/sh", "-c", "kill -9 $$"])
    dt.eq(p.returncode, -signal.SIGKILL, "the status is the program's: killed by SIGKILL")
    dt.check(re.fullmatch(r"drip: process \d+ \(sh\) was killed by SIGKILL: no report\n", p.stderr) is not None,
             "one line names the process and the signal (%r)" % p.stderr)
    # a signal drip leaves to profilers, with its default action (SIGPROF kills)
    p = cli(["run", "--", "/bin/sh", "-c", "kill -PROF $$"])
    dt.check(re.fullmatch(r"drip: process \d+ \(sh\) was killed by SIGPROF: no report\n", p.stderr) is not None,
             "SIGPROF too (%r)" % p.stderr)
    # SIGUSR1 with no handler kills too: drip stands in for its SIG_DFL, reports, and dies by it
    p = cli(["run", "--", "/bin/sh", "-c", "kill -USR1 $$"])
    dt.eq(p.returncode, -signal.SIGUSR1, "SIGUSR1: the status is the program's")
    dt.check("drip: leak report for process" in p.stderr and "no report" not in p.stderr, "SIGUSR1: reported (%r)" % p.stderr[-200:])


def case_stack_overflow():
    """A program that dies of a stack overflow (SIGSEGV on a stack no handler can run on) gets no
    report, and drip run says so in one line, as for SIGKILL (docs/run.md: valgrind reports it)."""
    prog = os.path.join(P, "overflow")
    plain = subprocess.run([prog], capture_output=True, text=True, timeout=60)
    p = cli(["run", "--", prog])
    dt.eq((p.returncode, p.stdout), (plain.returncode, plain.stdout), "status and output as without drip")
    dt.eq(p.returncode, -signal.SIGSEGV, "killed by SIGSEGV")
    dt.check(re.fullmatch(r"drip: process \d+ \(overflow\) was killed by SIGSEGV: no report\n", p.stderr) is not None,
             "one line names the process and the signal (%r)" % p.stderr)


# ---- 10: forked children ---------------------------------------------------------------------

SUBSHELLS = "i=0; while [ $i -lt 5 ]; do x=$(echo $i); i=$((i+1)); done; echo $x"


def case_child_silent():
    p = cli(["run", "--", "/bin/sh", "-c", SUBSHELLS])
    dt.eq((p.returncode, p.stdout), (0, "4\n"), "5 subshells: status and output")
    dt.eq(reports_in(p.stderr), 6, "without the option: the shell and its 5 subshells report")
    p = cli(["run", "--child-silent-after-fork", "--", "/bin/sh", "-c", SUBSHELLS])
    dt.eq((p.returncode, p.stdout), (0, "4\n"), "--child-silent-after-fork: status and output")
    dt.eq(reports_in(p.stderr), 1, "--child-silent-after-fork: only the shell reports")
    env = dict(os.environ, DRIP_OPTIONS="child_silent_after_fork=1")
    p = cli(["run", "--", "/bin/sh", "-c", SUBSHELLS], env=env)
    dt.eq(reports_in(p.stderr), 1, "DRIP_OPTIONS child_silent_after_fork=1: only the shell reports")
    # a silent child that execs with --follow-exec: the exec'd program reports
    p = cli(["run", "--child-silent-after-fork", "--follow-exec", "--", "/bin/sh", "-c", P + "/leaks; true"])
    dt.eq(reports_in(p.stderr), 2, "--follow-exec: the program a silent child execs reports")


def case_untraced_children():
    line = re.compile(r"==\d+==   not traced: (\d+) child process\(es\) ran a program drip did not follow "
                      r"\(the first: ([^)]*)\); rerun with --follow-exec to trace them")
    p = cli(["run", "--", "/bin/sh", "-c", "/bin/true; /bin/true; exit 0"])
    m = line.search(p.stderr)
    dt.eq(m.groups() if m else None, ("2", "/bin/true"), "sh running two programs: counted and named")
    fd, log = tempfile.mkstemp(suffix=".log")
    os.close(fd)
    for wrapper in (["timeout", "10"], ["/usr/bin/time", "-o", "/dev/null"]):
        if not os.path.exists(wrapper[0]) and subprocess.run(["which", wrapper[0]], capture_output=True).returncode:
            continue
        # timeout closes stderr at exit: the report goes to a file
        p = cli(["run", "--log-path", log, "--"] + wrapper + [P + "/leaks"])
        with open(log) as f:
            m = line.search(f.read())
        dt.eq(m.groups() if m else None, ("1", P + "/leaks"), "%s prog: the untraced child is counted" % wrapper[0])
    os.unlink(log)
    spawn = os.path.join(dt.BUILD, "bin", "faults", "spawn")
    spawn = os.path.abspath(spawn)
    for how, want in (("fork-exec", ("1", spawn)), ("posix_spawn", ("1", spawn)), ("vfork-exec", ("1", spawn)),
                      ("vfork-fail", None)):
        p = cli(["run", "--", spawn, how])
        m = line.search(p.stderr)
        dt.eq(m.groups() if m else None, want, "spawn %s: %s" % (how, "counted" if want else "a failed exec is not counted"))
    p = cli(["run", "--follow-exec", "--", "/bin/sh", "-c", "/bin/true; exit 0"])
    dt.check(line.search(p.stderr) is None, "--follow-exec: nothing untraced")
    p = cli(["run", "--", "/bin/sh", "-c", "exit 0"])
    dt.check(line.search(p.stderr) is None, "no child: no line")


def child_and_parent(err):
    """The pids of the reports in err: (child, parent), the child being the one with a Parent PID."""
    child = re.search(r"==(\d+)== Parent PID: (\d+)", err)
    return (int(child.group(1)), int(child.group(2))) if child else (None, None)


def case_child_inherited():
    prog = P + "/fork_inherit"
    # a child with a leak of its own and inherited leaks: only its own record is listed
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    p = cli(["run", "--json", path, "--", prog, "own"])
    dt.eq((p.returncode, p.stdout), (0, "child status 0\n"), "own: status and output")
    cpid, ppid = child_and_parent(p.stderr)
    dt.check(cpid is not None, "own: the child's report names its parent")
    rec = re.compile(r"==(\d+)== ([\d,]+) bytes in ([\d,]+) blocks are (\w+ \w+) in loss record \d+ of \d+")
    recs = [(int(m.group(1)), m.group(2), m.group(3), m.group(4)) for m in rec.finditer(p.stderr)]
    dt.eq([r[1:] for r in recs if r[0] == cpid], [("33", "1", "definitely lost")], "own: the child lists only its own block")
    # (the parent also has its stdout buffer, allocated after the fork)
    dt.eq(sorted(r[1:] for r in recs if r[0] == ppid and r[1] in ("100", "50")),
          [("100", "1", "definitely lost"), ("50", "1", "still reachable")], "own: the parent still lists the blocks the child inherited")
    line = "==%d== 150 bytes in 2 blocks inherited from parent %d at fork are not listed: the parent reports them" % (cpid, ppid)
    dt.check(line in p.stderr.splitlines(), "own: the inherited line: " + line)
    dt.check(("==%d== SUMMARY" % cpid) not in p.stderr and
             re.search(r"SUMMARY: drip: 33 bytes leaked in 1 blocks; 0 bytes possibly lost; 0 bytes still reachable", p.stderr)
             is not None, "own: the child's SUMMARY counts only its own block")
    import json
    children = glob.glob(path + ".*")
    child = json.load(open(children[0])) if len(children) == 1 else {}
    dt.eq(child.get("inherited"), {"bytes": 150, "blocks": 2, "parent": ppid}, "own: the child's JSON inherited figures")
    dt.eq([(r["kind"], r["bytes"], r["blocks"]) for r in child.get("leaks", [])], [("definite", 33, 1)], "own: the child's JSON leaks")
    dt.eq(child.get("summary", {}).get("definite"), {"bytes": 33, "blocks": 1}, "own: the child's JSON summary")
    parent = json.load(open(path))
    dt.check("inherited" not in parent, "own: the parent's JSON has no inherited figures")
    for f in [path] + children:
        os.unlink(f)

    # a child that allocates nothing: the short report, and no symbolizer started for it
    d = tempfile.mkdtemp()
    log = os.path.join(d, "cli.log")
    wrapper = os.path.join(d, "drip-cli")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\necho \"$PPID $*\" >> %s\nexec %s \"$@\"\n" % (log, os.path.abspath(dt.DRIP)))
    os.chmod(wrapper, 0o755)
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    p = cli(["run", "--json", path, "--", prog, "none"], env=dict(os.environ, DRIP_CLI=wrapper))
    dt.eq((p.returncode, p.stdout), (0, "child status 0\n"), "none: status and output")
    cpid, ppid = child_and_parent(p.stderr)
    want = ["==%d== drip: leak report for process %d" % (cpid, cpid),
            "==%d== Command: %s none" % (cpid, prog),
            "==%d== Parent PID: %d" % (cpid, ppid),
            "==%d== no blocks of its own: 150 bytes in 2 blocks inherited from parent %d at fork (the parent reports them)" % (cpid, ppid),
            "==%d==" % cpid,
            "==%d== LEAK SUMMARY:" % cpid,
            "==%d==    definitely lost: 0 bytes in 0 blocks" % cpid,
            "==%d==    indirectly lost: 0 bytes in 0 blocks" % cpid,
            "==%d==      possibly lost: 0 bytes in 0 blocks" % cpid,
            "==%d==    still reachable: 0 bytes in 0 blocks" % cpid,
            "==%d==         suppressed: 0 bytes in 0 blocks" % cpid,
            "SUMMARY: drip: 0 bytes leaked in 0 blocks; 0 bytes possibly lost; 0 bytes still reachable; "
            "0 thread(s) still running; 0 growth suspect(s)"]
    lines = p.stderr.splitlines()
    start = lines.index(want[0]) if want[0] in lines else -1
    got = [l for l in lines[start:start + len(want)] if "Executable:" not in l] if start >= 0 else []
    dt.eq(got, want, "none: the child's short report")
    with open(log) as f:
        callers = [int(l.split()[0]) for l in f if l.strip()]
    dt.check(ppid in callers, "none: the wrapper logged the parent's symbolizer (%s)" % callers)
    dt.check(cpid not in callers, "none: no symbolizer started for the child (%s)" % callers)
    children = glob.glob(path + ".*")
    child = json.load(open(children[0])) if len(children) == 1 else {}
    dt.eq((child.get("inherited"), child.get("leaks"), child.get("summary", {}).get("definite")),
          ({"bytes": 150, "blocks": 2, "parent": ppid}, [], {"bytes": 0, "blocks": 0}), "none: the child's JSON")
    dt.check("symbolized" not in child, "none: the child's JSON does not say frames are unnamed")
    for f in [path] + children:
        os.unlink(f)
    os.unlink(log)
    os.unlink(wrapper)
    os.rmdir(d)

    # --error-exitcode: inherited leaks do not change a child's status; its own leak does
    p = cli(["run", "--error-exitcode", "7", "--", prog, "none"])
    dt.eq((p.returncode, p.stdout), (7, "child status 0\n"), "--error-exitcode, child with only inherited leaks: status 0")
    p = cli(["run", "--error-exitcode", "7", "--", prog, "own"])
    dt.eq((p.returncode, p.stdout), (7, "child status 7\n"), "--error-exitcode, child with a leak of its own: status 7")


if __name__ == "__main__":
    dt.main(globals())
