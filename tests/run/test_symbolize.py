#!/usr/bin/env python3
"""Out-of-process symbolization (issue 13) and the report's delivery (issue 12, points 7, 9, 11).

Usage: test_symbolize.py CASE

  crypto        openssl version, openssl req, ssh-keygen, curl file:// under drip run --json
                --show-reachable --profile: the program's own exit status and output, a whole
                JSON report, a profile drip top reads (each tool SKIPPED when not installed)
  no_heavy_libs a live program after /debug/pprof/heap, /debug/pprof/symbol and
                /debug/drip/leaks: none of libdw, libelf, libdebuginfod, libcurl, libz mapped
  debuginfod    DEBUGINFOD_URLS at a server that accepts and never answers: the run ends, the
                server saw no connection, the frames are named from local files
  raw_out       --raw-out keeps the raw report; `drip symbolize RAW` writes the same text and
                JSON as the exit report did
  no_helper     no drip binary to be found: the report still comes, frames as module+offset,
                "symbolized": false; `drip symbolize` names them afterwards
  closed_stderr ls (closes stderr at exit) and a program that closes fd 2: the report arrives
  relative     a relative json= path is resolved where the program started, not where it exits
  sigterm      a SIGTERM during the report: JSON whole, then the program dies by SIGTERM
  process      the report names the process: Command:, Executable:, JSON command/executable/ppid
  special      report paths that are not regular files (a symlink to /dev/null, a symlink to a
               file): written in place, never replaced by a rename, no FILE.<pid> for children
  bad_raw      drip symbolize on a cut-short or foreign file: exit 2, one line
  cache         names are cached per build ID under $XDG_CACHE_HOME/drip and read back by the next
                run (an edited entry shows); DRIP_CACHE=0 and --no-cache bypass it; concurrent
                writers leave whole files
  cache_globals the names of retention roots that are globals (symbol, definition file:line) are
                cached too: a second run reads them (an edited entry shows) and writes the same
                JSON and text; the file of another build ID, or one written for another debug
                file, is not used, nor the names of the unstripped file for a stripped copy
  cache_cold_warm the report of a first run (empty cache) and the same raw report named again from
                the warm cache are byte for byte the same: text and JSON, for catalogue examples
                and for a library whose DWARF is in a separate file (.gnu_debuglink), whose
                reachable summary must not gain the file:line a retention path looked up
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import driptest as dt  # noqa: E402

SKIP = 77
LEAKS = os.path.join(dt.PROGS, "leaks")


def drip_run(args, cmd, cwd=None, env=None, timeout=120, stdin=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([dt.DRIP, "run"] + args + ["--"] + cmd, capture_output=True, cwd=cwd, env=e,
                          timeout=timeout, stdin=stdin)


def case_crypto():
    tools = {
        "openssl_version": ["openssl", "version"],
        "openssl_req": ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=x",
                        "-keyout", "k", "-out", "c"],
        "ssh_keygen": ["ssh-keygen", "-t", "ed25519", "-N", "", "-f", "k"],
        "curl": ["curl", "-s", "file:///etc/hostname"],
    }
    ran = 0
    for name, cmd in tools.items():
        if not shutil.which(cmd[0]):
            print("skip %s: %s not installed" % (name, cmd[0]))
            continue
        ran += 1
        with tempfile.TemporaryDirectory() as d:
            plain = subprocess.run(cmd, capture_output=True, cwd=d, timeout=120)
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
            r = drip_run(["--json", "j.json", "--show-reachable", "--profile", "p.pb.gz"], cmd, cwd=d)
            dt.eq(r.returncode, plain.returncode, "%s: exit status as without drip" % name)
            if name == "ssh_keygen":   # a random key: the same lines, not the same bytes
                dt.eq(len(r.stdout.splitlines()), len(plain.stdout.splitlines()), "%s: stdout lines" % name)
            else:
                dt.eq(r.stdout, plain.stdout, "%s: stdout as without drip" % name)
            err = r.stderr.decode(errors="replace")
            dt.check("SUMMARY: drip:" in err, "%s: text report complete" % name)
            dt.check("frames are not named" not in err, "%s: the symbolizer ran" % name)
            rep = json.load(open(os.path.join(d, "j.json")))
            dt.eq(rep["complete"], True, "%s: JSON report complete" % name)
            dt.eq(rep["command"], cmd, "%s: JSON names the command" % name)
            top = subprocess.run([dt.DRIP, "top", os.path.join(d, "p.pb.gz")], capture_output=True, text=True, timeout=60)
            dt.eq(top.returncode, 0, "%s: drip top reads the profile" % name)
            dt.check("main" in top.stdout or "Showing" in top.stdout, "%s: the profile has samples" % name)
    return ran


def case_no_heavy_libs():
    live = os.path.join(dt.PROGS, "live")
    p = subprocess.Popen([dt.DRIP, "run", "--http", "127.0.0.1:0", "--http-leaks-interval", "0", "--", live, "idle"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdout.readline()
        m = None
        for _ in range(3):
            m = re.search(r"serving (http://[^/]+)/ for process (\d+)", p.stderr.readline())
            if m:
                break
        dt.check(m is not None, "the endpoint is served")
        base, pid = m.group(1), int(m.group(2))
        for path in ["/debug/pprof/heap", "/debug/pprof/heap?debug=1", "/debug/drip/leaks", "/debug/drip/suspects", "/metrics"]:
            with urllib.request.urlopen(base + path, timeout=60) as r:
                body = r.read()
                dt.eq(r.status, 200, "GET %s" % path)
            if path == "/debug/pprof/heap?debug=1":
                dt.check(b"grow_cache" in body, "the text profile names grow_cache")
            if path == "/debug/drip/leaks":
                dt.check(b'"lose_block"' in body, "the live leak check names lose_block")
        maps = open("/proc/%d/maps" % pid).read()
        for lib in ["libdw", "libelf", "libdebuginfod", "libcurl", "libz.so"]:
            dt.check(lib not in maps, "%s is not mapped in the traced program" % lib)
        helpers = serve_children(pid)
        dt.eq(len(helpers), 1, "one long-lived symbolizer served every request")
        # it dies: the next answer has unnamed frames, the one after is named again by a new one
        os.kill(helpers[0], 9)
        with urllib.request.urlopen(base + "/debug/drip/leaks", timeout=60) as r:
            rep = json.loads(r.read())
        dt.eq(rep.get("symbolized"), False, "symbolizer dead: the live check still answers, unnamed")
        dt.eq(rep["summary"]["definite"], {"bytes": 4096, "blocks": 1}, "... with the same figures")
        with urllib.request.urlopen(base + "/debug/drip/leaks", timeout=60) as r:
            body = r.read()
        dt.check(b'"lose_block"' in body, "the next request is named by a new symbolizer")
        dt.eq(len(serve_children(pid)), 1, "one symbolizer again")
    finally:
        p.communicate(input="", timeout=60)
    time.sleep(0.5)
    dt.eq(serve_children(pid), [], "the symbolizer ended with the program")


def serve_children(pid):
    """The `drip symbolize --serve` processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % d).read()
            cmd = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"--serve" in cmd and b"symbolize" in cmd and not st.rsplit(")", 1)[1].split()[0] == "Z":
            out.append(int(d))
    return out


