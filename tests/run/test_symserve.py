#!/usr/bin/env python3
"""drip run's shared symbolizer (src/cli/symserve.c): one server per `drip run` names the frames
of every traced process's report, instead of each process starting `drip symbolize` itself.

  shared       the same reports, byte for byte, as from a symbolizer spawned by each process
               (DRIP_CLI forces that path); and the server really serves: with the drip binary
               made non-executable while the program runs, frames are still named.
  shared_full_pipe  a report bigger than the pipe it goes to: whole with a slow reader, and no
               hang when the pipe's reader is a traced process that exits without reading it.
  shared_gone  the server killed while the program runs: the processes that exit once it is
               gone spawn their own symbolizer, and their reports are whole and named.
  shared_read_fails  a server that reads part of the raw report and hangs up: the symbolizer the
               process then spawns itself reads it from the start (the memory file's offset is
               shared with the server), so the report is whole and named.
"""
import array
import fcntl
import os
import re
import shutil
import socket
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import driptest as dt  # noqa: E402

LEAKS = os.path.join(dt.PROGS, "leaks")
FORKS = os.path.join(dt.PROGS, "forks")


def drip_run(args, cmd, env=None, cwd=None, drip=None):
    e = dict(os.environ)
    e.pop("DRIP_CLI", None)
    e.update(env or {})
    return subprocess.run([drip or dt.DRIP, "run"] + args + ["--"] + cmd, capture_output=True, text=True, env=e,
                          cwd=cwd, timeout=120)


def normal(text):
    """The report without what differs from run to run: pids, addresses (ASLR), pause times."""
    text = re.sub(r"0x[0-9a-f]+", "0xA", text)
    text = re.sub(r"==\d+==", "==P==", text)
    return re.sub(r"((?:process|Parent PID:|parent|pid|paused_us)\"?:?) ?\d+", r"\1 P", text)


def reports(text):
    return text.count("drip: leak report for process")


def case_shared():
    # a forking program and a shell with subshells: several processes, each a report
    script = "x=$(echo a); y=$(echo b); exec %s" % FORKS
    with tempfile.TemporaryDirectory() as d:
        # the same environment size both ways (the shell keeps its environment in blocks)
        a = drip_run(["--json", os.path.join(d, "a.json")], ["sh", "-c", script], env={"DRIP_CLX": dt.DRIP})
        b = drip_run(["--json", os.path.join(d, "b.json")], ["sh", "-c", script], env={"DRIP_CLI": dt.DRIP})
        dt.eq((a.returncode, a.stdout), (b.returncode, b.stdout), "exit status and output")
        dt.eq(reports(a.stderr), 4, "four processes, four reports")
        dt.check("frames are not named" not in a.stderr, "frames named")
        dt.eq(normal(a.stderr), normal(b.stderr), "the text reports are the same")
        ja = sorted(normal(open(os.path.join(d, f)).read()) for f in os.listdir(d) if f.startswith("a.json"))
        jb = sorted(normal(open(os.path.join(d, f)).read()) for f in os.listdir(d) if f.startswith("b.json"))
        dt.eq(len(ja), 4, "four JSON reports")
        dt.check(ja == jb, "the JSON reports are the same")
    # processes that end together (each request waiting behind another goes to a worker): every
    # report whole and named
    r = drip_run([], ["sh", "-c", "for i in 1 2 3 4 5 6; do (x=$(echo $i)) & done; wait"])
    dt.eq(r.returncode, 0, "concurrent exits: status")
    dt.eq(reports(r.stderr), 13, "concurrent exits: 1 + 6 + 6 reports")
    dt.eq(r.stderr.count("SUMMARY: drip:"), 13, "concurrent exits: 13 summaries")
    dt.check("frames are not named" not in r.stderr, "concurrent exits: frames named")
    # served by drip run's server: a copy of drip whose binary loses its execute bit while the
    # program runs cannot be spawned, yet every report names its frames
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "bin"))
        os.makedirs(os.path.join(d, "lib"))
        drip = os.path.join(d, "bin", "drip")
        shutil.copy2(dt.DRIP, drip)
        shutil.copy2(dt.LIBDRIP, os.path.join(d, "lib", "libdrip.so"))
        r = drip_run([], ["sh", "-c", "chmod a-x %s; x=$(echo a); exec %s" % (drip, LEAKS)], drip=drip)
        dt.eq(r.returncode, 0, "no drip to spawn: exit status")
        dt.eq(reports(r.stderr), 2, "no drip to spawn: both reports")
        dt.check("frames are not named" not in r.stderr, "no drip to spawn: frames named by the server")
        dt.check(re.search(r"at 0x[0-9a-f]+: lose_pointer \(leaks.c:\d+\)", r.stderr) is not None,
                 "no drip to spawn: lose_pointer named with its line")
        # and the check can fail: without the server (DRIP_CLI: spawn only) the frames are unnamed
        os.chmod(drip, 0o755)
        r = drip_run([], ["sh", "-c", "chmod a-x %s; exec %s" % (drip, LEAKS)], drip=drip, env={"DRIP_CLI": drip})
        dt.check("frames are not named" in r.stderr, "spawn only, no drip: frames unnamed (the check is real)")


