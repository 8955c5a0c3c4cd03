"""drip run's own path, as a new user meets it on real programs (the sweep of issue #12): what
drip run itself prints, and where, when the program gives it no report.

Usage: test_runpath.py CASE   (one ctest per case; `test_runpath.py --list` names them)
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

P = dt.PROGS


def cli(args, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run([dt.DRIP] + args, capture_output=True, text=True, **kw)


def case_no_report_line_to_log():
    """With --log-path the line that stands for a missing report goes to that file, not to the
    program's stderr (as valgrind's --log-file keeps its own lines off it): the program's stderr
    carries its own bytes only. An exec of a static program (drip cannot follow it) and a SIGKILL."""
    d = tempfile.mkdtemp()
    log = os.path.join(d, "r.txt")
    for what, cmd, want in (
            ("static exec", ["env", P + "/static_prog"],
             r"drip: process \d+ \(env\) exec'd %s, which is statically linked: .*, so there is no leak report\n" % re.escape(P + "/static_prog")),
            ("SIGKILL", ["/bin/sh", "-c", "echo to-stderr >&2; kill -9 $$"], r"drip: process \d+ \(sh\) was killed by SIGKILL: no report\n")):
        with open(log, "w") as f:
            f.write("a stale report from an earlier run\n")
        p = cli(["run", "--log-path", log, "--"] + cmd)
        plain = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr),
              what + ": status, stdout and stderr are the program's own")
        with open(log) as f:
            body = f.read()
        dt.check(re.fullmatch(want, body) is not None, what + ": the log file holds the one line, and only it (%r)" % body)
    # %p names the file after the process
    p = cli(["run", "--log-path", os.path.join(d, "r-%p.txt"), "--", "/bin/sh", "-c", "kill -9 $$"])
    files = [f for f in os.listdir(d) if f.startswith("r-")]
    dt.eq(len(files), 1, "log_path with %p: one file")
    if files:
        pid = files[0][2:-4]
        with open(os.path.join(d, files[0])) as f:
            dt.check(f.read().startswith("drip: process %s (sh) was killed by SIGKILL" % pid), "%p: the file is named after the process it speaks of")
    dt.eq(p.stderr, "", "%p: nothing on stderr")
    # a log file that cannot be written: the line still reaches the user, on stderr
    p = cli(["run", "--log-path", os.path.join(d, "r-%p", "x"), "--", "/bin/sh", "-c", "kill -9 $$"])
    dt.check(re.fullmatch(r"drip: process \d+ \(sh\) was killed by SIGKILL: no report\n", p.stderr) is not None,
             "unwritable log file: the line goes to stderr (%r)" % p.stderr)


def case_command_escaped():
    """An argument with a newline (python3 -c 'a\nb', a shell script in sh -c) is written on the
    Command: line as an escape, as valgrind does: every line of the report keeps its ==PID==
    prefix, so the program's stderr and drip's report can be told apart line by line."""
    p = cli(["run", "--", P + "/leaks", "two\nlines", "tab\there", "bell\x07"])
    lines = p.stderr.splitlines()
    bare = [ln for ln in lines if not re.match(r"^(==\d+==|SUMMARY: drip:)", ln)]
    dt.eq(bare, [], "every line of the report is prefixed")
    cmd = [ln for ln in lines if " Command: " in ln]
    dt.check(len(cmd) == 1 and cmd[0].endswith(" Command: %s two\\nlines tab\\there bell\\x07" % (P + "/leaks")),
             "the Command: line escapes newline, tab and other control bytes (%r)" % cmd)


def case_no_report_json():
    """With --json, a process that gives no report (an exec of a static program, SIGKILL) leaves a JSON report that
    says so: complete false, summary null, and the same line as the text (a CI job reading the
    file finds neither nothing nor an earlier run's report)."""
    import json
    d = tempfile.mkdtemp()
    path = os.path.join(d, "r.json")
    for what, cmd, want in (("static", ["/bin/sh", "-c", "exec " + P + "/static_prog"], r"drip: process \d+ \(sh\) exec'd .*, which is statically linked: .*"),
                            ("SIGKILL", ["/bin/sh", "-c", "kill -9 $$"], r"drip: process \d+ \(sh\) was killed by SIGKILL: no report")):
        with open(path, "w") as f:
            f.write('{"pid": 1, "complete": true, "summary": {}}\n')   # an earlier run's
        p = cli(["run", "--json", path, "--"] + cmd)
        with open(path) as f:
            r = json.load(f)
        dt.eq((r.get("complete"), r.get("summary"), r.get("leaks")), (False, None, []), what + ": complete false, no summary")
        dt.check(re.fullmatch(want, r.get("no_report", "")) is not None, what + ": no_report says why (%r)" % r.get("no_report"))
        dt.check(p.stderr.strip() == r.get("no_report"), what + ": the same line as on stderr")
        dt.check(str(r.get("pid")) in p.stderr, what + ": the pid of the process")


def case_script_without_shebang():
    """A script with no "#!" line runs under /bin/sh, as execvp and the shells run it (drip run
    said 'Exec format error', status 126), and the shell is traced."""
    d = tempfile.mkdtemp()
    script = os.path.join(d, "noshebang")
    with open(script, "w") as f:
        f.write("echo no shebang \"$1\" \"$2\"\nexit 3\n")
    os.chmod(script, 0o755)
    plain = subprocess.run(["env", script, "a b", "c"], capture_output=True, text=True, timeout=60)
    res = dt.run([script, "a b", "c"])
    dt.eq((res.rc, res.out), (plain.returncode, plain.stdout), "the status and output of the script run by sh")
    dt.eq((res.rc, res.out), (3, "no shebang a b c\n"), "its arguments as given")
    dt.check(res.report is not None and res.report.get("complete") is True, "the shell that ran it reported")


def case_stderr_reader_gone():
    """drip run's own line on a stderr whose reader has gone (`2>&1 | head`): drip must not die of
    SIGPIPE, it leaves with the program's status."""
    cmd = ["/bin/sh", "-c", "exec " + P + "/static_prog"]
    r, w = os.pipe()
    os.close(r)
    try:
        plain = subprocess.run(cmd, stderr=w, stdout=subprocess.DEVNULL, timeout=60)
        p = subprocess.run([dt.DRIP, "run", "--"] + cmd, stderr=w, stdout=subprocess.DEVNULL, timeout=60)
        dt.eq(p.returncode, plain.returncode, "the program's status, not SIGPIPE")
        p = subprocess.run([dt.DRIP, "run", "--", "/bin/sh", "-c", "kill -PIPE $$"], stderr=w, stdout=subprocess.DEVNULL, timeout=60)
        dt.eq(p.returncode, -13, "a program that dies of SIGPIPE: drip dies of it too")
    finally:
        os.close(w)


def core_fname(path):
    """pr_fname of a core file's NT_PRPSINFO note: the name of the process that dumped it."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type != 4:   # PT_NOTE
            continue
        off, end = p_offset, p_offset + p_filesz
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, off)
            desc = off + 12 + ((namesz + 3) & ~3)
            if ntype == 3:   # NT_PRPSINFO: pr_fname[16] at offset 40
                return data[desc + 40:desc + 56].split(b"\0")[0].decode()
            off = desc + ((descsz + 3) & ~3)
    return None


def case_core_is_the_programs():
    """A program that dumps core: the core file is the program's. drip run dies by the same signal
    but must not dump a core of its own (with core_pattern "core" it replaced the program's)."""
    import resource
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern or "%" in pattern:
        dt.skip("core_pattern %r: cores do not land in the current directory as 'core'" % pattern)
    d = tempfile.mkdtemp()

    def unlimited():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    # a sanitized drip (make test-asan/test-tsan) would set RLIMIT_CORE to 0 for itself and so for the program
    env = dict(os.environ, ASAN_OPTIONS="disable_coredump=0", TSAN_OPTIONS="disable_coredump=0")
    p = subprocess.run([dt.DRIP, "run", "--log-path", "/dev/null", "--", P + "/exits", "segv"], cwd=d,
                       preexec_fn=unlimited, capture_output=True, timeout=120, env=env)
    dt.eq(p.returncode, -11, "the status is the program's: SIGSEGV")
    cores = [f for f in os.listdir(d) if f.startswith("core")]
    dt.eq(cores, ["core"], "one core file")
    if cores:
        dt.eq(core_fname(os.path.join(d, "core")), "exits", "the core is the program's, not drip's")



def case_libdw_on_need():
    """drip run does not load elfutils until a report must be named (src/cli/dwload.c), nor libm
    and zlib (src/cli/mzload.c): in a run without a report, drip run's own process maps none of
    them; with one, the frames are still named with file and line (the symbolizer loaded them)."""
    elfutils = ("/libdw", "/libelf", "/libbz2", "/liblzma", "/libz.so", "/libm.so", "/libm-")
    if dt.sanitizer():   # the sanitizers' runtime, linked into drip itself, needs libm
        elfutils = elfutils[:5]
    p = cli(["run", "--no-report", "--", "/bin/sh", "-c", "cat /proc/$PPID/maps"])
    dt.eq(p.returncode, 0, "--no-report: status")
    dt.check(os.path.realpath(dt.DRIP) in p.stdout, "--no-report: the maps read are drip run's")
    mapped = sorted({line.split()[-1] for line in p.stdout.splitlines() if any(x in line for x in elfutils)})
    dt.eq(mapped, [], "--no-report: elfutils libraries mapped in drip run")
    p = cli(["run", "--", P + "/leaks"])
    dt.check("lose_pointer (leaks.c:18)" in p.stderr, "with a report: frames named with file:line")


def case_libm_on_need():
    """libdrip.so does not bring libm into a program that does not use it (src/preload/mathlib.c):
    `cat` has no libm in its maps under drip; with --sample the sampler's log comes from libm,
    opened by drip's constructor."""
    p = cli(["run", "--no-report", "--", "cat", "/proc/self/maps"])
    dt.eq(p.returncode, 0, "cat: status")
    dt.check("/libdrip.so" in p.stdout, "cat: the maps read are a traced process's")
    dt.eq(sorted({l.split()[-1] for l in p.stdout.splitlines() if "/libm.so" in l or "/libm-" in l}), [],
          "cat: libm mapped")
    p = cli(["run", "--no-report", "--sample", "4096", "--", "cat", "/proc/self/maps"])
    dt.check(any("/libm.so" in l or "/libm-" in l for l in p.stdout.splitlines()), "cat --sample: libm mapped")

if __name__ == "__main__":
    dt.main(globals())