def case_debuginfod():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    accepted = []

    def serve():
        srv.settimeout(0.5)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                accepted.append(c)   # accept, never answer
            except OSError:
                pass
    stop = threading.Event()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    url = "http://127.0.0.1:%d/" % srv.getsockname()[1]
    try:
        with tempfile.TemporaryDirectory() as d:
            r = drip_run(["--json", "j.json"], [LEAKS], cwd=d, env={"DEBUGINFOD_URLS": url}, timeout=60)
            dt.eq(r.returncode, 0, "the run ends with the program's status")
            rep = json.load(open(os.path.join(d, "j.json")))
            fns = [f["function"] for rec in rep["leaks"] for f in rec["stack"][:1]]
            dt.check("lose_pointer" in fns, "frames named from local files")
            # sed has no local debug info: drip used to ask the server, and hang
            r = drip_run(["--json", "j.json", "--show-reachable"], ["sed", "-n", "1p", "/etc/hostname"], cwd=d,
                         env={"DEBUGINFOD_URLS": url}, timeout=60)
            dt.eq(r.returncode, 0, "sed: the run ends with the program's status")
            dt.check(b"SUMMARY: drip:" in r.stderr, "sed: the report is whole")
    finally:
        stop.set()
        th.join()
    dt.eq(len(accepted), 0, "no connection to the debuginfod server")
    srv.close()


