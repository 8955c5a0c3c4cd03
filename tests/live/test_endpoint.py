"""The live endpoint in production (issue 19): the unix socket (mode, owner, removal at exit,
no clobbering), the bearer token (401 / 200 on every endpoint, Prometheus's credentials_file),
the /metrics-only address, the limits on live leak checks (429), idle and slowloris clients,
the warning for a non-loopback address, and `drip top`/`drip flame` reading a unix socket.

Usage: test_endpoint.py CASE
"""
import http.client
import json
import os
import re
import select
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

LIVE = os.path.join(dt.PROGS, "live")
from test_live import HELD, LIVE_BYTES  # noqa: E402  (what live.c holds: see there)
TOKEN = "tok-3f9a1c0e7b2d4c6a8e5f"

ENDPOINTS = [("GET", "/"), ("GET", "/debug/pprof/"), ("GET", "/debug/pprof/heap"), ("GET", "/debug/pprof/allocs"),
             ("GET", "/metrics"), ("GET", "/debug/drip/leaks"), ("GET", "/debug/drip/stats"),
             ("GET", "/debug/drip/suspects"), ("GET", "/debug/pprof/cmdline"), ("GET", "/debug/pprof/symbol"),
             ("POST", "/debug/pprof/symbol"), ("HEAD", "/metrics")]


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("drip", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def request(addr, path, method="GET", headers=None, body=None, timeout=30):
    """(status, headers, body) of one request to addr: "unix:/path" or "host:port"."""
    if addr.startswith("unix:"):
        c = UnixConnection(addr[5:], timeout)
    else:
        host, port = addr.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def bearer(tok=TOKEN):
    return {"Authorization": "Bearer " + tok}


class Target:
    """live.c under `drip run ARGS`, until stop(); `lines` are drip's stderr lines up to and
    including the "serving" line(s) it was told to expect."""

    def __init__(self, args, mode="idle", serving=1, prog=None, umask=None):
        self.json = tempfile.mktemp(suffix=".json")
        argv = [dt.DRIP, "run", "--json", self.json] + list(args) + ["--"] + (prog or [LIVE, mode])
        pre = (lambda: os.umask(umask)) if umask is not None else None
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, preexec_fn=pre)
        self.lines = []
        self.addrs = []
        while len(self.addrs) < serving:
            line = self.p.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"serving (?:http://([^/]+)/\S*|(unix:\S+))", line)
            if m:
                self.addrs.append(m.group(1) or m.group(2))
        self.ready = self.p.stdout.readline() if not prog else ""

    def stop(self):
        out, err = self.p.communicate(input="", timeout=60)
        self.stdout = self.ready + out
        self.stderr = "".join(self.lines) + err
        if os.path.exists(self.json):
            os.unlink(self.json)
        return self.p.returncode


def token_file(d, text=TOKEN + "\n", mode=0o600):
    path = os.path.join(d, "token")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def case_unix_socket():
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "drip.sock")
    # umask 0 would leave the socket 0777: drip makes it 0600 whatever the umask
    t = Target(["--http", "unix:" + sock], umask=0)
    dt.eq(t.addrs, ["unix:" + sock], "serving line names the socket")
    st = os.lstat(sock)
    dt.eq(stat.S_ISSOCK(st.st_mode), True, "a socket")
    dt.eq(oct(stat.S_IMODE(st.st_mode)), "0o600", "mode 0600 under umask 0")
    dt.eq((st.st_uid, st.st_gid), (os.getuid(), os.getgid()), "owned by the program's user and group")
    status, hdr, body = request(t.addrs[0], "/metrics")
    dt.eq(status, 200, "GET /metrics over the socket")
    dt.check(("drip_heap_inuse_bytes %d\n" % LIVE_BYTES) in body.decode(), "the live figure over the socket")
    rc = t.stop()
    dt.eq(rc, 0, "program's status")
    dt.eq(t.stdout.startswith("ready rc=0/0"), True, "program's output")
    dt.eq(os.path.exists(sock), False, "the socket is removed at exit")
    # killed by SIGTERM: drip's handler writes the report and removes the socket before dying
    t = Target(["--http", "unix:" + sock])
    pid = int(re.search(r"for process (\d+)", t.lines[-1]).group(1))
    os.kill(pid, 15)
    t.p.wait(timeout=60)
    dt.eq(t.p.returncode, -15, "SIGTERM: drip run dies of the program's signal")
    dt.eq(os.path.exists(sock), False, "the socket is removed when the program dies of SIGTERM")
    t.stop()
    # a relative path is made absolute against the program's directory, and removed at exit
    t = Target(["--http", "unix:rel.sock"], prog=["/bin/sh", "-c", "cd / && read x"], serving=1)
    t.p.stdin.flush()
    dt.eq(t.addrs, ["unix:" + os.path.join(os.getcwd(), "rel.sock")], "relative path made absolute")
    t.stop()
    dt.eq(os.path.exists("rel.sock"), False, "removed at exit though the program changed directory")
    # forked children exit (a subshell) without removing their parent's socket
    t = Target(["--http", "unix:" + sock], prog=["/bin/sh", "-c", "(exit 0); (exit 3); read x"], serving=1)
    time.sleep(0.5)
    dt.eq(os.path.exists(sock), True, "a forked child's exit leaves the parent's socket")
    dt.eq(request("unix:" + sock, "/metrics")[0], 200, "and the parent still serves on it")
    t.stop()
    dt.eq(os.path.exists(sock), False, "removed when the parent exits")
    shutil.rmtree(d, ignore_errors=True)


