"""Tests of the live side: drip_read_stats, the HTTP endpoint (pprof profiles read by the real
`go tool pprof` and by an independent decoder, Prometheus metrics checked by promtool and
scraped by a real Prometheus server, the live leak check, delta profiles, errors), the monitor.

Usage: test_live.py CASE
"""
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import driptest as dt  # noqa: E402
import pb  # noqa: E402

LIVE = os.path.join(dt.PROGS, "live")
# live.c holds 1,000 x 1,024 bytes in grow_cache (never freed), allocates and frees 500 x 64 bytes
# in churn, keeps 400 of 800 x 256 bytes in halve and loses 4,096 in lose_block; stdout is a pipe,
# so libc adds its 4,096-byte buffer when the program prints "ready". In use and allocated differ
# for two of the sites: a profile or metric that ignores frees is caught.
HELD = 1024000
CHURN = [500, 32000, 0, 0]            # pprof's order: alloc_objects, alloc_space, inuse_objects, inuse_space
HALVE = [800, 204800, 400, 102400]
LIVE_BYTES = HELD + 102400 + 4096 + 4096
LIVE_OBJECTS = 1000 + 400 + 1 + 1
ALLOC_BYTES = LIVE_BYTES + 32000 + 102400
MALLOCS = LIVE_OBJECTS + 500 + 400
FREES = 500 + 400
# the peak: grow_cache and all 800 of halve's blocks; drip publishes each thread's live bytes in
# 64 KiB batches (hooks.c), so its peak is exact to within 64 KiB below
PEAK = HELD + 204800