def case_raw_out():
    with tempfile.TemporaryDirectory() as d:
        r = drip_run(["--json", "j.json", "--raw-out", "r.raw"], [LEAKS], cwd=d)
        dt.eq(r.returncode, 0, "exit status")
        s = subprocess.run([dt.DRIP, "symbolize", "--json", os.path.join(d, "j2.json"), os.path.join(d, "r.raw")],
                           capture_output=True, timeout=60)
        dt.eq(s.returncode, 1, "drip symbolize: 1 = definite or indirect leaks found")
        dt.eq(s.stdout, r.stderr, "drip symbolize RAW writes the exit report's text")
        dt.eq(open(os.path.join(d, "j2.json")).read(), open(os.path.join(d, "j.json")).read(), "... and its JSON")
        raw = open(os.path.join(d, "r.raw")).read()
        dt.check(raw.startswith("drip-raw 1\n") and raw.endswith("end\n"), "raw report: header and end line")
        dt.eq(len(re.findall(r"^rec kind=definite ", raw, re.M)), 3, "three definite records (lose_pointer, lose_list, lose_cycle)")


def case_no_helper():
    with tempfile.TemporaryDirectory() as d:
        r = drip_run(["--json", "j.json", "--raw-out", "r.raw"], [LEAKS], cwd=d, env={"DRIP_CLI": "/nonexistent/drip"})
        dt.eq(r.returncode, 0, "exit status")
        err = r.stderr.decode()
        dt.check("frames are not named (the drip binary was not found" in err, "the report says why frames are unnamed")
        exe = os.path.realpath(LEAKS)
        dt.check(re.search(r"100 bytes in 1 blocks are definitely lost in loss record 1 of 7\n==\d+==    at 0x[0-9a-f]+: \?\?\? \(in %s \+0x[0-9a-f]+\)" % re.escape(exe), err) is not None,
                 "frames as module+offset")
        rep = json.load(open(os.path.join(d, "j.json")))
        dt.eq(rep["symbolized"], False, "JSON: symbolized false")
        f0 = rep["leaks"][0]["stack"][0]
        dt.eq((f0["function"], f0["module"]), (None, exe), "JSON frame: no function, the module's path")
        dt.check(re.fullmatch(r"[0-9a-f]{40}", f0["build_id"] or "") is not None, "JSON frame: the module's build ID")
        dt.eq(int(f0["offset"], 16), int(f0["address"], 16) - (int(f0["address"], 16) - int(f0["offset"], 16)), "JSON frame: offset")
        dt.eq(rep["summary"]["definite"], {"bytes": 148, "blocks": 3}, "figures as with names")
        s = subprocess.run([dt.DRIP, "symbolize", os.path.join(d, "r.raw")], capture_output=True, text=True, timeout=60)
        dt.check(re.search(r"at 0x[0-9a-f]+: lose_pointer \(leaks.c:\d+\)", s.stdout) is not None, "drip symbolize names them afterwards")