def case_unix_refuse():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "drip.sock")
    with open(path, "w") as f:
        f.write("precious\n")
    plain = subprocess.run([LIVE], input="", capture_output=True, text=True, timeout=30)
    t = Target(["--http", "unix:" + path], serving=0)
    rc = t.stop()
    drip_lines = [l for l in t.stderr.splitlines() if l.startswith("drip: ") and "SUMMARY" not in l]
    dt.eq(drip_lines, ["drip: http=unix:%s: the path exists and is not a socket: not replacing it; the endpoint is off" % path],
          "one line on stderr")
    dt.eq(open(path).read(), "precious\n", "the regular file is untouched")
    dt.eq(rc, 0, "program unharmed: status")
    dt.eq(t.stdout.replace("rc=0/0", "").split()[0], plain.stdout.split()[0], "program unharmed: output")
    os.unlink(path)
    # a socket some other process still serves on is not taken over either
    other = socket.socket(socket.AF_UNIX)
    other.bind(path)
    other.listen(4)
    t = Target(["--http", "unix:" + path], serving=0)
    t.stop()
    dt.check("another process serves on this socket: not replacing it" in t.stderr, "a live socket is left alone")
    dt.eq(stat.S_ISSOCK(os.lstat(path).st_mode), True, "and still there")
    other.close()
    # ... but a stale one (its process died without removing it) is replaced
    t = Target(["--http", "unix:" + path])
    dt.eq(t.addrs, ["unix:" + path], "a stale socket is replaced")
    dt.eq(request(t.addrs[0], "/metrics")[0], 200, "and served on")
    t.stop()
    dt.eq(os.path.exists(path), False, "and removed at exit")
    shutil.rmtree(d, ignore_errors=True)


