"""What a traced program can see of drip (issue #12: the program must behave as without it).

single_threaded: drip starts no thread of its own for a plain `drip run -- prog` (the growth
detector samples on the allocation path), so a single-threaded program stays single-threaded
(/proc/self/task and glibc's __libc_single_threaded); the growth samples are still taken.
program_thread: once the program starts a thread, drip's ticker may start too.
env_*: the program's environment is the one it would have without drip (no DRIP_OPTIONS,
DRIP_STATUS_DIR, DRIP_ROOT_PID, DRIP_ENV_RESTORE, and LD_PRELOAD only if the user had one), through
in-place execs, followed children (fork, vfork, posix_spawn, system, popen) and env -i.

fork_*: a forked child's report reuses what its parent kept at its first fork (the executable,
the module list) unless the child's modules changed since.

Usage: test_unseen.py CASE   (one ctest per case; `test_unseen.py --list` names them)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

P = dt.PROGS


def case_single_threaded():
    res = dt.run([P + "/unseen", "tasks"])
    dt.eq((res.rc, res.out), (0, "tasks 1 single 1\n"), "drip run, default options: one task, glibc single-threaded")
    res = dt.run([P + "/unseen", "tasks"], preload=True)
    dt.eq((res.rc, res.out), (0, "tasks 1 single 1\n"), "LD_PRELOAD, default options: the same")
    # options that need a clock of drip's own do start its thread: the ticker, and the monitor's line
    res = dt.run([P + "/unseen", "tasks", "300"], ["--monitor", "100ms"])
    dt.eq(res.out, "tasks 2 single 0\n", "--monitor: drip's ticker is a second task")


def case_program_thread():
    # the program's own thread makes it multi-threaded: drip's ticker joins it (three tasks)
    res = dt.run([P + "/unseen", "thread"])
    dt.eq((res.rc, res.out), (0, "tasks 3\n"), "a program with a thread: its two tasks and drip's ticker")
    res = dt.run([P + "/unseen", "thread"], ["--growth", "0"])
    dt.eq(res.out, "tasks 2\n", "--growth 0: no ticker")


def env_lines(text):
    """The lines of `env` output as a sorted list, without `_` (the shell sets it to the command
    it ran: drip itself, under drip run)."""
    return sorted(ln for ln in text.splitlines() if not ln.startswith("_="))


def plain(cmd, env):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def cli(args, env):
    return subprocess.run([dt.DRIP] + args, capture_output=True, text=True, timeout=60, env=env)


def parent_envs():
    base = {k: v for k, v in os.environ.items() if not k.startswith("DRIP_") and k != "LD_PRELOAD"}
    base["DRIP_BUILD"] = os.environ.get("DRIP_BUILD", "")
    libm = "/lib/x86_64-linux-gnu/libm.so.6"
    users = dict(base, LD_PRELOAD=libm if os.path.exists(libm) else "", DRIP_OPTIONS="show_possible=1",
                 DRIP_STATUS_DIR="/nonexistent", DRIP_ROOT_PID="1",
                 # a sanitized drip (make test-asan) refuses to start when another library is preloaded
                 ASAN_OPTIONS="verify_asan_link_order=0")
    return [("a plain environment", base), ("the user's own LD_PRELOAD and DRIP_ variables", users)]


def case_env_same():
    for what, env in parent_envs():
        want = plain(["env"], env)
        for cmd in (["env"], ["printenv"], ["/bin/sh", "-c", "exec env"], ["env", "X=1", "env", "-u", "X"]):
            p = cli(["run", "--"] + cmd, env)
            dt.eq(env_lines(p.stdout), env_lines(want.stdout), "%s: drip run -- %s prints the plain environment" % (what, " ".join(cmd)))
            dt.eq(p.stderr.count("drip: leak report for process"), 1, "%s: %s: one report (traced through exec)" % (what, cmd[-1]))


def case_env_followed():
    """Children drip follows (--follow-exec) see the plain environment too, and are traced."""
    for what, env in parent_envs():
        want = env_lines(plain(["env"], env).stdout)
        cases = [("fork + exec", ["/bin/sh", "-c", "env | cat"], 3),          # sh, env, cat
                 ("vfork + exec (dash's simple command)", ["/bin/sh", "-c", "env; true"], 2),
                 ("system()", [P + "/unseen", "system", "env"], 3),              # unseen, sh, env
                 ("popen()", [P + "/unseen", "popen", "env"], 3)]
        for how, cmd, reports in cases:
            p = cli(["run", "--follow-exec", "--"] + cmd, env)
            dt.eq(env_lines(p.stdout.replace("status 0\n", "")), want, "%s: %s: the plain environment" % (what, how))
            dt.eq(p.stderr.count("drip: leak report for process"), reports, "%s: %s: every process traced" % (what, how))
        # without --follow-exec the children are not traced, and see the same environment
        p = cli(["run", "--", P + "/unseen", "system", "env"], env)
        dt.eq(env_lines(p.stdout.replace("status 0\n", "")), want, "%s: system() untraced: the plain environment" % what)
        dt.check("not traced: 1 child process(es) ran a program drip did not follow (the first: /bin/sh)" in p.stderr,
                 "%s: system() without --follow-exec: the untraced shell is counted" % what)


def case_fork_modules():
    """A module its parent did not have at the first fork is named in the child's report."""
    lib = os.path.join(dt.BUILD, "bin", "faults", "libleaky.so")
    for how, args in (("the parent dlopened it between two forks", []), ("the child dlopened it", ["child"])):
        p = cli(["run", "--", P + "/fork_dlopen", lib] + args, dict(os.environ))
        dt.eq((p.returncode, p.stdout), (0, "done 0\n"), how + ": status and output")
        dt.check(re.search(r"==\d+== 77 bytes in 1 blocks are definitely lost in loss record 1 of \d+\n"
                           r"==\d+==    at 0x[0-9a-f]+: leaky_lose \(leaky_lib.c:11\)", p.stderr) is not None,
                 how + ": the child's leak is named in libleaky.so")


def case_fork_children_cheap():
    """A forked child reads neither /proc/self/exe nor the maps for its module list: its parent
    kept them at the fork (strace counts the child's opens)."""
    if not shutil.which("strace"):
        dt.skip("strace is not installed")
    d = tempfile.mkdtemp()
    log = os.path.join(d, "trace")
    script = "x=$(echo 1); y=$(echo 2); echo $x$y"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,readlink", "-o", log, dt.DRIP, "run", "--",
                        "/bin/sh", "-c", script], capture_output=True, text=True, timeout=120)
    dt.eq(p.stdout, "12\n", "the script's output")
    children = [int(m) for m in re.findall(r"==(\d+)== Parent PID: \d+", p.stderr)]
    dt.eq(len(children), 2, "two subshells report")
    calls = {}
    with open(log) as f:
        for ln in f:
            m = re.match(r"(\d+) +(openat|readlink)\(.*\"(/proc/self/(?:maps|exe))\"", ln)
            if m:
                key = (int(m.group(1)), m.group(3))
                calls[key] = calls.get(key, 0) + 1
    for c in children:
        dt.eq((calls.get((c, "/proc/self/maps"), 0), calls.get((c, "/proc/self/exe"), 0)), (1, 0),
              "subshell %d: /proc/self/maps read once (the scan), /proc/self/exe not at all" % c)
    shutil.rmtree(d)


if __name__ == "__main__":
    dt.main(globals())
