#!/usr/bin/env python3
"""Reports of forked children under drip run, handed to drip run's symbolizer without waiting
(issue #12.10; src/cli/symserve.c, docs/run.md "Reports of child processes"). tests/progs/kids.c
forks N children one after another; child i loses 100 + i bytes and exits with status i % 7 + 1.

  async_whole        50 children: exactly 50 child reports with their exact figures, each whole
                     and not interleaved with another, all written before drip run returns; the
                     program's output (what each child wrote on its pipe, its exit status) is the
                     same as without drip.
  async_json         --json: the root's file and one FILE.<pid> per child, complete, with exact
                     figures, renamed into place before drip run returns (no temporary left).
  async_drain        the root process ends (SIGKILL, no report of its own) while every child's
                     report is still queued (the server is stopped meanwhile): drip run waits
                     for the server to write them all before it returns.
  async_server_gone  the server killed while the program runs: reports already handed over are
                     written; children that exit afterwards write their own, whole and named.
  async_concurrent   20 subshells ending at once and the shell after them, --show-reachable (big
                     reports): every report whole, none inside another, the shell's included.
  async_plain_preload  under plain LD_PRELOAD (no drip run, no server) a child's report is still
                     written before the child exits: it precedes the parent's line about it.
"""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import driptest as dt  # noqa: E402

KIDS = os.path.join(dt.PROGS, "kids")
N = 50


def env():
    e = dict(os.environ)
    e.pop("DRIP_CLI", None)
    return e


def plain_output(n):
    return "".join("child %d: status %d\n" % (i, i % 7 + 1) for i in range(n)) + "parent done\n"


def run_to_file(args, n, stdin=None, during=None, mode="pause", after=None):
    """drip run ARGS -- kids N with stderr in a file, read as soon as drip run has returned (a
    report written later would be missing). Returns (status, stdout, stderr text)."""
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([dt.DRIP, "run"] + args + ["--", KIDS, str(n)] + ([mode] if during else []),
                             stdin=subprocess.PIPE if during else subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=err, text=True, env=env())
        if during:
            during(p, err)
            p.stdin.write("go\n")
            p.stdin.flush()
        if after:
            after(p)
        out = p.stdout.read()
        rc = p.wait(timeout=120)
        err.seek(0)
        return rc, out, err.read()


def child_reports(text, root):
    """{leaked bytes: report lines} for every child's report, each checked to be whole: from its
    first line to its SUMMARY line, every line is its own (==PID==)."""
    lines = text.splitlines()
    found = {}
    for k, l in enumerate(lines):
        m = re.match(r"==(\d+)== drip: leak report for process (\d+)$", l)
        if not m or int(m.group(1)) == root:
            continue
        pid = m.group(1)
        end = next((j for j in range(k, len(lines)) if lines[j].startswith("SUMMARY: drip:")), None)
        dt.check(end is not None, "report of %s: has its SUMMARY line" % pid)
        if end is None:
            continue
        body = lines[k:end]
        dt.check(all(b.startswith("==%s==" % pid) for b in body), "report of %s: whole, no other line inside" % pid)
        lost = re.search(r"==%s==    definitely lost: ([\d,]+) bytes in 1 blocks" % pid, "\n".join(body))
        dt.check(lost is not None, "report of %s: one block definitely lost" % pid)
        if lost:
            b = int(lost.group(1).replace(",", ""))
            dt.eq(lines[end].startswith("SUMMARY: drip: %d bytes leaked in 1 blocks;" % b), True,
                  "report of %s: its SUMMARY line (%s)" % (pid, lines[end]))
            dt.check(b not in found, "report of %s: one report for %d bytes" % (pid, b))
            found[b] = body
    return found


def root_pid(text):
    m = [l for l in text.splitlines() if "Parent PID:" not in l]
    pids = re.findall(r"==(\d+)== drip: leak report for process", text)
    parents = set(re.findall(r"==\d+== Parent PID: (\d+)", text))
    roots = [p for p in pids if p in parents]
    return int(roots[0]) if len(set(roots)) == 1 else None


def case_async_whole():
    rc, out, err = run_to_file([], N)
    dt.eq((rc, out), (0, plain_output(N)), "status and output as without drip (pipes, exit statuses)")
    dt.eq(err.count("drip: leak report for process"), N + 1, "%d child reports and the parent's" % N)
    root = root_pid(err)
    dt.check(root is not None, "one parent for every child")
    found = child_reports(err, root)
    dt.eq(sorted(found), list(range(100, 100 + N)), "each child's exact figure, once")
    for b, body in found.items():
        dt.check(any("lose_in_child (kids.c:" in l for l in body), "%d bytes: named where it was lost" % b)
    dt.check(re.search(r"==%d==    definitely lost: 0 bytes in 0 blocks" % root, err) is not None,
             "the parent lost nothing")