def check_all_endpoints(addr, what):
    """Every endpoint: 401 without a token, with a wrong one, with the right one minus its last
    byte or plus one; 200 with it."""
    for method, path in ENDPOINTS:
        body = b"0x1" if method == "POST" else None
        st, hdr, _ = request(addr, path, method, body=body)
        dt.eq((st, hdr.get("WWW-Authenticate")), (401, 'Bearer realm="drip"'), f"{what} {method} {path} without a token")
        for bad in ("wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
            st, hdr, _ = request(addr, path, method, headers=bearer(bad), body=body)
            dt.eq((st, hdr.get("WWW-Authenticate")), (401, 'Bearer realm="drip", error="invalid_token"'),
                  f"{what} {method} {path} with the token {bad!r}")
        st, _, _ = request(addr, path, method, headers={"Authorization": "Basic " + TOKEN}, body=body)
        dt.eq(st, 401, f"{what} {method} {path}: another scheme")
        st, _, data = request(addr, path, method, headers=bearer(), body=body)
        dt.eq(st, 200, f"{what} {method} {path} with the token")
    st, _, _ = request(addr, "/metrics", headers={"Authorization": "bearer  " + TOKEN})
    dt.eq(st, 200, f"{what}: the scheme in any case, extra spaces")
    st, _, _ = request(addr, "/nope", headers=bearer())
    dt.eq(st, 404, f"{what}: an unknown path with the token: 404")
    st, _, _ = request(addr, "/nope")
    dt.eq(st, 401, f"{what}: an unknown path without it: 401 (nothing is told)")


def case_token():
    d = tempfile.mkdtemp()
    tok = token_file(d)
    sock = os.path.join(d, "drip.sock")
    t = Target(["--http", "127.0.0.1:0", "--http-token", tok, "--http-leaks-interval", "0"])
    check_all_endpoints(t.addrs[0], "tcp")
    # two Authorization headers: ambiguous, refused
    host, port = t.addrs[0].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(("GET /metrics HTTP/1.1\r\nAuthorization: Bearer %s\r\nAuthorization: Bearer x\r\n\r\n" % TOKEN).encode())
    dt.check(s.recv(100).startswith(b"HTTP/1.1 400 "), "two Authorization headers: 400")
    s.close()
    dt.eq(t.stop(), 0, "program's status")
    t = Target(["--http", "unix:" + sock, "--http-token", tok, "--http-leaks-interval", "0"])
    check_all_endpoints(t.addrs[0], "unix")
    t.stop()
    # the token file: trailing newline dropped (above); missing, empty, or with a space inside: the
    # endpoint stays off (one line), the program runs as without drip
    for content, why in ((None, "No such file or directory"), ("\n", "the file holds no token"),
                         ("a b\n", "the token may hold only printable ASCII without spaces")):
        path = os.path.join(d, "bad")
        if content is not None:
            with open(path, "w") as f:
                f.write(content)
        t = Target(["--http", "127.0.0.1:0", "--http-token", path], serving=0)
        rc = t.stop()
        lines = [l for l in t.stderr.splitlines() if l.startswith("drip: http")]
        dt.eq(lines, ["drip: http_token=%s: %s: the endpoint is off" % (path, why)], f"token file {content!r}: one line")
        dt.check("serving" not in t.stderr, f"token file {content!r}: nothing served")
        dt.eq(rc, 0, f"token file {content!r}: program unharmed")
        if content is not None:
            os.unlink(path)
    shutil.rmtree(d, ignore_errors=True)


def case_metrics_only():
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "drip.sock")
    t = Target(["--http", "unix:" + sock, "--http-metrics", "127.0.0.1:0"], serving=2)
    dt.eq(t.addrs[0], "unix:" + sock, "profiles and leak checks on the unix socket")
    dt.check(bool(re.search(r"drip: serving http://127\.0\.0\.1:\d+/metrics \(only\) for process \d+", t.lines[-1])),
             "the metrics address's line: %r" % t.lines[-1])
    m = t.addrs[1]
    st, hdr, body = request(m, "/metrics")
    dt.eq((st, hdr.get("Content-Type")), (200, "text/plain; version=0.0.4; charset=utf-8"), "/metrics on the metrics address")
    dt.check(("drip_heap_inuse_bytes %d\n" % LIVE_BYTES) in body.decode(), "its figure")
    for path in ("/", "/debug/pprof/heap", "/debug/drip/leaks", "/debug/drip/stats", "/debug/pprof/cmdline",
                 "/debug/pprof/symbol", "/debug/drip/suspects", "/metrics/", "/nope"):
        st, _, body = request(m, path)
        dt.eq((st, body.decode()), (404, "404 page not found: %s (this address serves /metrics only)\n" % path),
              "%s is not served on the metrics address" % path)
    dt.eq(request(t.addrs[0], "/debug/drip/stats")[0], 200, "the main address serves everything")
    dt.eq(request(t.addrs[0], "/metrics")[0], 200, "/metrics included")
    t.stop()
    # a token covers both addresses
    tok = token_file(d)
    t = Target(["--http", "127.0.0.1:0", "--http-metrics", "127.0.0.1:0", "--http-token", tok], serving=2)
    dt.eq(request(t.addrs[1], "/metrics")[0], 401, "metrics address without the token")
    dt.eq(request(t.addrs[1], "/metrics", headers=bearer())[0], 200, "metrics address with it")
    t.stop()
    # http_metrics alone: no profiles anywhere
    t = Target(["--http-metrics", "127.0.0.1:0"])
    dt.eq(request(t.addrs[0], "/metrics")[0], 200, "http_metrics without http")
    dt.eq(request(t.addrs[0], "/debug/pprof/heap")[0], 404, "and nothing else")
    t.stop()
    shutil.rmtree(d, ignore_errors=True)