def case_closed_stderr():
    r = drip_run([], ["ls", "/"])
    dt.check(b"SUMMARY: drip:" in r.stderr, "ls closes stderr at exit: the report still arrives")
    # with 0, 1 and 2 closed the report's files are opened as 0, 1 or 2, numbers the symbolizer's
    # own stdio takes over: each must still receive its report
    with tempfile.TemporaryDirectory() as d:
        j, prof = os.path.join(d, "r.json"), os.path.join(d, "r.pb.gz")
        r = drip_run(["--json", j, "--profile", prof], ["sh", "-c", "exec 0<&- 1>&- 2>&-; exit 0"])
        dt.eq(r.returncode, 0, "stdio closed: exit status")
        dt.check(b"SUMMARY: drip:" in r.stderr, "stdio closed: the text report arrives")
        rep = json.load(open(j)) if os.path.exists(j) else {}
        dt.eq(rep.get("complete"), True, "stdio closed: the JSON report is whole")
        dt.check(os.path.exists(prof) and open(prof, "rb").read(2) == b"\x1f\x8b", "stdio closed: the profile is written")
    # fd 2 pointed elsewhere by the program: the report goes where stderr was at start
    with tempfile.TemporaryDirectory() as d:
        r = drip_run([], ["sh", "-c", "exec 2>%s/elsewhere; exit 0" % d])
        dt.check(b"SUMMARY: drip:" in r.stderr, "fd 2 redirected by the program: the report on the original stderr")
        dt.check(b"SUMMARY" not in open(os.path.join(d, "elsewhere"), "rb").read(), "... not in the program's new fd 2")


def case_relative():
    with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as other:
        e = dict(os.environ, LD_PRELOAD=dt.LIBDRIP, DRIP_OPTIONS="json=rel.json:log_path=rel.log")
        p = subprocess.run(["sh", "-c", "cd %s && exit 0" % other], cwd=d, env=e, capture_output=True, timeout=60)
        dt.eq(p.returncode, 0, "exit status")
        dt.check(os.path.exists(os.path.join(d, "rel.json")), "json= resolved where the program started")
        dt.check(os.path.exists(os.path.join(d, "rel.log")), "log_path= resolved where the program started")
        dt.eq(sorted(os.listdir(other)), [], "nothing written where it exited")
        json.load(open(os.path.join(d, "rel.json")))


def case_sigterm():
    with tempfile.TemporaryDirectory() as d:
        wrapper = os.path.join(d, "drip-wrapper")
        with open(wrapper, "w") as f:   # the symbolizer's parent is the traced program, writing its report
            f.write("#!/bin/sh\nkill -TERM $PPID\nsleep 0.3\nexec %s \"$@\"\n" % dt.DRIP)
        os.chmod(wrapper, 0o755)
        r = drip_run(["--json", "j.json"], [LEAKS], cwd=d, env={"DRIP_CLI": wrapper})
        dt.eq(r.returncode, -15, "the program dies by the SIGTERM, after the report")
        rep = json.load(open(os.path.join(d, "j.json")))
        dt.eq(rep["summary"]["definite"], {"bytes": 148, "blocks": 3}, "the JSON is whole")
        dt.check(b"SUMMARY: drip:" in r.stderr, "the text report is whole")
        dt.eq([f for f in os.listdir(d) if "drip-tmp" in f], [], "no temporary file left")


def case_process():
    r = dt.run([LEAKS, "a b", "c"])
    exe = os.path.realpath(LEAKS)
    dt.eq((r.report["command"], r.report["executable"]), ([LEAKS, "a b", "c"], exe), "JSON: command and executable")
    dt.eq(r.report["ppid"] > 1, True, "JSON: the parent pid")
    dt.check(re.search(r"==\d+== Command: %s a b c\n" % re.escape(LEAKS), r.err) is not None, "text: Command: line")