def case_shared_gone():
    e = dict(os.environ)
    e.pop("DRIP_CLI", None)
    p = subprocess.Popen([dt.DRIP, "run", "--", "sh", "-c", "read go; x=$(echo a); exec %s" % LEAKS],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    server = dt.symserve_pid(p.pid)
    dt.check(server is not None, "drip run started its server")
    if server:
        os.kill(server, signal.SIGKILL)
        # dead before the subshell exits: a child hands its report over without waiting, and one
        # handed over while the server is dying is lost with it (docs/run.md)
        for _ in range(2000):
            try:
                if open("/proc/%d/stat" % server).read().rsplit(") ", 1)[1][0] in "ZX":
                    break
            except OSError:
                break
            time.sleep(0.005)
    out, err = p.communicate("go\n", timeout=120)
    dt.eq(p.returncode, 0, "exit status")
    dt.eq(reports(err), 2, "the subshell's and the program's reports")
    dt.check("frames are not named" not in err, "frames named by symbolizers of their own")
    dt.check(re.search(r"at 0x[0-9a-f]+: lose_pointer \(leaks.c:\d+\)", err) is not None, "lose_pointer named")
    dt.check("definitely lost: 148 bytes in 3 blocks" in err, "the program's figures")


def case_shared_read_fails():
    d = tempfile.mkdtemp(prefix="drip-symserve-")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(os.path.join(d, "sym"))
    srv.listen(4)
    got = []

    def serve():
        # one request: its descriptors (SCM_RIGHTS), 64 bytes of the raw report read from the
        # first (the process's memory file), then every descriptor closed, no answer
        c, _ = srv.accept()
        fds = array.array("i")
        msg, anc, _, _ = c.recvmsg(1 << 16, socket.CMSG_SPACE(12 * fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        got.append(os.read(fds[0], 64) if fds else b"")
        for fd in fds:
            os.close(fd)
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    res = dt.run([LEAKS], env={"DRIP_STATUS_DIR": d}, preload=True)
    t.join(30)
    srv.close()
    shutil.rmtree(d)
    dt.check(len(got) == 1 and len(got[0]) == 64, "the server took the request and read 64 bytes of it")
    dt.eq(res.rc, 0, "exit status")
    dt.check("frames are not named" not in res.err, "frames named by the symbolizer spawned after the server hung up")
    dt.check(re.search(r"at 0x[0-9a-f]+: lose_pointer \(leaks.c:\d+\)", res.err) is not None, "lose_pointer named")
    dt.eq(dt.summary(res.report, "definite") if res.report else None, (148, 3), "the JSON report whole: the program's figures")


def case_shared_full_pipe():
    py = "/usr/bin/python3"
    # a 4 KiB pipe read slowly: what does not fit at once is written by a worker, whole
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)   # F_SETPIPE_SZ
    e = dict(os.environ)
    e.pop("DRIP_CLI", None)
    p = subprocess.Popen([dt.DRIP, "run", "--show-reachable", "--", py, "-c", "pass"], stderr=w,
                         stdout=subprocess.DEVNULL, env=e)
    os.close(w)
    data = b""
    while True:
        time.sleep(0.001)
        c = os.read(r, 512)
        if not c:
            break
        data += c
    os.close(r)
    dt.eq(p.wait(timeout=120), 0, "slow reader: exit status")
    text = data.decode()
    dt.check(len(text) > 4096, "slow reader: the report is bigger than the pipe (%d bytes)" % len(text))
    dt.eq(reports(text), 1, "slow reader: one report")
    dt.check(text.endswith("growth suspect(s)\n") and text.count("SUMMARY: drip:") == 1, "slow reader: the report is whole")
    # a traced reader that stops reading and exits: its report must not wait behind the writer's
    r = drip_run(["--follow-exec", "--show-reachable"], [py, os.path.join(HERE, "symserve_pipe.py")])
    dt.eq((r.returncode, r.stdout), (0, "done\n"), "reader gone: the run ends, status and output")
    dt.eq(reports(r.stderr), 2, "reader gone: the reader's and the parent's reports")


def main():
    globals()["case_" + sys.argv[1]]()
    dt.finish()


if __name__ == "__main__":
    main()