def case_prometheus_token():
    prom = shutil.which("prometheus")
    if not prom:
        dt.skip("prometheus (Debian prometheus) is not installed: scripts/deps.sh installs it")
    d = tempfile.mkdtemp()
    tok = token_file(d)
    t = Target(["--http", "127.0.0.1:0", "--http-token", tok])
    target = t.addrs[0]
    port = dt.free_port()
    # one job with the credentials file, one without: the second must be refused (up == 0)
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                "  - job_name: drip\n    authorization:\n      type: Bearer\n      credentials_file: %s\n"
                "    static_configs:\n      - targets: ['%s']\n"
                "  - job_name: nocreds\n    static_configs:\n      - targets: ['%s']\n" % (tok, target, target))
    server = subprocess.Popen([prom, "--config.file=" + os.path.join(d, "prometheus.yml"), "--storage.tsdb.path=" + os.path.join(d, "data"),
                               "--web.listen-address=127.0.0.1:%d" % port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def query(q):
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, q)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)["data"]["result"]

    value, up = None, {}
    try:
        for _ in range(60):
            time.sleep(1)
            try:
                res = query("drip_heap_inuse_bytes")
                up = {r["metric"]["job"]: r["value"][1] for r in query("up")}
                if res and "nocreds" in up:
                    value = res[0]
                    break
            except (OSError, KeyError, ValueError):
                continue
    finally:
        server.terminate()
        server.wait(timeout=30)
    dt.check(value is not None, "Prometheus scraped drip_heap_inuse_bytes with credentials_file")
    if value:
        dt.eq((value["metric"].get("job"), value["metric"].get("instance")), ("drip", target), "scraped by the job with the token")
        dt.eq(float(value["value"][1]), float(LIVE_BYTES), "the scraped value")
    dt.eq(up, {"drip": "1", "nocreds": "0"}, "up: 1 with the token, 0 without (401)")
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