def case_special():
    # a symlink to /dev/null stands for /dev/null itself: renaming a finished report onto the
    # path would replace the device (seen: /dev/null became a regular file holding a report)
    with tempfile.TemporaryDirectory() as d:
        nul, link, real = os.path.join(d, "nul"), os.path.join(d, "link.json"), os.path.join(d, "real.json")
        os.symlink("/dev/null", nul)
        open(real, "w").close()
        os.symlink(real, link)
        # sh forks a child that allocates and exits: each process writes a report
        r = drip_run(["--log-path", nul, "--json", link, "--profile", nul], ["sh", "-c", "(ls / >/dev/null); exit 0"])
        dt.eq(r.returncode, 0, "exit status")
        dt.eq((os.path.islink(nul), os.readlink(nul)), (True, "/dev/null"), "log_path: the symlink to /dev/null is still one")
        dt.eq((os.path.islink(link), os.readlink(link)), (True, real), "json: the symlink is still one")
        rep = json.load(open(real))
        dt.eq(rep["pid"] > 0, True, "json: the report written through the symlink")
        dt.eq(sorted(f for f in os.listdir(d) if f not in ("nul", "link.json", "real.json")), [],
              "no FILE.<pid> and no temporary file beside paths that are not regular files")
        dt.eq(r.stderr.count(b"cannot write report"), 0, "no write error")


def case_bad_raw():
    with tempfile.TemporaryDirectory() as d:
        cut = os.path.join(d, "cut.raw")
        open(cut, "w").write("drip-raw 1\nproc pid=1\n")
        s = subprocess.run([dt.DRIP, "symbolize", cut], capture_output=True, text=True, timeout=30)
        dt.eq((s.returncode, s.stderr), (2, "drip: %s: the raw report is cut short (no 'end' line after line 2)\n" % cut), "cut short")
        s = subprocess.run([dt.DRIP, "symbolize", "/etc/hostname"], capture_output=True, text=True, timeout=30)
        dt.eq((s.returncode, s.stderr), (2, "drip: /etc/hostname: not a drip raw report (it must start with 'drip-raw 1')\n"), "foreign file")


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def case_cache():
    with tempfile.TemporaryDirectory() as d:
        env = {"XDG_CACHE_HOME": d}
        r1 = drip_run(["--raw-out", os.path.join(d, "r.raw")], [LEAKS], cwd=d, env=env)
        names = os.path.join(d, "drip", build_id(LEAKS) + ".names")
        dt.check(os.path.exists(names), "the run cached the names of leaks' build ID")
        text = open(names).read()
        dt.check(text.startswith("drip-symcache 5 "), "cache file header")
        dt.check("\tlose_pointer\t" in text, "lose_pointer is cached")
        open(names, "w").write(text.replace("\tlose_pointer\t", "\tcached_lose_pointer\t"))
        raw = os.path.join(d, "r.raw")
        e = dict(os.environ, **env)
        s = subprocess.run([dt.DRIP, "symbolize", raw], capture_output=True, text=True, env=e, timeout=60)
        dt.check(re.search(r"at 0x[0-9a-f]+: cached_lose_pointer \(leaks.c:18\)", s.stdout) is not None,
                 "the next run reads the cache (the edited entry shows)")
        for how, extra, env2 in (("--no-cache", ["--no-cache"], e), ("DRIP_CACHE=0", [], dict(e, DRIP_CACHE="0"))):
            s = subprocess.run([dt.DRIP, "symbolize"] + extra + [raw], capture_output=True, text=True, env=env2, timeout=60)
            dt.check(re.search(r"at 0x[0-9a-f]+: lose_pointer \(leaks.c:18\)", s.stdout) is not None, "%s: libdw's names" % how)
        dt.eq(s.stdout, r1.stderr.decode(), "without the cache: the exit report, byte for byte")
        shutil.rmtree(os.path.join(d, "drip"))
        ps = [subprocess.Popen([dt.DRIP, "symbolize", raw], stdout=subprocess.DEVNULL, env=e) for _ in range(6)]
        dt.eq([p.wait(timeout=60) for p in ps], [1] * 6, "six concurrent symbolizers")
        for f in os.listdir(os.path.join(d, "drip")):
            body = open(os.path.join(d, "drip", f)).read()
            dt.check(f.endswith(".names") and body.startswith("drip-symcache 5 ") and body.endswith("\n"),
                     "%s: a whole cache file, no temporary left" % f)