class Target:
    """live.c under `drip run --http 127.0.0.1:0`, until stop()."""

    def __init__(self, mode="idle", args=(), http="127.0.0.1:0"):
        self.json = tempfile.mktemp(suffix=".json")
        argv = [dt.DRIP, "run", "--json", self.json]
        if http:
            argv += ["--http", http]
        argv += list(args) + ["--", LIVE, mode]
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ready = self.p.stdout.readline()
        self.base = None
        self.err_lines = []
        if http:
            line = self.p.stderr.readline()
            self.err_lines.append(line)
            if "warning" in line:
                line = self.p.stderr.readline()
                self.err_lines.append(line)
            m = re.search(r"serving (http://[^/]+)/ for process (\d+)", line)
            self.base = m.group(1) if m else None
            self.pid = int(m.group(2)) if m else None

    def get(self, path, method="GET", data=None, headers=None):
        req = urllib.request.Request(self.base + path, method=method, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def stop(self):
        out, err = self.p.communicate(input="", timeout=60)
        self.stderr = "".join(self.err_lines) + err
        report = None
        if os.path.exists(self.json):
            report = json.load(open(self.json))
            os.unlink(self.json)
        return self.p.returncode, report


def recv_all(s, size=65536, pause=0.0):
    """Everything the peer sends until it closes, `size` bytes a read, `pause` seconds between."""
    data = b""
    while True:
        chunk = s.recv(size)
        if not chunk:
            break
        data += chunk
        if pause:
            time.sleep(pause)
    s.close()
    return data


def raw(base, payload, timeout=10):
    host, port = base[len("http://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.sendall(payload)
    return recv_all(s)


def sample_of(prof, fn):
    return [s for s in prof["samples"] if s["functions"] and s["functions"][0] == fn]


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def case_stats_api():
    plain = subprocess.run([LIVE], input="", capture_output=True, text=True, timeout=30)
    dt.eq(plain.stdout.strip(), "ready rc=-38/-38 live=0 objects=0 mallocs=0 frees=0 tracked=0", "without drip: not tracked (-ENOSYS)")
    t = Target(http=None)
    dt.eq(t.ready.strip(), "ready rc=0/0 live=1130496 objects=1401 mallocs=2301 frees=900 tracked=1",
          "under drip: exact figures (in use apart from allocated: churn and halve freed 900 blocks)")
    rc, rep = t.stop()
    dt.eq(rc, 0, "status")


def case_stats_overflow():
    # counts past what a per-thread counter slot holds (counters.c: 32,767 objects, 2 GiB) stay
    # exact: 100,000 blocks of 24 bytes from one site, 70,000 freed, one block of 2 GiB + 4 KiB
    res = dt.run([os.path.join(dt.PROGS, "count_overflow")])
    dt.eq(res.out.strip(), "rc=0 mallocs=100001 frees=70001 objects=30000 live=720000 total=%d big=1"
          % (100000 * 24 + (2 << 30) + 4096), "drip_read_stats after the overflows")


def case_pprof_heap():
    t = Target()
    st, hdr, body = t.get("/debug/pprof/heap")
    dt.eq(st, 200, "GET /debug/pprof/heap")
    dt.eq(hdr.get("Content-Type"), "application/octet-stream", "content type")
    dt.eq(body[:2], b"\x1f\x8b", "gzipped")
    prof = pb.decode(body)
    dt.eq(prof["sample_type"], [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")], "Go's four sample types in Go's order")
    dt.eq(prof["period_type"], ("space", "bytes"), "period type")
    dt.eq(prof["period"], 1, "period 1: every allocation recorded")
    dt.eq(prof["default_sample_type"], "", "heap: no default (pprof takes the last, inuse_space)")
    dt.eq(prof["strings"][0], "", "string_table[0] is empty")
    s = sample_of(prof, "grow_cache")
    dt.eq([x["values"] for x in s], [[1000, HELD, 1000, HELD]], "grow_cache: 1,000 blocks of 1,024 bytes")
    dt.eq([x["labels"].get("bytes") for x in s], [1024], "bytes label")
    dt.eq(s[0]["functions"][:2] if s else None, ["grow_cache", "main"], "stack")
    src = os.path.join(os.path.dirname(__file__), "..", "progs", "live.c")
    line = next(i for i, l in enumerate(open(src), 1) if "cache[ncache++] = malloc(1024);" in l)
    dt.check(bool(s) and s[0]["frames"][0][1].endswith("tests/progs/live.c") and s[0]["frames"][0][2] == line,
             "file and line %d of the malloc: %r" % (line, s[0]["frames"][0] if s else None))
    lb = sample_of(prof, "lose_block")
    dt.eq([x["values"] for x in lb], [[1, 4096, 1, 4096]], "lose_block")
    dt.eq([x["values"] for x in sample_of(prof, "churn")], [CHURN], "churn: 500 blocks allocated, none in use")
    dt.eq([x["values"] for x in sample_of(prof, "halve")], [HALVE], "halve: 800 blocks allocated, 400 in use")
    dt.eq([x["labels"].get("bytes") for x in sample_of(prof, "halve")], [256], "halve's bytes label")
    m0 = prof["mappings"][0]
    dt.check(m0["filename"].endswith("/progs/live"), "mapping[0] is the main binary: " + m0["filename"])
    dt.eq(m0["build_id"], build_id(LIVE), "mapping build ID matches the ELF note")
    dt.eq((m0["has_functions"], m0["has_line_numbers"]), (1, 1), "symbolized mapping flags")
    dt.check(all(l["address"] >= prof["mappings"][l["mapping"] - 1]["start"] for x in s for l in x["locations"] if l["mapping"]), "locations inside their mappings")
    st, hdr, body = t.get("/debug/pprof/allocs")
    prof = pb.decode(body)
    dt.eq((st, prof["default_sample_type"]), (200, "alloc_space"), "allocs profile defaults to alloc_space")
    st, hdr, body = t.get("/debug/pprof/heap?debug=1")
    text = body.decode()
    dt.eq(hdr.get("Content-Type"), "text/plain; charset=utf-8", "debug=1 is text")
    dt.check(re.search(r"^1000: 1024000 \[1000: 1024000\] @ 0x", text, re.M) is not None, "legacy text sample line")
    dt.check(re.search(r"^400: 102400 \[800: 204800\] @ 0x", text, re.M) is not None, "legacy text: halve in use [allocated]")
    dt.check(re.search(r"^0: 0 \[500: 32000\] @ 0x", text, re.M) is not None, "legacy text: churn in use [allocated]")
    dt.check("MAPPED_LIBRARIES:" in text, "legacy text mappings")
    t.stop()


def go_env():
    home = tempfile.mkdtemp()
    return dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"), GOFLAGS="", GOTOOLCHAIN="local"), home


def case_go_pprof():
    if not shutil.which("go"):
        dt.check(False, "go (Debian golang-go) is installed: scripts/packages.txt lists it")
        return
    env, home = go_env()
    prof_path = tempfile.mktemp(suffix=".pb.gz")
    t = Target(args=["--profile", prof_path])
    p = subprocess.run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B", t.base + "/debug/pprof/heap"], capture_output=True, text=True, env=env, timeout=120)
    dt.eq(p.returncode, 0, "go tool pprof reads the live endpoint")
    fns = ("grow_cache", "halve", "lose_block", "churn")

    def top(index, path):
        unit = ["-unit=B"] if index.endswith("space") else []
        p = subprocess.run(["go", "tool", "pprof", "-top", "-nodefraction=0"] + unit + ["-sample_index=" + index, t.base + path],
                           capture_output=True, text=True, env=env, timeout=120)
        dt.eq(p.returncode, 0, "go tool pprof -sample_index=%s reads %s" % (index, path))
        return [(r[0], r[-1]) for r in (l.split() for l in p.stdout.splitlines()) if r and r[-1] in fns]
    dt.eq(top("inuse_space", "/debug/pprof/heap"), [("1024000B", "grow_cache"), ("102400B", "halve"), ("4096B", "lose_block")],
          "pprof -top: flat inuse bytes by function (churn holds nothing)")
    dt.eq(top("inuse_objects", "/debug/pprof/heap"), [("1000", "grow_cache"), ("400", "halve"), ("1", "lose_block")],
          "pprof -top inuse_objects")
    dt.eq(top("alloc_space", "/debug/pprof/allocs"), [("1024000B", "grow_cache"), ("204800B", "halve"), ("32000B", "churn"), ("4096B", "lose_block")],
          "pprof -top alloc_space: freed blocks count")
    dt.eq(top("alloc_objects", "/debug/pprof/allocs"), [("1000", "grow_cache"), ("800", "halve"), ("500", "churn"), ("1", "lose_block")],
          "pprof -top alloc_objects")
    t.stop()
    p = subprocess.run(["go", "tool", "pprof", "-top", "-unit=B", prof_path], capture_output=True, text=True, env=env, timeout=120)
    rows = [l.split() for l in p.stdout.splitlines() if l.strip().endswith(("grow_cache", "halve"))]
    dt.eq([(r[0], r[-1]) for r in rows], [("1024000B", "grow_cache"), ("102400B", "halve")], "pprof reads the --profile file written at exit")
    os.unlink(prof_path)
    shutil.rmtree(home, ignore_errors=True)


def parse_metrics(text):
    vals = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, v = line.rsplit(" ", 1)
            vals[name] = float(v)
    return vals


def scrape_idle(t, page):
    """(metrics, statm size in bytes, resident bytes) from a scrape during which the process's
    virtual size did not change: drip's own threads may map memory between a statm read and the
    scrape (a 64 MiB malloc arena on a thread's first malloc), so the scrape is retried until
    statm reads the same size just before and just after it (at most 20 times)."""
    for _ in range(20):
        before = int(open(f"/proc/{t.pid}/statm").read().split()[0]) * page
        st, hdr, body = t.get("/metrics")
        size, resident = (int(x) * page for x in open(f"/proc/{t.pid}/statm").read().split()[:2])
        if size == before:
            return st, hdr, body, size, resident
        print("note: statm size moved during the scrape (%d -> %d): again" % (before, size))
    return st, hdr, body, None, resident


def case_metrics():
    t = Target()
    page = os.sysconf("SC_PAGESIZE")
    st, hdr, body, size, resident = scrape_idle(t, page)
    dt.eq(st, 200, "GET /metrics")
    dt.eq(hdr.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "exposition content type")
    v = parse_metrics(body.decode())
    dt.eq(v.get("drip_heap_inuse_bytes"), float(LIVE_BYTES), "drip_heap_inuse_bytes (frees counted)")
    dt.eq(v.get("drip_heap_inuse_objects"), float(LIVE_OBJECTS), "drip_heap_inuse_objects (frees counted)")
    dt.eq(v.get("drip_heap_alloc_bytes_total"), float(ALLOC_BYTES), "drip_heap_alloc_bytes_total (freed blocks included)")
    dt.eq(v.get("drip_mallocs_total"), float(MALLOCS), "drip_mallocs_total")
    dt.eq(v.get("drip_frees_total"), float(FREES), "drip_frees_total")
    dt.check(PEAK - 65536 <= v.get("drip_heap_peak_inuse_bytes", 0) <= PEAK,
             "drip_heap_peak_inuse_bytes %r within 64 KiB below the peak %d" % (v.get("drip_heap_peak_inuse_bytes"), PEAK))
    dt.eq(v.get("drip_threads"), 1.0, "drip_threads (main)")
    dt.eq(v.get('drip_build_info{version="0.1.0",unwind="auto"}'), 1.0, "drip_build_info")
    for name in ("process_resident_memory_bytes", "process_virtual_memory_bytes", "process_start_time_seconds",
                 "process_cpu_seconds_total", "process_open_fds", "process_max_fds"):
        dt.check(v.get(name, 0) > 0, name + " present")
    dt.check(abs(v.get("process_start_time_seconds", 0) - time.time()) < 600, "process_start_time_seconds is a recent epoch time")
    dt.eq(v.get("process_virtual_memory_bytes"), None if size is None else float(size),
          "process_virtual_memory_bytes = statm's size, the same just before and just after the scrape")
    # resident pages move while the request is served: within 1 MiB of statm's figure read just after
    dt.check(abs(v.get("process_resident_memory_bytes", 0) - resident) <= 1 << 20,
             f"process_resident_memory_bytes {v.get('process_resident_memory_bytes')} within 1 MiB of statm's {resident}")
    st2, _, body2 = t.get("/metrics")
    dt.eq(parse_metrics(body2.decode()).get("process_start_time_seconds"), v.get("process_start_time_seconds"),
          "process_start_time_seconds is the same on the next scrape")
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=body.decode(), capture_output=True, text=True)
        dt.eq((p.returncode, p.stdout.strip(), p.stderr.strip()), (0, "", ""), "promtool check metrics: no error, no warning")
    else:
        dt.check(False, "promtool (Debian prometheus) is installed: scripts/packages.txt lists it")
    t.stop()


def thread_nice(pid, name):
    """The nice value (field 19 of /proc/PID/task/TID/stat) of the thread called `name`, waiting up
    to 5 s for the thread to exist (threads name themselves as they start)."""
    for _ in range(500):
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                if open(f"/proc/{pid}/task/{tid}/comm").read().strip() == name:
                    return int(open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()[16])
            except OSError:
                pass
        time.sleep(0.01)
    return None


def case_nice():
    # drip's HTTP thread yields to the program's: nice 19 by default; drip's other thread (ticks and
    # live leak checks, which pause the program) and the program's own threads are untouched
    # the program's own priority is the one this test runs at (ctest may run under `nice`)
    base = os.nice(0)
    t = Target()
    dt.eq(t.get("/metrics")[0], 200, "GET /metrics at nice 19")
    dt.eq(thread_nice(t.pid, "drip-http"), 19, "drip's HTTP thread runs at nice 19 by default")
    dt.eq(thread_nice(t.pid, "drip"), base, "drip's ticking thread keeps the program's priority")
    dt.eq(thread_nice(t.pid, open(f"/proc/{t.pid}/comm").read().strip()), base, "the program's main thread keeps its nice")
    st, _, body = t.get("/debug/drip/leaks")   # handed to "drip" and waited for
    defs = json.loads(body)["summary"]["definite"] if st == 200 else {}
    dt.eq((st, defs.get("bytes"), defs.get("blocks")), (200, 4096, 1), "a live leak check through the HTTP thread: live.c's lost block")
    t.stop()
    t = Target(args=["--nice", "5"])
    dt.eq(t.get("/metrics")[0], 200, "GET /metrics (the thread has started and set its priority)")
    dt.eq(thread_nice(t.pid, "drip-http"), 5, "--nice 5")
    t.stop()
    t = Target(args=["--nice", "0"])
    dt.eq(t.get("/metrics")[0], 200, "GET /metrics at nice 0")
    dt.eq(thread_nice(t.pid, "drip-http"), base, "--nice 0: the program's priority")
    t.stop()
    for bad in ("20", "-1", "x"):
        p = subprocess.run([dt.DRIP, "run", "--nice", bad, "--", "true"], capture_output=True, text=True)
        dt.eq(p.returncode, 2, f"--nice {bad}: usage error")
        dt.check(p.stderr.count("\n") == 1 and "nice" in p.stderr, f"--nice {bad}: one line naming the option: {p.stderr!r}")



def case_prometheus():
    prom = shutil.which("prometheus")
    if not prom:
        dt.check(False, "prometheus (Debian prometheus) is installed: scripts/packages.txt lists it")
        return
    t = Target()
    d = tempfile.mkdtemp()
    port = dt.free_port()
    target = t.base[len("http://"):]
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: drip\n    static_configs:\n      - targets: ['%s']\n" % target)
    server = subprocess.Popen([prom, "--config.file=" + os.path.join(d, "prometheus.yml"), "--storage.tsdb.path=" + os.path.join(d, "data"),
                               "--web.listen-address=127.0.0.1:%d" % port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    value = None
    try:
        for _ in range(60):
            time.sleep(1)
            try:
                url = "http://127.0.0.1:%d/api/v1/query?query=drip_heap_inuse_bytes" % port
                with urllib.request.urlopen(url, timeout=5) as r:
                    res = json.load(r)["data"]["result"]
                if res:
                    value = res[0]
                    break
            except (urllib.error.URLError, ConnectionError, KeyError):
                continue
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)
    dt.check(value is not None, "Prometheus scraped drip_heap_inuse_bytes")
    if value:
        dt.eq(value["metric"].get("instance"), target, "scraped from drip's endpoint")
        dt.eq(float(value["value"][1]), float(LIVE_BYTES), "the scraped value")
    t.stop()


def case_endpoints():
    t = Target()
    st, hdr, body = t.get("/")
    dt.eq(st, 200, "index page")
    dt.check(b"/debug/pprof/heap" in body and b"/metrics" in body and b"/debug/drip/leaks" in body, "index links")
    st, hdr, body = t.get("/nope")
    dt.eq((st, body), (404, b"404 page not found: /nope\n"), "unknown path")
    st, hdr, body = t.get("/metrics", method="POST", data=b"x")
    dt.eq((st, hdr.get("Allow")), (405, "GET"), "POST /metrics")
    # route()'s table: the Allow header is the row's methods; HEAD is GET; the two index paths
    st, hdr, body = t.get("/debug/pprof/symbol", method="PUT", data=b"x")
    dt.eq((st, hdr.get("Allow"), body), (405, "GET, POST", b"method not allowed\n"), "PUT /debug/pprof/symbol")
    st, hdr, body = t.get("/debug/drip/stats", method="DELETE")
    dt.eq((st, hdr.get("Allow")), (405, "GET"), "DELETE /debug/drip/stats")
    dt.eq(t.get("/debug/pprof/")[:3:2], t.get("/")[:3:2], "/debug/pprof/ is the index page")
    st, hdr, body = t.get("/metrics", method="HEAD")
    dt.eq(st, 200, "HEAD /metrics")
    st, hdr, body = t.get("/debug/pprof/heap?seconds=0")
    dt.eq((st, body), (400, b'invalid value for "seconds" - must be a positive integer\n'), "seconds=0")
    dt.eq(hdr.get("X-Go-Pprof"), "1", "errors marked for go tool pprof")
    st, hdr, body = t.get("/debug/pprof/heap?seconds=1&debug=1")
    dt.eq((st, body), (400, b"seconds and debug params are incompatible\n"), "seconds with debug")
    r = raw(t.base, b"GARBAGE\r\n\r\n")
    dt.check(r.startswith(b"HTTP/1.1 400 "), "malformed request: 400")
    r = raw(t.base, b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
    dt.check(r.startswith(b"HTTP/1.1 431 "), "oversized head: 431 (%r)" % r[:30])
    st, hdr, body = t.get("/debug/pprof/symbol")
    dt.eq((st, body), (200, b"num_symbols: 1\n"), "symbol GET")
    prof = pb.decode(t.get("/debug/pprof/heap")[2])
    addr = sample_of(prof, "grow_cache")[0]["locations"][0]["address"]
    st, hdr, body = t.get("/debug/pprof/symbol", method="POST", data=("%#x+0x1" % addr).encode())
    dt.eq((st, body.decode()), (200, "%#x grow_cache\n" % addr), "symbol POST names the address")
    st, hdr, body = t.get("/debug/pprof/cmdline")
    dt.eq(body.split(b"\0")[:2], [LIVE.encode(), b"idle"], "cmdline")
    st, hdr, body = t.get("/debug/drip/stats")
    s = json.loads(body)
    dt.eq((s["live_bytes"], s["live_objects"], s["total_alloc_bytes"], s["mallocs"], s["frees"]),
          (LIVE_BYTES, LIVE_OBJECTS, ALLOC_BYTES, MALLOCS, FREES), "stats JSON: in use apart from allocated")
    dt.check(PEAK - 65536 <= s["peak_live_bytes"] <= PEAK, "stats JSON: peak %d within 64 KiB below %d" % (s["peak_live_bytes"], PEAK))
    # a client that connects and says nothing does not hold up the others
    idle = socket.create_connection((t.base[7:].rsplit(":", 1)[0], int(t.base.rsplit(":", 1)[1])))
    st, _, _ = t.get("/metrics")
    dt.eq(st, 200, "served while another client is silent")
    idle.close()
    rc, rep = t.stop()
    dt.eq(rc, 0, "program unharmed")


def case_slow_reader():
    # A 4,096-site text profile (4.4 MB) to a client that reads nothing for a second: the
    # response goes out in several sendfile calls as the client's window opens, other clients are
    # served meanwhile, and every byte arrives.
    t = Target("sites")
    host, port = t.base[len("http://"):].rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect((host, int(port)))
    s.sendall(b"GET /debug/pprof/heap?debug=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(1)
    t0 = time.monotonic()
    st, _, _ = t.get("/metrics")
    dt.eq(st, 200, "another client served while the slow one reads nothing")
    dt.check(time.monotonic() - t0 < 10, "and promptly")
    data = recv_all(s, 4096, 0.0005)
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"Content-Length: (\d+)", head)
    dt.eq(head.split(b"\r\n")[0], b"HTTP/1.1 200 OK", "status line")
    dt.eq(len(body), int(length.group(1)) if length else None, "the whole body, as announced")
    dt.check(len(body) > 200000, "a body of several writes (%d bytes)" % len(body))
    samples = [l for l in body.decode().splitlines() if " @ " in l and not l.startswith("heap profile")]
    # 4,096 fan sites + grow_cache + lose_block, and whatever the C runtime allocated at start
    dt.check(len(samples) >= 4098, "every site in the text profile (%d sample lines)" % len(samples))
    dt.eq(sum(1 for l in samples if l.startswith("1: 16 [1: 16]")), 4096, "one 16-byte block per fan site")
    rc, _ = t.stop()
    dt.eq(rc, 0, "program unharmed")


def case_live_leaks():
    t = Target("churn")
    st, hdr, body = t.get("/debug/drip/leaks")
    dt.eq((st, hdr.get("Content-Type")), (200, "application/json"), "GET /debug/drip/leaks")
    rep = json.loads(body)
    dt.eq((rep["summary"]["definite"]["bytes"], rep["summary"]["definite"]["blocks"]), (4096, 1), "the lost block, found while running")
    defs = [r for r in rep["leaks"] if r["kind"] == "definite"]
    dt.eq(defs[0]["stack"][0]["function"] if defs else None, "lose_block", "its allocating function")
    held = [r for r in rep["leaks"] if r["kind"] == "reachable" and r["stack"][0]["function"] == "grow_cache"]
    dt.eq([(r["bytes"], r["blocks"]) for r in held], [(HELD, 1000)], "the cache is reachable")
    st, _, _ = t.get("/metrics")
    dt.eq(st, 200, "the program runs on after the check")
    rc, final = t.stop()
    dt.eq(rc, 0, "status")
    dt.eq((final["summary"]["definite"]["bytes"], final["summary"]["definite"]["blocks"]), (4096, 1), "and the exit report agrees")


def case_delta():
    t = Target("grow")
    results = {}

    def delta():
        results["delta"] = t.get("/debug/pprof/heap?seconds=2")
        results["delta_done"] = time.monotonic()

    th = threading.Thread(target=delta)
    th.start()
    time.sleep(0.3)
    st, _, _ = t.get("/metrics")
    results["metrics_done"] = time.monotonic()
    th.join()
    dt.eq(st, 200, "other clients are served during a delta profile")
    dt.check(results["metrics_done"] < results["delta_done"], "metrics answered before the 2 s delta finished")
    st, hdr, body = results["delta"]
    dt.eq(st, 200, "delta profile")
    dt.eq(hdr.get("Content-Disposition"), 'attachment; filename="heap-delta"', "Go's delta file name")
    prof = pb.decode(body)
    dt.eq(prof["duration_nanos"], 2 * 10**9, "duration 2 s")
    fns = sorted({s["functions"][0] for s in prof["samples"]})
    dt.eq(fns, ["grow_cache"], "only what changed during the window")
    g = sample_of(prof, "grow_cache")
    dt.check(bool(g) and g[0]["values"][1] > 0 and g[0]["values"][1] % 1024 == 0 and g[0]["values"][1] == g[0]["values"][3],
             "growth in whole 1 KiB blocks, none freed: %r" % (g[0]["values"] if g else None))
    t.stop()


def case_monitor():
    t = Target("grow", args=["--monitor", "200ms", "--alert", "2MiB"], http=None)
    time.sleep(2.5)
    rc, rep = t.stop()
    lines = t.stderr.splitlines()
    ticks = [l for l in lines if re.match(r"drip\[\d+\] [\d.]+s: heap [\d.]+ \w+ in \d+ objects \(peak", l)]
    warn = [l for l in lines if "warning: live heap" in l]
    dt.check(len(ticks) >= 5, "a stats line every 200 ms (%d lines)" % len(ticks))
    dt.eq(len(warn), 1, "one warning when the heap passes 2 MiB")
    dt.check(bool(warn) and warn[0].endswith("is above the alert threshold 2.0 MiB"), "warning text: %r" % warn[:1])


def case_bind_warnings():
    t = Target(http="0.0.0.0:0")
    dt.check(any("is not a loopback address" in l for l in t.err_lines), "warning for a non-loopback bind")
    t.stop()
    # drip run checks the address before the program starts: one line, status 2 (as an unwritable
    # --json); under LD_PRELOAD alone the program runs on without the endpoint
    p = subprocess.run([dt.DRIP, "run", "--http", "127.0.0.1:notaport", "--", LIVE], input="", capture_output=True, text=True, timeout=30)
    dt.eq(p.stderr.splitlines(), ["drip: http=127.0.0.1:notaport: cannot resolve: Name or service not known"],
          "drip run, bad address: one line")
    dt.eq(p.returncode, 2, "drip run, bad address: status 2, the program not started")
    env = dict(os.environ, LD_PRELOAD=dt.LIBDRIP, DRIP_OPTIONS="http=127.0.0.1:notaport:log_path=/dev/null")
    p = subprocess.run([LIVE], input="", capture_output=True, text=True, timeout=30, env=env)
    dt.check("drip: http=127.0.0.1:notaport: cannot resolve" in p.stderr, "LD_PRELOAD, bad address: one line")
    dt.eq(p.returncode, 0, "LD_PRELOAD, bad address: the program still runs")


def rel_se(n, size, rate):
    """Relative standard error of the scaled estimate of n blocks of `size` bytes sampled at `rate`:
    k ~ Binomial(n, p) blocks are sampled, p = 1 - exp(-size/rate), the estimate is k/p."""
    p = 1 - math.exp(-size / rate)
    return math.sqrt((1 - p) / (n * p))


def case_sampling():
    """sample=64KiB: Go's Poisson sampling and scaling (tests/progs/sampling.c). Each estimate must
    be within 4 standard errors of the truth (a false failure once in ~16,000 runs per check):
    big() 100,000 x 4 KiB, ~6,060 samples, SE 1.25% (tolerance 5.0%); small() 100,000 x 64 B, ~98
    samples, SE 10.1% (40%); even() 10,000 x 64 KiB allocated and freed, ~6,321 samples, SE 0.76%
    (3.1%): a naive scaling by rate/size (1 per sample) would be 37% low there, Go's
    1/(1 - e^(-size/rate)) is right. huge() 100 x 1 MiB: all sampled, the figures are exactly
    Go's scaling of them."""
    rate = 65536
    prof_path = tempfile.mktemp(suffix=".pb.gz")
    res = dt.run([os.path.join(dt.PROGS, "sampling")], ["--sample", "64KiB", "--profile", prof_path])
    dt.eq(res.rc, 0, "status")
    prof = pb.decode(open(prof_path, "rb").read())
    os.unlink(prof_path)
    dt.eq(prof["period"], 65536, "period is the sampling rate")

    def values(fn):
        s = sample_of(prof, fn)
        return s[0]["values"] if s else [0, 0, 0, 0]

    def near(got, want, se, what):
        dt.check(abs(got - want) <= 4 * se * want, "%s: %d within 4 SE (%.1f%%) of %d (%.2f SE off)"
                 % (what, got, 400 * se, want, abs(got - want) / (se * want)))
    b, s, e, h = values("big"), values("small"), values("even"), values("huge")
    se = rel_se(100000, 4096, rate)
    near(b[3], 409600000, se, "big(): estimated inuse bytes")
    near(b[2], 100000, se, "big(): estimated inuse objects")
    near(s[3], 6400000, rel_se(100000, 64, rate), "small(): estimated inuse bytes")
    se = rel_se(10000, 65536, rate)
    near(e[0], 10000, se, "even(): estimated alloc objects (naive scaling: ~6,321)")
    near(e[1], 655360000, se, "even(): estimated alloc bytes")
    dt.eq(e[2:], [0, 0], "even(): nothing in use")
    scale = 1 / (1 - math.exp(-16))
    dt.eq(h[:2], [int(100 * scale + 0.5), int(104857600 * scale + 0.5)], "huge(): every block sampled, scaled by 1/(1 - e^-16)")
    dt.eq(res.report.get("classification"), "unavailable", "JSON: classification unavailable")
    dt.eq(res.report.get("sampling"), 65536, "JSON: the rate")
    dt.check("drip: sampling mode (sample=65536 bytes): leak classification is unavailable" in res.err, "text report says so")
    t = Target(args=["--sample", "512KiB"])
    st, _, body = t.get("/debug/drip/leaks")
    dt.eq((st, body), (503, b"leak classification is unavailable in sampling mode (sample=524288)\n"), "live leak check refuses")
    v = parse_metrics(t.get("/metrics")[2].decode())
    dt.eq(v.get("drip_sample_rate_bytes"), 524288.0, "metrics say the rate")
    t.stop()


def case_suspects_live():
    # The program runs up to 40 s and is stopped once the checks are done: at the default nice 19,
    # drip's HTTP thread may take seconds to build its symbolizer while the program (and, in CI,
    # other tests) keep the CPUs busy, and the program must still be running when it answers.
    # with log_path, the "serving" line goes there (the program's stderr stays its own)
    log = tempfile.mktemp(suffix=".log")
    p = subprocess.Popen([dt.DRIP, "run", "--http", "127.0.0.1:0", "--log-path", log, "--",
                          os.path.join(dt.PROGS, "growth"), "sessions", "40"], stderr=subprocess.PIPE, text=True)
    m = None
    while m is None and p.poll() is None:
        m = re.search(r"serving (http://[^/]+)/", open(log).read()) if os.path.exists(log) else None
        time.sleep(0.05)
    base = m.group(1)
    time.sleep(4)
    with urllib.request.urlopen(base + "/debug/drip/suspects", timeout=30) as r:
        sus = json.load(r)
    dt.eq([x["stack"][0]["function"] for x in sus], ["session_open"], "/debug/drip/suspects while it runs")
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        text = r.read().decode()
    v = parse_metrics(text)
    dt.eq(v.get("drip_growth_suspects"), 1.0, "drip_growth_suspects")
    rates = {k: x for k, x in v.items() if k.startswith("drip_growth_bytes_per_second{")}
    dt.eq([re.search(r'function="([^"]+)"', k).group(1) for k in rates], ["session_open"], "per-suspect rate metric")
    # growth.c paces its steps by absolute deadlines: 20 x 256 bytes every 10 ms = 512,000 B/s.
    # Within 3%: the end-to-end growth tests (tests/run) measured 0.9956x-1.0009x of the real pace.
    rate = list(rates.values())[0] if rates else 0
    dt.check(abs(rate / 512000 - 1) <= 0.03, "session_open's rate %.0f B/s within 3%% of 512,000" % rate)
    dt.check(bool(sus) and abs(sus[0]["bytes_per_second"] / 512000 - 1) <= 0.03, "and in /debug/drip/suspects: %r" % (sus[0]["bytes_per_second"] if sus else None))
    promtool = shutil.which("promtool")
    if promtool:
        q = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        dt.eq((q.returncode, q.stdout.strip(), q.stderr.strip()), (0, "", ""), "promtool accepts the labelled metrics")
    else:
        dt.check(False, "promtool (Debian prometheus) is installed: scripts/packages.txt lists it")
    p.terminate()   # drip run forwards SIGTERM to the program
    p.wait(timeout=60)
    os.unlink(log)


if __name__ == "__main__":
    dt.main(globals())