def case_leak_limits():
    t = Target(["--http", "127.0.0.1:0"], mode="churn")
    results = []

    def one():
        results.append(request(t.addrs[0], "/debug/drip/leaks"))

    ths = [threading.Thread(target=one) for _ in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    statuses = sorted(r[0] for r in results)
    dt.eq(statuses, [200, 429], "two concurrent leak checks: one 200, one 429")
    ok = [r for r in results if r[0] == 200]
    no = [r for r in results if r[0] == 429]
    if ok:
        rep = json.loads(ok[0][2])
        dt.eq((rep["summary"]["definite"]["bytes"], rep["summary"]["definite"]["blocks"]), (4096, 1), "the 200 is the report")
    if no:
        body = no[0][2].decode()
        dt.check(body == "a leak check is already running\n" or body.startswith("the last leak check ended "),
                 "the 429 says why: %r" % body)
        dt.check(re.fullmatch(r"[1-5]", no[0][1].get("Retry-After", "")) is not None,
                 "Retry-After: whole seconds, at most the interval: %r" % no[0][1].get("Retry-After"))
    st, hdr, body = request(t.addrs[0], "/debug/drip/leaks")
    dt.eq(st, 429, "a third right after: 429 (default http_leaks_interval 5s)")
    dt.check(re.fullmatch(r"[1-5]", hdr.get("Retry-After", "")) is not None, "Retry-After %r" % hdr.get("Retry-After"))
    dt.check(re.fullmatch(r"the last leak check ended \d+ ms ago; http_leaks_interval allows one every 5000 ms\n",
                          body.decode()) is not None, "its body: %r" % body)
    dt.eq(request(t.addrs[0], "/metrics")[0], 200, "/metrics is not limited")
    t.stop()
    # http_leaks_interval=0: checks one after another all run
    t = Target(["--http", "127.0.0.1:0", "--http-leaks-interval", "0"])
    dt.eq([request(t.addrs[0], "/debug/drip/leaks")[0] for _ in range(3)], [200, 200, 200], "interval 0: sequential checks run")
    t.stop()
    # 1s: the next is refused, then allowed once the interval has passed
    t = Target(["--http", "127.0.0.1:0", "--http-leaks-interval", "1s"])
    first = request(t.addrs[0], "/debug/drip/leaks")[0]
    second = request(t.addrs[0], "/debug/drip/leaks")
    time.sleep(1.2)
    third = request(t.addrs[0], "/debug/drip/leaks")[0]
    dt.eq((first, second[0], second[1].get("Retry-After"), third), (200, 429, "1", 200), "interval 1s")
    t.stop()


def slowloris(host, port, req):
    """Starts a client that sends req a byte a second; returns (thread, state): state["sent"] is
    how many bytes went out before the server closed the connection, state["reply"] what it sent."""
    s = socket.create_connection((host, port), timeout=30)
    state = {"sent": 0}

    def feed():
        for i in range(len(req)):
            try:
                s.send(req[i:i + 1])
                state["sent"] = i + 1
            except OSError:
                break
            time.sleep(1)
            r, _, _ = select.select([s], [], [], 0)
            if r:   # the server closed it (or answered, which is a failure below)
                break
        try:
            state["reply"] = s.recv(100)
        except OSError as e:
            state["reply"] = b"" if isinstance(e, ConnectionResetError) else repr(e)
        s.close()

    th = threading.Thread(target=feed)
    th.start()
    return th, state


def metrics_ok(addr):
    st, _, body = request(addr, "/metrics", timeout=10)
    return st, ("drip_heap_inuse_bytes %d\n" % LIVE_BYTES) in body.decode()


def case_slow_clients():
    """A slowloris client (a byte a second) is dropped when its 5 s to send a request are up, and
    /metrics answers meanwhile; so it does with 200 idle connections held open as well."""
    t = Target(["--http", "127.0.0.1:0"])
    host, port = t.addrs[0].rsplit(":", 1)
    port = int(port)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: slowloris\r\n\r\n"
    th, state = slowloris(host, port, req)
    time.sleep(1.5)
    dt.eq(metrics_ok(t.addrs[0]), (200, True), "/metrics answers while a slowloris client is connected")
    th.join(timeout=90)
    dt.check(1 < state["sent"] < len(req), "the slowloris client is dropped before its request is whole (%d of %d bytes sent)"
             % (state["sent"], len(req)))
    dt.eq(state.get("reply"), b"", "dropped, not answered")
    th, state = slowloris(host, port, req)
    idle = [socket.create_connection((host, port), timeout=30) for _ in range(200)]
    answers = []
    for _ in range(3):
        answers.append(metrics_ok(t.addrs[0]))
        time.sleep(0.3)
    dt.eq(answers, [(200, True)] * 3, "/metrics answers while 200 idle connections and a slowloris client are held open")
    th.join(timeout=90)
    dt.check(state["sent"] < len(req), "that slowloris client is dropped too (%d of %d bytes)" % (state["sent"], len(req)))
    dt.eq(state.get("reply"), b"", "not answered")
    for s in idle:
        s.close()
    dt.eq(request(t.addrs[0], "/metrics")[0], 200, "served afterwards")
    dt.eq(t.stop(), 0, "program unharmed")


def case_cli_unix():
    """drip top / flame read an endpoint on a unix socket (unix:/path[:/urlpath]), with the token
    of DRIP_HTTP_TOKEN_FILE; drip watch unix:/path watches the process serving on it."""
    d = tempfile.mkdtemp()
    tok = token_file(d)
    sock = os.path.join(d, "drip.sock")
    t = Target(["--http", "unix:" + sock, "--http-token", tok])
    env = dict(os.environ, DRIP_HTTP_TOKEN_FILE=tok)

    def cli(*args, e=env):
        return subprocess.run([dt.DRIP] + list(args), capture_output=True, text=True, env=e, timeout=60)

    p = cli("top", "--json", "--nodefraction", "0", "unix:" + sock)
    rows = {r["function"]: r["flat"] for r in json.loads(p.stdout)["rows"]} if p.returncode == 0 else {}
    dt.eq((p.returncode, rows.get("grow_cache"), rows.get("lose_block")), (0, HELD, 4096),
          "drip top unix:SOCK: the live heap profile (inuse bytes)")
    p = cli("top", "--json", "--type", "alloc_objects", "unix:" + sock + ":/debug/pprof/allocs")
    rows = {r["function"]: r["flat"] for r in json.loads(p.stdout)["rows"]} if p.returncode == 0 else {}
    dt.eq((p.returncode, rows.get("grow_cache")), (0, 1000), "unix:SOCK:/debug/pprof/allocs")
    p = cli("flame", "--folded", "unix:" + sock)
    dt.check(p.returncode == 0 and re.search(r"^\S*;main;grow_cache %d$" % HELD, p.stdout, re.M) is not None,
             "drip flame --folded unix:SOCK")
    env_none = {k: v for k, v in env.items() if k != "DRIP_HTTP_TOKEN_FILE"}
    p = cli("top", "unix:" + sock, e=env_none)
    dt.eq((p.returncode, p.stderr), (2, "drip: unix:%s: HTTP 401 Unauthorized: unauthorized: send the token of "
                                        "http_token as Authorization: Bearer TOKEN\n" % sock), "without the token: 401, one line")
    p = cli("top", "unix:" + os.path.join(d, "nope.sock"))
    dt.eq((p.returncode, p.stderr.count("\n"), "cannot connect" in p.stderr), (2, 1, True), "no such socket: one line")
    # drip watch: the process serving on the socket (its peer credentials; no token needed)
    pid = int(re.search(r"for process (\d+)", t.lines[-1]).group(1))
    p = cli("watch", "-i", "100ms", "-n", "2", "unix:" + sock, e=env_none)
    dt.eq((p.returncode, re.findall(r"^drip: watching pid (\d+) \((\w+)\)", p.stderr, re.M)), (0, [(str(pid), "live")]),
          "drip watch unix:SOCK watches the program serving on it")
    p = cli("watch", "unix:" + os.path.join(d, "nope.sock"))
    dt.eq((p.returncode, p.stderr), (2, "drip: watch: unix:%s: cannot connect: No such file or directory\n"
                                     % os.path.join(d, "nope.sock")), "drip watch: no such socket, one line")
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


def case_curl_unix():
    curl = shutil.which("curl")
    if not curl:
        dt.skip("curl is not installed")
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "drip.sock")
    tok = token_file(d)
    t = Target(["--http", "unix:" + sock, "--http-token", tok])
    p = subprocess.run([curl, "-s", "--unix-socket", sock, "-H", "Authorization: Bearer " + TOKEN,
                        "http://drip/debug/drip/stats"], capture_output=True, text=True, timeout=30)
    dt.check('"live_bytes": %d,' % LIVE_BYTES in p.stdout, "curl --unix-socket -H 'Authorization: Bearer ...': %r" % p.stdout[:60])
    p = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", sock, "http://drip/metrics"],
                       capture_output=True, text=True, timeout=30)
    dt.eq(p.stdout, "401", "curl without the token")
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


