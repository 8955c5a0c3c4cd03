"""Edge cases a demanding new user tries on `drip run` (small programs, not labelled real).

Usage: test_edges.py CASE
  diskfull     the JSON's disk fills while it is written (a 64 KiB tmpfs with 4 KiB free, a 4.7 KB
               report): no JSON cut short is left under the report's name, and stderr says
               "cannot write report ...: No space left on device"; the text report on stderr is
               printed once, whole, frames named (needs root to mount: SKIP)
  stdio_closed `drip run -- ls / >&- 2>&-`: the status is ls's and the JSON is written, whole; a
               program started with fd 2 closed that makes fd 2 its own log (exec 2>lg.txt) and
               execs: drip's text report does not go into that file (it has no destination)
  ulimit_n     under `ulimit -n 20` the program's open() returns the numbers it does without drip
               (drip's copy of the report's destination sits at the top of the range, not at 4)
  ulimit_v     under `ulimit -v 200000` (195 MiB) the leaks program's report is complete and finds
               its 148 bytes (drip's reserve took 512 MiB of it, and nothing was recorded); under
               60000 the report says it is incomplete
  ulimit_v_oom a program that leaks until malloc fails under `ulimit -v 262144` (tests/progs/oom.c)
               and exits 1: its report is written, complete, and counts every block it said it
               got (drip's exit path took libc's allocator, which the program had exhausted:
               no symbolizer could start, and nothing at all was said)
  ulimit_v_exec `sh -c 'ulimit -v 262144; exec leaks'`: the shell lowers its limit below what drip
               reserved when it started, then execs: the exec'd program is traced and its report
               finds the 148 bytes (drip could not map the environment it hands on: leaks ran
               untraced, "exited ... without writing a report")
  setrlimit_as the program lowers its own RLIMIT_AS to 400 MiB (python's setrlimit and prlimit, bash's
               `ulimit -v` before it reads 3 MB into a variable) and then allocates: as without drip, and the
               report is written
  ulimit_f     `sh -c 'ulimit -f 1; exec leaks'` (1,024 bytes, less than the report): the program
               is not killed by SIGXFSZ (the report's write raised it; drip held it, then the
               program died of it) and exits 0; with only the soft limit lowered (`ulimit -S -f
               1`) the report is complete, with both the report is complete where drip may lift
               the hard limit (root with CAP_SYS_RESOURCE), else the log and the JSON say
               "could not write its leak report: File too large"
  ulimit_s     under `ulimit -s 128` (plain LD_PRELOAD: the process starts its own symbolizer, which
               inherits the limit) the report's frames are named (libdw needs more stack: "frames
               are not named (the symbolizer failed)")
  argv_rewritten a program that rewrites its command line for ps (perl's $0, as nginx's
               "nginx: worker process" does): the report's command is the one it was run with
  dash_paths   --json -, --log-path -, --profile -: exit 2 with one line saying why (stdout is the
               program's), and no file named "-" (it was written there, silently)
  nonutf8_argv an argument that is not UTF-8 (\\xff): the JSON report still parses (U+FFFD)
  pid_namespace what `unshare --pid --fork --mount-proc` does (tests/progs/newns.c): the parent
               shares the mount namespace where its child mounted the new pid namespace's /proc,
               in which the parent is no entry: its report is complete and finds its 77 bytes (it
               read neither its maps nor its tasks: an empty report "out of memory while
               scanning", and a line on the program's stderr), and the descriptor drip keeps for
               /proc is not the program's next number (needs root)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402


def case_diskfull():
    if os.geteuid() != 0:
        dt.skip("needs root to mount a tmpfs")
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], capture_output=True).returncode != 0:
            dt.skip("cannot mount a tmpfs here")
        try:
            with open(os.path.join(d, "fill"), "wb") as f:
                f.write(b"\0" * 60 * 1024)
            J = os.path.join(d, "r.json")
            leaks = os.path.join(dt.PROGS, "leaks")
            plain = subprocess.run([leaks], capture_output=True, text=True, timeout=60)
            logd = tempfile.mkdtemp(prefix="drip-edges-log-")
            logf = os.path.join(logd, "log")
            p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", logf, "--", leaks],
                               capture_output=True, text=True, timeout=120)
            with open(logf) as f:
                logtext = f.read()
            shutil.rmtree(logd, ignore_errors=True)
            dt.eq((p.returncode, p.stdout), (plain.returncode, plain.stdout), "status and stdout as without drip")
            # drip run (whose small write may still fit) puts a JSON that says why there is none
            r = {"complete": False, "no_report": "No space left on device"}
            if os.path.exists(J):
                try:
                    with open(J) as f:
                        r = json.load(f)
                except ValueError as e:
                    r = {"cut short": str(e)}
            dt.eq((r.get("complete"), "No space left on device" in r.get("no_report", "")), (False, True),
                  "no JSON cut short under the report's name: none, or one that says why (%r)" % r)
            # with --log-path, drip's lines go to the log: the program's stderr stays its own
            dt.eq([ln for ln in logtext.splitlines() if ln.startswith("drip: cannot write report ")],
                  ["drip: cannot write report %s: No space left on device" % J], "the log says why there is no JSON")
            dt.eq(p.stderr, plain.stderr, "stderr as without drip")
            dt.eq(sorted(f for f in os.listdir(d) if f != "r.json"), ["fill"], "no temporary file left")
            # the text report on stderr: drip run's shared symbolizer writes it, then fails on the
            # JSON; it was retried from the raw report's end ("drip: stdin: empty raw report") and
            # the text printed a second time, frames unnamed. Now: once, whole, named, one line why.
            if os.path.exists(J):
                os.unlink(J)
            p = subprocess.run([dt.DRIP, "run", "--json", J, "--", leaks], capture_output=True, text=True, timeout=120)
            dt.eq((p.returncode, p.stdout), (plain.returncode, plain.stdout), "text on stderr: status and stdout")
            dt.eq(p.stderr.count("drip: leak report for process"), 1, "the text report's header appears once")
            dt.eq(p.stderr.count("LEAK SUMMARY:"), 1, "the text report's summary appears once")
            dt.eq(p.stderr.count("definitely lost: 148 bytes in 3 blocks"), 1, "the text report is whole")
            dt.check("lose_pointer (leaks.c:" in p.stderr, "its frames are named")
            dt.check("frames are not named" not in p.stderr and "empty raw report" not in p.stderr,
                     "no second attempt of a request the symbolizer answered")
            dt.eq([ln for ln in p.stderr.splitlines() if ln.startswith("drip: cannot write report")],
                  ["drip: cannot write report %s: No space left on device" % J], "one line says why there is no JSON")
            dt.eq([ln for ln in p.stderr.splitlines() if ln.startswith("drip: cannot write the report") or
                   "could not write its report" in ln], [], "nothing says it a second time (the symbolizer, drip run)")
            with open(J) as f:
                r = json.load(f)
            dt.eq((r.get("complete"), r.get("no_report")),
                  (False, "drip: process %d could not write its report %s: No space left on device" % (r.get("pid"), J)),
                  "drip run's stand-in JSON says why there is none")
            dt.eq(sorted(f for f in os.listdir(d) if f != "r.json"), ["fill"], "no temporary file left (text on stderr)")
        finally:
            subprocess.run(["umount", d], capture_output=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_stdio_closed():
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        J = os.path.join(d, "r.json")
        closed = lambda: (os.close(1), os.close(2))
        for name, argv in (("ls / >&- 2>&-", ["ls", "/"]),
                           ("exec 2>lg.txt", ["sh", "-c", "exec 2>lg.txt; echo mine >&2; exec sort small"])):
            res = []
            for drip in (False, True):
                for f in os.listdir(d):
                    os.unlink(os.path.join(d, f))
                with open(os.path.join(d, "small"), "w") as f:
                    f.write("b\na\n")
                cmd = ([dt.DRIP, "run", "--json", J, "--"] if drip else []) + argv
                p = subprocess.run(cmd, cwd=d, preexec_fn=closed, timeout=60)
                lg = os.path.join(d, "lg.txt")
                res.append((p.returncode, open(lg).read() if os.path.exists(lg) else None))
            dt.eq(res[1], res[0], name + ": status and the program's own file as without drip")
            r = None
            if os.path.exists(J):
                with open(J) as f:
                    try:
                        r = json.load(f)
                    except ValueError as e:   # a JSON cut short (64 KiB of it)
                        dt.check(False, name + ": the JSON parses (%s)" % e)
            dt.check(r is not None and r.get("complete") is True, name + ": the JSON report is written, complete")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_ulimit_n():
    import resource
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        lim = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (20, 20))
        argv = ["python3", "-c", "import os; print([os.open('/dev/null', 0) for _ in range(5)])"]
        plain = subprocess.run(argv, preexec_fn=lim, capture_output=True, text=True, timeout=60)
        p = subprocess.run([dt.DRIP, "run", "--log-path", os.path.join(d, "r.txt"), "--"] + argv, preexec_fn=lim,
                           capture_output=True, text=True, timeout=120)
        dt.eq((p.returncode, p.stdout), (plain.returncode, plain.stdout), "status and the descriptors opened, as without drip")
        dt.check(open(os.path.join(d, "r.txt")).read().rstrip().split("\n")[-1].startswith("SUMMARY: drip:"), "the report is whole")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def skip_sanitized_under_as_limit():
    if "address" in dt.sanitizer() or "thread" in dt.sanitizer():
        dt.skip("drip is built with a sanitizer whose shadow memory cannot live under a lower RLIMIT_AS")


def case_ulimit_v():
    import resource
    skip_sanitized_under_as_limit()
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        leaks = os.path.join(dt.PROGS, "leaks")
        for kib, complete in ((200000, True), (60000, False)):
            lim = lambda: resource.setrlimit(resource.RLIMIT_AS, (kib * 1024, kib * 1024))
            J = os.path.join(d, "r%d.json" % kib)
            plain = subprocess.run([leaks], preexec_fn=lim, capture_output=True, text=True, timeout=60)
            p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", "/dev/null", "--", leaks], preexec_fn=lim,
                               capture_output=True, text=True, timeout=120)
            dt.eq((p.returncode, p.stdout), (plain.returncode, plain.stdout), "ulimit -v %d: status and stdout as without drip" % kib)
            with open(J) as f:
                r = json.load(f)
            dt.eq(r.get("complete"), complete, "ulimit -v %d: the report says whether it is complete" % kib)
            if complete:
                dt.eq(dt.summary(r, "definite"), (148, 3), "ulimit -v %d: the 148 bytes definitely lost" % kib)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_ulimit_v_oom():
    import re
    import resource
    skip_sanitized_under_as_limit()
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        prog = os.path.join(dt.PROGS, "oom")
        lim = lambda: resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))
        J, L = os.path.join(d, "r.json"), os.path.join(d, "r.txt")
        p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--", prog], preexec_fn=lim,
                           capture_output=True, text=True, timeout=300)
        m = re.match(r"out of memory after (\d+) blocks\n$", p.stdout)
        dt.check(m is not None, "the program ran out of memory: %r" % p.stdout)
        dt.eq((p.returncode, p.stderr), (1, ""), "its status, and nothing of drip's on stderr")
        n = int(m.group(1)) if m else -1
        r = None
        if os.path.exists(J):
            with open(J) as f:
                r = json.load(f)
        dt.check(r is not None and r.get("complete") is True, "the JSON report is written, complete")
        if r:
            dt.eq(dt.summary(r, "definite"), (4096 * n, n), "every block the program got is definitely lost")
        text = open(L).read() if os.path.exists(L) else ""
        dt.check(text.rstrip().split("\n")[-1].startswith("SUMMARY: drip: %s bytes leaked" % format(4096 * n, ",")),
                 "the text report is whole")
        dt.check(" main (oom.c:" in text, "its frames are named (the symbolizer ran)")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_ulimit_v_exec():
    skip_sanitized_under_as_limit()
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        leaks = os.path.join(dt.PROGS, "leaks")
        argv = ["sh", "-c", 'ulimit -v 262144 && exec "$0"', leaks]
        plain = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        J, L = os.path.join(d, "r.json"), os.path.join(d, "r.txt")
        p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--"] + argv, capture_output=True, text=True,
                           timeout=120)
        dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr), "as without drip")
        with open(J) as f:
            r = json.load(f)
        dt.check(r.get("complete") is True, "the exec'd program's report is complete: %r" % r.get("no_report"))
        dt.eq(dt.summary(r, "definite") if r.get("summary") else None, (148, 3), "the 148 bytes definitely lost")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_setrlimit_as():
    """The program lowers its own RLIMIT_AS after drip started (python's resource.setrlimit, and a
    shell's `ulimit -v` before its next command): drip's reserved range is cut to fit under the
    new limit (arena.c, interpose.c), so the program's next large allocation succeeds as it does
    without drip, and the report is still written."""
    skip_sanitized_under_as_limit()
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        for how, argv in (
                ("setrlimit", [sys.executable, "-c", "import resource as r\n"
                               "r.setrlimit(r.RLIMIT_AS, (400 << 20, 400 << 20))\n"
                               "x = bytearray(100 << 20)\nprint(len(x))"]),
                ("prlimit", [sys.executable, "-c", "import resource as r\n"
                             "r.prlimit(0, r.RLIMIT_AS, (400 << 20, 400 << 20))\n"
                             "x = bytearray(100 << 20)\nprint(len(x))"]),
                ("ulimit -v", ["bash", "-c", "ulimit -v 409600; x=$(head -c 3000000 /dev/zero | tr '\\0' a); "
                               "echo ${#x}"])):
            plain = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            dt.eq((plain.returncode, plain.stdout.strip()), (0, "104857600" if how != "ulimit -v" else "3000000"),
                  how + ": without drip")
            J, L = os.path.join(d, "r.json"), os.path.join(d, "r.txt")
            p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--"] + argv, capture_output=True,
                               text=True, timeout=120)
            dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr),
                  how + ": status and output as without drip")
            with open(J) as f:
                r = json.load(f)
            dt.check(r.get("summary") is not None, how + ": the report is written")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def can_lift_fsize():
    """Whether a process that lowered its hard RLIMIT_FSIZE may raise it again (CAP_SYS_RESOURCE)."""
    probe = ("import resource as r; r.setrlimit(r.RLIMIT_FSIZE, (1024, 1024))\n"
             "try:\n r.setrlimit(r.RLIMIT_FSIZE, (r.RLIM_INFINITY, r.RLIM_INFINITY)); print(1)\n"
             "except (ValueError, OSError):\n print(0)")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "1"


def case_ulimit_f():
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        leaks = os.path.join(dt.PROGS, "leaks")
        lift = can_lift_fsize()
        for how, complete in (("-S -f 1", True), ("-f 1", lift)):
            argv = ["sh", "-c", 'ulimit %s && exec "$0"' % how, leaks]
            plain = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            J, L = os.path.join(d, "r.json"), os.path.join(d, "r.txt")
            p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--"] + argv, capture_output=True,
                               text=True, timeout=120)
            dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr),
                  "ulimit %s: status and output as without drip (no SIGXFSZ)" % how)
            with open(J) as f:
                r = json.load(f)
            with open(L) as f:
                text = f.read()
            if complete:
                dt.check(r.get("complete") is True, "ulimit %s: the JSON report is complete" % how)
                dt.eq(dt.summary(r, "definite"), (148, 3), "ulimit %s: the 148 bytes definitely lost" % how)
                dt.check(text.rstrip().split("\n")[-1].startswith("SUMMARY: drip: 244 bytes leaked"),
                         "ulimit %s: the text report is whole" % how)
            else:
                why = "could not write its leak report: File too large"
                dt.check(r.get("complete") is False and why in r.get("no_report", ""),
                         "ulimit %s: the JSON says there is no report, and why: %r" % (how, r.get("no_report")))
                dt.check(why in text, "ulimit %s: the log says why there is no report: %r" % (how, text))
            os.unlink(J)
            os.unlink(L)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_ulimit_s():
    import resource
    leaks = os.path.join(dt.PROGS, "leaks")
    lim = lambda: resource.setrlimit(resource.RLIMIT_STACK, (128 << 10, resource.RLIM_INFINITY))
    env = dict(os.environ, LD_PRELOAD=dt.LIBDRIP)
    env.pop("DRIP_OPTIONS", None)
    plain = subprocess.run([leaks], preexec_fn=lim, capture_output=True, text=True, timeout=60)
    p = subprocess.run([leaks], preexec_fn=lim, capture_output=True, text=True, timeout=120, env=env)
    dt.eq((p.returncode, p.stdout), (plain.returncode, plain.stdout), "status and stdout as without drip")
    dt.eq([l for l in p.stderr.splitlines() if "not named" in l], [], "no line says the frames are not named")
    dt.check(" (leaks.c:" in p.stderr, "the frames are named")
    dt.check(p.stderr.rstrip().split("\n")[-1].startswith("SUMMARY: drip: 244 bytes leaked"), "the report is whole")


def case_argv_rewritten():
    if not shutil.which("perl"):
        dt.skip("perl is not installed")
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        J = os.path.join(d, "r.json")
        argv = ["perl", "-e", '$0 = "renamed: worker process"; open(F, "/proc/self/cmdline"); print <F>, "\\n"']
        plain = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", "/dev/null", "--"] + argv, capture_output=True,
                           text=True, timeout=60)
        dt.eq((p.returncode, p.stdout), (plain.returncode, plain.stdout), "status and stdout (the new title) as without drip")
        dt.check(p.stdout.startswith("renamed: worker process"), "the program did rename itself (%r)" % p.stdout)
        with open(J) as f:
            dt.eq(json.load(f)["command"], argv, "the report's command is the one run, not the title")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_dash_paths():
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        for opt in ("--json", "--log-path", "--profile"):
            p = subprocess.run([dt.DRIP, "run", opt, "-", "--", "true"], cwd=d, capture_output=True, text=True, timeout=60)
            lines = p.stderr.splitlines()
            dt.eq((p.returncode, p.stdout, len(lines)), (2, "", 1), "%s -: exit 2, one line (%r)" % (opt, p.stderr))
            dt.check(lines and "stdout is the program's" in lines[0], "%s -: the line says why" % opt)
            dt.eq(os.listdir(d), [], "%s -: no file named '-'" % opt)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_nonutf8_argv():
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        J = os.path.join(d, "r.json")
        arg = b"\xff\xfe-\xc3\xa9"
        p = subprocess.run([dt.DRIP.encode(), b"run", b"--json", J.encode(), b"--log-path", b"/dev/null", b"--",
                            b"printf", b"%s\\n", arg], capture_output=True, timeout=60)
        dt.eq((p.returncode, p.stdout), (0, arg + b"\n"), "status and stdout as without drip")
        with open(J, "rb") as f:
            raw = f.read()
        try:
            r = json.loads(raw.decode("utf-8"))
        except ValueError as e:
            r = None
            dt.check(False, "the JSON report is UTF-8 and parses (%s)" % e)
        if r is not None:
            dt.eq(r["command"], ["printf", "%s\\n", "\ufffd\ufffd-\u00e9"], "the command, bytes that are not UTF-8 as U+FFFD")
            dt.check(r.get("complete") is True, "the report is complete")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_pid_namespace():
    if os.geteuid() != 0:
        dt.skip("needs root to unshare the mount and pid namespaces")
    prog = os.path.join(dt.PROGS, "newns")
    plain = subprocess.run([prog], capture_output=True, text=True, timeout=60)
    if plain.returncode == 77:
        dt.skip("no namespaces here: " + plain.stdout.strip())
    dt.eq((plain.returncode, plain.stdout.split("\n")[0]), (0, "/proc/self: No such file or directory"),
          "plain: the parent is no entry of the /proc its child mounted")
    d = tempfile.mkdtemp(prefix="drip-edges-")
    try:
        J, L = os.path.join(d, "r.json"), os.path.join(d, "r.txt")
        p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--", prog], capture_output=True, text=True,
                           timeout=120)
        dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr),
              "status, stdout (the number open() returned) and stderr as without drip")
        with open(J) as f:
            r = json.load(f)
        dt.check(r.get("complete") is True, "the report is complete")
        dt.eq(dt.summary(r, "definite"), (77, 1), "the 77 lost bytes are found")
        with open(L) as f:
            text = f.read()
        dt.eq([l for l in text.splitlines() if "out of memory" in l or "cannot stop" in l], [],
              "no incomplete scan, no signal pause")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    dt.main(globals())