def case_cache_globals():
    prog = os.path.join(dt.EXAMPLES, "growing_cache")
    with tempfile.TemporaryDirectory() as d:
        env = {"XDG_CACHE_HOME": d}
        e = dict(os.environ, **env)
        raw, j1 = os.path.join(d, "r.raw"), os.path.join(d, "1.json")
        r1 = drip_run(["--show-reachable", "--retainers", "--raw-out", raw, "--json", j1], [prog], cwd=d, env=env)
        held = "held by: global `g_cache` (growing_cache.c:37) in growing_cache, at offset 0"
        dt.check(held in r1.stderr.decode(), "the exit report names g_cache and its line")
        names = os.path.join(d, "drip", build_id(prog) + ".names")
        text = open(names).read()
        # per root address: its offset from the bias with bit 62 set, "FILESIZE START SIZE SYMBOL" (g_cache:
        # 16 bytes); per variable printed: its start with bits 62 and 61 set, line 37 and file
        data = re.findall(r"^4000([0-9a-f]{12})\t0\t0\t%d ([0-9a-f]+) 10 g_cache\t$" % os.path.getsize(prog), text, re.M)
        dt.check(len(data) >= 1 and all(int(a, 16) == int(data[0][1], 16) for a, _ in data),
                 "g_cache's name and size are cached for the root word at its start: %r" % data)
        where = re.findall(r"^6000([0-9a-f]{12})\t1\t37\t\t([^\t\n]*)$", text, re.M)
        dt.check(len(where) == 1 and data and int(where[0][0], 16) == int(data[0][1], 16) and
                 where[0][1].endswith("/growing_cache.c"), "g_cache's definition is cached: %r" % where)

        def symbolize(json_out):
            return subprocess.run([dt.DRIP, "symbolize", "--json", json_out, raw], capture_output=True, text=True,
                                  env=e, timeout=60)
        s = symbolize(os.path.join(d, "2.json"))
        dt.eq(s.stdout, r1.stderr.decode(), "from the cache: the exit report, byte for byte")
        dt.eq(open(os.path.join(d, "2.json")).read(), open(j1).read(), "from the cache: the same JSON")
        open(names, "w").write(text.replace(" 10 g_cache\t", " 10 cached_g_cache\t").replace("\t1\t37\t\t", "\t1\t38\t\t"))
        s = symbolize(os.path.join(d, "3.json"))
        dt.check("held by: global `cached_g_cache` (growing_cache.c:38)" in s.stdout,
                 "the next run reads the global's name and line from the cache (the edited entries show)")
        # the edited file under another build ID, and with another debug file's stamp: unused
        edited = open(names).read()
        other = os.path.join(d, "drip", "00" * 20 + ".names")
        os.rename(names, other)
        s = symbolize(os.path.join(d, "4.json"))
        dt.check(held in s.stdout and "cached_g_cache" not in s.stdout, "another build ID's file is not read")
        dt.eq(open(os.path.join(d, "4.json")).read(), open(j1).read(), "another build ID's file: the same JSON")
        head, rest = edited.split("\n", 1)
        open(names, "w").write("drip-symcache 5 12345:67890\n" + rest)
        s = symbolize(os.path.join(d, "5.json"))
        dt.check(held in s.stdout and "cached_g_cache" not in s.stdout, "a file for another debug file is not read")
        # a stripped copy has the same build ID and no symbols: the cached names are not its own
        if shutil.which("strip"):
            stripped = os.path.join(d, "growing_cache")
            subprocess.run(["strip", "-o", stripped, prog], check=True)
            r = drip_run(["--show-reachable"], [stripped], cwd=d, env=env)
            dt.check(re.search(r"held by: global at growing_cache\+0x[0-9a-f]+ in growing_cache", r.stderr.decode()) and
                     "`g_cache`" not in r.stderr.decode(), "a stripped copy's global is named by offset, not from the cache")