def case_socat_sidecar():
    """docs/live.md's sidecar: socat relays a TCP port (here on loopback) to the unix socket."""
    socat = shutil.which("socat")
    if not socat:
        dt.skip("socat is not installed")
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "drip.sock")
    tok = token_file(d)
    t = Target(["--http", "unix:" + sock, "--http-token", tok])
    port = dt.free_port()
    relay = subprocess.Popen([socat, "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % port, "UNIX-CONNECT:" + sock],
                             stderr=subprocess.DEVNULL)
    try:
        got = None
        for _ in range(50):
            try:
                got = request("127.0.0.1:%d" % port, "/metrics", headers=bearer())
                break
            except OSError:
                time.sleep(0.1)
        dt.eq(got[0] if got else None, 200, "GET /metrics through socat")
        dt.check(bool(got) and ("drip_heap_inuse_bytes %d\n" % LIVE_BYTES) in got[2].decode(), "the figure through socat")
        dt.eq(request("127.0.0.1:%d" % port, "/metrics")[0], 401, "the token is still asked for")
    finally:
        relay.terminate()
        relay.wait(timeout=10)
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


def case_delta_limit():
    """At most 16 delta profiles (?seconds=N) are parked at once; the 17th gets 429."""
    t = Target(["--http", "127.0.0.1:0"])
    host, port = t.addrs[0].rsplit(":", 1)
    parked = []
    for _ in range(16):
        s = socket.create_connection((host, int(port)), timeout=30)
        s.sendall(b"GET /debug/pprof/heap?seconds=60 HTTP/1.1\r\nHost: x\r\n\r\n")
        parked.append(s)
    time.sleep(0.5)
    st, hdr, body = request(t.addrs[0], "/debug/pprof/heap?seconds=1")
    dt.eq((st, hdr.get("Retry-After"), body), (429, "10", b"16 delta profiles are in progress, the most drip serves at once\n"),
          "the 17th delta profile")
    dt.eq(metrics_ok(t.addrs[0]), (200, True), "/metrics still answers")
    dt.eq(request(t.addrs[0], "/debug/pprof/heap")[0], 200, "so does a plain profile")
    for s in parked:
        s.close()
    dt.eq(t.stop(), 0, "program unharmed")


def case_bind_warning():
    t = Target(["--http", "0.0.0.0:0"])
    warn = [l for l in t.lines if "warning" in l]
    dt.eq(len(warn), 1, "one warning")
    w = warn[0] if warn else ""
    for part in ("http=0.0.0.0:0 is not a loopback address", "heap profiles", "leak reports", "command line",
                 "pause the program with /debug/drip/leaks", "http_token=FILE", "unix:", "http_metrics="):
        dt.check(part in w, "the warning says %r" % part)
    dt.eq(request("127.0.0.1:" + t.addrs[0].rsplit(":", 1)[1], "/metrics")[0], 200, "it still serves")
    t.stop()
    d = tempfile.mkdtemp()
    t = Target(["--http", "0.0.0.0:0", "--http-token", token_file(d)])
    warn = [l for l in t.lines if "warning" in l]
    dt.check(len(warn) == 1 and "needs the bearer token" in warn[0] and "unencrypted" in warn[0],
             "with a token: the warning says it is required and travels in clear: %r" % warn)
    t.stop()
    t = Target(["--http-metrics", "0.0.0.0:0"])
    warn = [l for l in t.lines if "warning" in l]
    dt.check(len(warn) == 1 and "can read /metrics" in warn[0] and "heap profiles" not in warn[0],
             "a /metrics-only address: the warning names /metrics only: %r" % warn)
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


def case_log_path_serving():
    """With --log-path, drip's "serving" line goes to that file with the report: the program's
    stderr is byte for byte its own (it was printed on the program's stderr)."""
    d = tempfile.mkdtemp()
    log = os.path.join(d, "drip.log")
    prog = ["/bin/sh", "-c", "echo to-stderr >&2; read x; echo out; echo more-stderr >&2"]
    plain = subprocess.run(prog, input="go\n", capture_output=True, text=True, timeout=60)
    p = subprocess.Popen([dt.DRIP, "run", "--http", "127.0.0.1:0", "--log-path", log, "--"] + prog,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    m = None
    for _ in range(600):   # the line is written before main; the program waits on stdin meanwhile
        with open(log) if os.path.exists(log) else open(os.devnull) as f:
            m = re.search(r"^drip: serving http://([^/]+)/ for process (\d+)$", f.read(), re.M)
        if m:
            break
        time.sleep(0.05)
    dt.check(m is not None, "the serving line is in the log file")
    if m:
        dt.eq(request(m.group(1), "/metrics")[0], 200, "the address in the log serves")
    out, err = p.communicate(input="go\n", timeout=60)
    dt.eq(p.returncode, plain.returncode, "program's status")
    dt.eq(out, plain.stdout, "program's stdout")
    dt.eq(err, plain.stderr, "program's stderr is its own, no drip line in it")
    text = open(log).read()
    dt.eq(text.count("drip: serving http://"), 1, "one serving line in the log")
    dt.check(text.startswith("drip: serving http://") and "LEAK SUMMARY" in text,
             "the log holds the serving line, then the report")
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    dt.main(globals())