def case_async_json():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        rc, out, err = run_to_file(["--json", path], N)
        names = sorted(os.listdir(d))   # as soon as drip run has returned
        dt.eq((rc, out), (0, plain_output(N)), "status and output")
        dt.eq([n for n in names if "drip-tmp" in n], [], "no temporary file left")
        kids = [n for n in names if re.fullmatch(r"r\.json\.\d+", n)]
        dt.eq(len(kids), N, "one FILE.<pid> per child")
        dt.eq("r.json" in names, True, "the root's file")
        got = []
        for k in kids:
            with open(os.path.join(d, k)) as f:
                j = json.load(f)
            dt.eq(j.get("pid"), int(k.split(".")[-1]), "%s: its own pid" % k)
            leaks = [(r["kind"], r["bytes"], r["blocks"]) for r in j.get("leaks", [])]
            dt.eq(len(leaks), 1, "%s: one record" % k)
            if leaks:
                dt.eq(leaks[0][::2], ("definite", 1), "%s: one definite block" % k)
                got.append(leaks[0][1])
            dt.eq(j.get("summary", {}).get("definite", {}).get("blocks"), 1, "%s: summary" % k)
        dt.eq(sorted(got), list(range(100, 100 + N)), "each child's exact figure, once")
        with open(path) as f:
            dt.eq(json.load(f).get("summary", {}).get("definite"), {"bytes": 0, "blocks": 0}, "the root's JSON")


def state_of(pid):
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(") ", 1)[1][0]
    except OSError:
        return None


def case_async_drain():
    n = 20
    state = {}

    def stop_server(p, err):
        state["server"] = dt.symserve_pid(p.pid)
        if state["server"]:
            os.kill(state["server"], signal.SIGSTOP)   # every child's report queues up

    def resume_when_ended(p):
        kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
        root = next((int(k) for k in kids if open("/proc/%s/comm" % k).read().strip() == "kids"), None)
        dt.check(root is not None, "the program runs under drip run")
        for _ in range(12000):   # the program has ended: drip run is asking the server to finish
            if root is None or state_of(root) in ("Z", None):
                break
            time.sleep(0.005)
        time.sleep(0.3)   # (with a drip run that killed its server here, the reports would be lost)
        if state["server"]:
            os.kill(state["server"], signal.SIGCONT)

    rc, out, err = run_to_file([], n, during=stop_server, mode="hold", after=resume_when_ended)
    dt.check(state.get("server") is not None, "drip run started its server")
    dt.eq((rc, out), (-signal.SIGKILL, plain_output(n)), "status (the program's SIGKILL) and output")
    dt.check(re.search(r"drip: process \d+ \(kids\) was killed by SIGKILL: no report", err) is not None,
             "the root's line: killed, no report")
    dt.eq(err.count("drip: leak report for process"), n, "every child's report")
    found = child_reports(err, None)
    dt.eq(sorted(found), list(range(100, 100 + n)), "each child's exact figure, once")


def case_async_server_gone():
    n = 10
    state = {}

    def kill_server(p, err):
        server = dt.symserve_pid(p.pid)
        state["server"] = server
        # the first half handed over: wait until the server has written them (a report still
        # queued when the server is killed is lost: docs/run.md says so), then kill it
        for _ in range(6000):
            err.seek(0)
            if err.read().count("SUMMARY: drip:") >= n // 2:
                break
            time.sleep(0.01)
        if server:
            os.kill(server, signal.SIGKILL)
            for _ in range(2000):   # gone (a zombie of drip run's until it is reaped)
                try:
                    if open("/proc/%d/stat" % server).read().split(") ")[1][0] == "Z":
                        break
                except OSError:
                    break
                time.sleep(0.005)

    rc, out, err = run_to_file([], n, during=kill_server)
    dt.check(state.get("server") is not None, "drip run started its server")
    dt.eq((rc, out), (0, plain_output(n)), "status and output")
    dt.eq(err.count("drip: leak report for process"), n + 1, "every report")
    found = child_reports(err, root_pid(err))
    dt.eq(sorted(found), list(range(100, 100 + n)), "each child's exact figure, once")
    dt.check("frames are not named" not in err, "frames named (by symbolizers of their own after the kill)")


def case_async_concurrent():
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.run([dt.DRIP, "run", "--show-reachable", "--", "sh", "-c",
                            "for i in $(seq 20); do (x=$(echo $i)) & done; wait"],
                           stdout=subprocess.DEVNULL, stderr=err, env=env(), timeout=120)
        err.seek(0)
        text = err.read()
    dt.eq(p.returncode, 0, "status")
    lines = text.splitlines()
    starts = [k for k, l in enumerate(lines) if re.match(r"==\d+== drip: leak report for process \d+$", l)]
    dt.eq(len(starts), 41, "the shell, 20 subshells and their 20 $(echo)s: 41 reports")
    for k in starts:
        pid = re.match(r"==(\d+)==", lines[k]).group(1)
        end = next((j for j in range(k, len(lines)) if lines[j].startswith("SUMMARY: drip:")), len(lines))
        dt.check(end < len(lines) and all(b.startswith("==%s==" % pid) for b in lines[k:end]),
                 "report of %s: whole, no other line inside (%d lines)" % (pid, end - k))
    dt.eq(text.count("SUMMARY: drip:"), 41, "41 SUMMARY lines")


def case_async_plain_preload():
    n = 5
    e = env()
    e["LD_PRELOAD"] = dt.LIBDRIP
    p = subprocess.run([KIDS, str(n)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=e, timeout=120)
    dt.eq(p.returncode, 0, "status")
    lines = p.stdout.splitlines()
    for i in range(n):
        mine = "child %d: status %d" % (i, i % 7 + 1)
        at = lines.index(mine) if mine in lines else -1
        before = "\n".join(lines[:at]) if at >= 0 else ""
        dt.check(re.search(r"definitely lost: %d bytes in 1 blocks" % (100 + i), before) is not None,
                 "child %d's report is written before it exits (before the parent's line about it)" % i)
    # and the check can fail: under drip run the parent goes on while the child's report is written
    # (not asserted: the order there depends on the scheduler)


if __name__ == "__main__":
    dt.main(globals())