HELD_LIB = r"""
#include <stdlib.h>
#include <string.h>
char *held_dup(const char *s)
{
    char *p = malloc(strlen(s) + 1);
    return p ? strcpy(p, s) : NULL;
}
"""

HELD_MAIN = r"""
char *held_dup(const char *s);
char *g_held;
int main(void)
{
    g_held = held_dup("kept");
    return 0;
}
"""


def split_debug_prog(d):
    """A program whose allocating frame is in libheld.so, stripped of its DWARF, which is in
    libheld.so.debug beside it (.gnu_debuglink): file:line only when asked for. None: no tools."""
    if not all(shutil.which(t) for t in ("gcc", "objcopy")):
        return None
    open(os.path.join(d, "held.c"), "w").write(HELD_LIB)
    open(os.path.join(d, "main.c"), "w").write(HELD_MAIN)
    lib, dbg, prog = os.path.join(d, "libheld.so"), os.path.join(d, "libheld.so.debug"), os.path.join(d, "held")
    for cmd in (["gcc", "-g", "-O0", "-fno-omit-frame-pointer", "-shared", "-fPIC", "-o", lib, "held.c"],
                ["objcopy", "--only-keep-debug", lib, dbg],
                ["objcopy", "--strip-debug", "--add-gnu-debuglink=" + dbg, lib],
                ["gcc", "-g", "-O0", "-fno-omit-frame-pointer", "-o", prog, "main.c", "-L" + d, "-lheld",
                 "-Wl,-rpath," + d]):
        subprocess.run(cmd, cwd=d, check=True, capture_output=True)
    return prog


def case_cache_cold_warm():
    with tempfile.TemporaryDirectory() as d:
        progs = [(os.path.join(dt.EXAMPLES, name), args) for name, args in (
            ("growing_cache", ["--show-reachable"]), ("lost_list", []), ("callback_capture", []),
            ("interior_pointer", ["--retainers"]))]
        held = split_debug_prog(d)
        if held:
            progs.append((held, []))
        else:
            print("note: gcc or objcopy missing: no split-debug case")
        for prog, args in progs:
            # with --json every stack is named with its lines; without, reachable records are
            # summarised by their allocating function (no line unless the module has its DWARF)
            base = os.path.basename(prog)
            first = {}
            for json_out in (True, False):
                name = base + (".json" if json_out else ".text")
                cache = os.path.join(d, "cache-" + name)
                raw, j1 = os.path.join(d, name + ".raw"), os.path.join(d, name + ".1.json")
                r1 = drip_run(args + ["--raw-out", raw] + (["--json", j1] if json_out else []), [prog], cwd=d,
                              env={"XDG_CACHE_HOME": cache})
                dt.check(os.listdir(os.path.join(cache, "drip")), "%s: the first run filled the empty cache" % name)
                first[json_out] = (raw, r1.stderr.decode(), j1 if json_out else None)
            # each raw report named again: from its own warm cache, and from the cache the other
            # run filled (a --json run looked up the lines a summary must not show)
            for json_out, cache_of in ((True, ".json"), (False, ".text"), (False, ".json"), (True, ".text")):
                raw, text, j1 = first[json_out]
                what = "%s%s, named from the cache of the %s run" % (base, " --json" if json_out else "",
                                                                      "--json" if cache_of == ".json" else "text")
                j2 = os.path.join(d, "again.json")
                e = dict(os.environ, XDG_CACHE_HOME=os.path.join(d, "cache-" + base + cache_of))
                s = subprocess.run([dt.DRIP, "symbolize"] + (["--json", j2] if json_out else []) + [raw],
                                   capture_output=True, text=True, env=e, timeout=60)
                dt.eq(s.stdout, text, "%s: the first run's text byte for byte" % what)
                if json_out:
                    dt.eq(open(j2).read(), open(j1).read(), "%s: the first run's JSON byte for byte" % what)
        if held:
            text = first[False][1]
            dt.check(re.search(r"still reachable in loss record 1 of 1, allocated in held_dup\n", text),
                     "the reachable summary names held_dup without a line, as a first run does: %r" % text)
            dt.check(re.search(r'"function": "held_dup", "file": "[^"]*held.c", "line": 6',
                               open(os.path.join(d, "held.json.1.json")).read()),
                     "the JSON names held_dup with its line (the separate debug file was read)")


def case_cache_sorted():
    """The cache file is mapped and searched by offset (symcache.c): written sorted; an entry among
    thousands is found; a file out of order only misses and is rewritten sorted, whole."""
    with tempfile.TemporaryDirectory() as d:
        env = {"XDG_CACHE_HOME": d}
        e = dict(os.environ, **env)
        raw = os.path.join(d, "r.raw")
        r1 = drip_run(["--raw-out", raw], [LEAKS], cwd=d, env=env)
        text1 = r1.stderr.decode()
        names = os.path.join(d, "drip", build_id(LEAKS) + ".names")
        head, body = open(names).read().split("\n", 1)
        lines = body.splitlines()
        offs = [int(l.split("\t", 1)[0], 16) for l in lines]
        dt.check(len(offs) >= 3 and offs == sorted(set(offs)), "the cache is written sorted by offset: %r" % offs)
        dt.check(any("\tlose_pointer\t" in l for l in lines), "lose_pointer is cached")
        # 20,000 other entries around the real ones: each real one is found by the search
        real = set(offs)
        code = [o for o in offs if o < 1 << 40]   # not the globals' keys (bits 62 and 61 set)
        lo, hi = max(1, min(code) - 10000), max(code) + 10000
        fake = ["%x\t0\t0\tfake_%d\t" % (o, o) for o in range(lo, hi) if o not in real]
        mixed = sorted(lines + fake, key=lambda l: int(l.split("\t", 1)[0], 16))
        edited = head + "\n" + "\n".join(mixed).replace("\tlose_pointer\t", "\tcached_lose_pointer\t") + "\n"
        open(names, "w").write(edited)

        def symbolize():
            return subprocess.run([dt.DRIP, "symbolize", raw], capture_output=True, text=True, env=e, timeout=60).stdout
        s = symbolize()
        dt.check(re.search(r"at 0x[0-9a-f]+: cached_lose_pointer \(leaks.c:18\)", s) is not None,
                 "an entry among 20,000 is read from the file (the edited name shows)")
        dt.eq(s.replace("cached_lose_pointer", "lose_pointer"), text1, "every other frame as the exit report named it")
        dt.eq("fake_" in s, False, "no other entry's name")
        dt.check(open(names).read() == edited, "nothing new learned: the file is left as it was")
        # out of order (an older drip wrote in hash order): the real entries last, after 10,000
        # higher offsets, where a search never goes: each one misses and is looked up again; the
        # same report, and the file rewritten sorted
        above = ["%x\t0\t0\tfake_%d\t" % (o, o) for o in range(max(offs) + 1, max(offs) + 10001)]
        shuffled = above + list(reversed(lines))
        open(names, "w").write(head + "\n" + "\n".join(shuffled) + "\n")
        dt.eq(symbolize(), text1, "a file out of order: the exit report, byte for byte")
        after = open(names).read().split("\n", 1)[1].splitlines()
        want = sorted(lines + above, key=lambda l: int(l.split("\t", 1)[0], 16))
        dt.check(after == want, "rewritten sorted: every entry once, none lost (%d lines, want %d; first differing: %r)" %
                 (len(after), len(want), next(((a, b) for a, b in zip(after, want) if a != b), None)))
        dt.eq(symbolize(), text1, "read again from the sorted file: byte for byte")


def main():
    case = sys.argv[1]
    rc = globals()["case_" + case]()
    if case == "crypto" and rc == 0:
        print("SKIPPED: none of openssl, ssh-keygen, curl is installed")
        sys.exit(SKIP)
    dt.finish()


if __name__ == "__main__":
    main()
