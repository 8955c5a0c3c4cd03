"""End-to-end tests of drip top / diff / flame / watch.

Usage: test_cli.py CASE   (one ctest per case; `test_cli.py --list` names them)

Ground truth: `go tool pprof` (Debian's golang-go) on a profile written by a real Go program
(tests/cli/heapgo.go), profiles with known figures built by pprofgen.py, and headless Chromium
for the SVGs. Screenshots go to $DRIP_BUILD/tests-cli-out/ for a human to look at.
"""
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import driptest as dt  # noqa: E402
import pprofgen as pg  # noqa: E402

DRIP = dt.DRIP
OUT = os.path.join(os.path.abspath(dt.BUILD), "tests-cli-out")
CLIPROGS = os.path.join(os.path.abspath(dt.BUILD), "bin", "cli-progs")
TMP = tempfile.mkdtemp(prefix="drip-cli-")
MiB = 1 << 20


def drip(*args, timeout=60, **kw):
    return subprocess.run([DRIP] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)


def write(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


# ---- Go ---------------------------------------------------------------------------------------

def go_env():
    e = dict(os.environ)
    home = os.path.join(TMP, "home")
    os.makedirs(home, exist_ok=True)
    e.update(HOME=home, GOCACHE=os.path.join(TMP, "gocache"), GOPATH=os.path.join(TMP, "gopath"),
             GO111MODULE="off", GOFLAGS="", GOPROXY="off", GOTOOLCHAIN="local", PPROF_TMPDIR=home)
    return e


def build_heapgo():
    if not shutil.which("go"):
        print("FAIL go is not installed (apt-get install golang-go; scripts/packages.txt lists it)")
        sys.exit(1)
    exe = os.path.join(TMP, "heapgo")
    subprocess.run(["go", "build", "-o", exe, os.path.join(HERE, "heapgo.go")], check=True, env=go_env(),
                   timeout=300, cwd=TMP)
    return exe


def go_profile():
    exe = build_heapgo()
    path = os.path.join(TMP, "heap.pb.gz")
    subprocess.run([exe, "write", path], check=True, timeout=60)
    return path


def pprof_top(src, *args):
    """`go tool pprof -top -unit=B ARGS SRC` -> (header lines, rows [(name, flat, flat%, sum%, cum, cum%)])."""
    p = subprocess.run(["go", "tool", "pprof", "-top", "-unit=B"] + list(args) + [src], capture_output=True,
                       text=True, env=go_env(), timeout=120)
    if p.returncode:
        raise RuntimeError("go tool pprof failed: " + p.stderr)
    return parse_top(p.stdout, exact=True)


ROW = re.compile(r"^\s*(\S+)\s+(\S+%)\s+(\S+%)\s+(\S+)\s+(\S+%)\s\s(.*?)(?: \((?:partial-)?inline\))?$")


def parse_top(text, exact=False):
    lines = text.splitlines()
    i = next(k for k, l in enumerate(lines) if l.split()[:2] == ["flat", "flat%"])
    rows = []
    for l in lines[i + 1:]:
        m = ROW.match(l)
        if not m:
            raise ValueError("bad row: %r" % l)
        flat, fp, sp, cum, cp, name = m.groups()
        rows.append((name, flat, fp, sp, cum, cp))
    return lines[:i], rows


UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "k": 1e3, "M": 1e6, "G": 1e9, "": 1}


def human(v):
    """'1.50MiB' -> (1.5 * 2^20, the unit's rounding: half of 0.01 unit)."""
    m = re.match(r"^(-?[0-9.]+)([A-Za-z]*)$", v)
    num, unit = m.groups()
    if unit not in UNITS:
        raise ValueError(v)
    return float(num) * UNITS[unit], 0.005 * UNITS[unit] if "." in num or unit not in ("B", "") else 0


def human_bytes(n):
    """drip's rendering of a byte count: 512B, 4KiB, 1.50MiB."""
    if n < 1024:
        return "%dB" % n
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024.0
        if abs(n) < 1024 or unit == "TiB":
            t = "%.2f" % n
            return (t[:-3] if t.endswith(".00") else t) + unit


def exact(v):
    return int(v[:-1]) if v.endswith("B") else int(v)


def compare_with_pprof(src, label, drip_args=(), pprof_args=()):
    """drip top on src against go tool pprof -top: names, order, exact figures, percentages."""
    hdr, want = pprof_top(src, *pprof_args)
    p = drip("top", "--json", *drip_args, src)
    dt.eq(p.returncode, 0, label + ": drip top --json status")
    got = json.loads(p.stdout)
    dt.eq([r["function"] for r in got["rows"]], [r[0] for r in want], label + ": functions and order")
    dt.eq([(r["flat"], r["cum"]) for r in got["rows"]], [(exact(r[1]), exact(r[4])) for r in want],
          label + ": flat and cum figures")
    m = [re.search(r"Showing nodes accounting for (\S+), (\S+) of (\S+) total", l) for l in hdr]
    m = next(x for x in m if x)
    dt.eq((got["shown"], got["total"]), (exact(m.group(1)), exact(m.group(3))), label + ": shown and total")
    dropped = [re.search(r"Dropped (\d+) node", l) for l in hdr]
    dropped = [int(x.group(1)) for x in dropped if x]
    dt.eq(got["dropped_nodes"], dropped[0] if dropped else 0, label + ": dropped node count")
    # the text table: same names and percentages; values equal up to their rounding
    t = drip("top", *drip_args, src)
    thdr, trows = parse_top(t.stdout)
    dt.eq([r[0] for r in trows], [r[0] for r in want], label + ": text rows")
    dt.eq([(r[2], r[3], r[5]) for r in trows], [(r[2], r[3], r[5]) for r in want], label + ": text percentages")
    ok = True
    for g, w in zip(trows, want):
        for gi, wi in ((1, 1), (4, 4)):
            v, tol = human(g[gi])
            if abs(v - exact(w[wi])) > tol + 1e-9:
                ok = False
                print("     %s: %s is not %s" % (g[0], g[gi], w[wi]))
    dt.check(ok, label + ": text values (KiB/MiB) agree with pprof's exact bytes")
    dt.eq([l for l in thdr if l.startswith(("File:", "Type:", "Time:"))],
          [l for l in hdr if l.startswith(("File:", "Type:", "Time:"))], label + ": File/Type/Time lines")
    return got


def case_top_go():
    src = go_profile()
    got = compare_with_pprof(src, "inuse_space (default)")
    dt.eq([r["function"] for r in got["rows"]][:2], ["main.allocSmall", "main.allocLarge"],
          "the two allocating functions lead")
    # 3000 blocks of 1000 bytes (size class 1024) plus the backing array of the slice holding them
    small = got["rows"][0]["flat"] - 3000 * 1024
    dt.check(0 < small < 128 << 10, "allocSmall keeps 3000 blocks of 1024 bytes (+%d for the slice)" % small)
    large = got["rows"][1]["flat"] - 40 * 65536
    dt.check(0 < large < 16 << 10, "allocLarge keeps 40 blocks of 64KiB (+%d for the slice)" % large)
    objs = json.loads(drip("top", "--json", "--type", "inuse_objects", src).stdout)["rows"]
    dt.eq(objs[0]["function"], "main.allocSmall", "inuse_objects: allocSmall first")
    dt.eq(objs[0]["flat"], 3001, "inuse_objects: 3000 blocks and the slice")
    for t in ("inuse_space", "inuse_objects", "alloc_space", "alloc_objects"):
        compare_with_pprof(src, t, ("--type", t), ("-sample_index=" + t,))
    compare_with_pprof(src, "all nodes", ("--nodefraction", "0"), ("-nodefraction=0",))
    compare_with_pprof(src, "-n 3", ("-n", "3"), ("-nodecount=3",))
    compare_with_pprof(src, "alloc_objects -n 2", ("-n", "2", "--type", "alloc_objects"),
                       ("-nodecount=2", "-sample_index=alloc_objects"))
    # ungzipped, the same figures
    raw = write("heap.pb", gzip.decompress(open(src, "rb").read()))
    compare_with_pprof(raw, "uncompressed profile")


def case_top_shapes():
    """Profiles shaped like other writers': unsymbolized (jemalloc-style), inline frames, packed or
    not, string table first, unknown fields, default_sample_type, several gzip members."""
    samples = [(["malloc_a", "worker", "main"], [3, 4096, 1, 1024]),
               (["malloc_b", ("inl", "worker"), "main"], [2, 2048, 2, 2048]),
               (["0x1234@/usr/lib/libjemalloc.so.2", "0x5678@/usr/lib/libfoo.so", "main"], [1, 512, 1, 512]),
               (["rec", "rec", "rec", "main"], [5, 5000, 0, 0])]
    types = (("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
             ("inuse_space", "bytes"))
    base = pg.build(samples, types=types)
    for name, data in (("plain", base),
                       ("unpacked", pg.build(samples, types=types, packed=False)),
                       ("strings-first", pg.build(samples, types=types, strings_first=True)),
                       ("unknown-fields", pg.build(samples, types=types, unknown_fields=True)),
                       ("gzipped", gzip.compress(base)),
                       ("two gzip members", gzip.compress(base[:100]) + gzip.compress(base[100:]))):
        path = write("shape-" + name.replace(" ", "-") + ".pb", data)
        for t in ("inuse_space", "alloc_objects"):
            compare_with_pprof(path, "%s, %s" % (name, t), ("--type", t), ("-sample_index=" + t,))
    p = drip("top", "--json", "--type", "inuse_space", write("s.pb", base))
    rows = {r["function"]: (r["flat"], r["cum"]) for r in json.loads(p.stdout)["rows"]}
    dt.eq(rows.get("[libjemalloc.so.2]"), (512, 512), "unsymbolized frames are named after their mapping")
    dt.eq(rows.get("worker"), (0, 1024 + 2048), "inline caller counts in cum")
    allocs = write("allocs.pb", pg.build(samples, types=types, default_type="alloc_space"))
    dt.check("Type: alloc_space" in drip("top", allocs).stdout, "default_sample_type picks alloc_space")
    dt.check("Type: inuse_space" in drip("top", write("heap2.pb", base)).stdout, "else the last sample type")
    p = drip("top", "--json", "--type", "alloc_space", write("rec.pb", base))
    rows = {r["function"]: (r["flat"], r["cum"]) for r in json.loads(p.stdout)["rows"]}
    dt.eq(rows.get("rec"), (5000, 5000), "recursion counts once in cum")
    # drop_frames as pprof applies it: the allocator frames go, the callers stay
    pruned = write("pruned.pb", pg.build([(["malloc", "xmalloc", "parse", "main"], [100]),
                                          (["malloc", "main"], [10])], drop_frames="x?malloc"))
    compare_with_pprof(pruned, "drop_frames")
    p = drip("flame", "--folded", pruned)
    dt.eq(p.stdout, "main 10\nmain;parse 100\n", "drop_frames in folded stacks")


def case_top_url():
    exe = build_heapgo()
    srv = subprocess.Popen([exe, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline().split()[1])
        url = "http://127.0.0.1:%d/debug/pprof/heap" % port
        p = drip("top", "--json", url)
        dt.eq(p.returncode, 0, "drip top URL: status")
        rows = {r["function"]: r["flat"] for r in json.loads(p.stdout)["rows"]}
        got = (rows.get("main.allocSmall", 0), rows.get("main.allocLarge", 0))
        dt.check(got[0] >= 3000 * 1024 and got[1] >= 40 * 65536, "figures fetched from net/http/pprof %r" % (got,))
        # the server allocates between two fetches, so only the test's own functions are compared
        _, want = pprof_top(url)
        want = {r[0]: exact(r[1]) for r in want}
        dt.eq(got, (want.get("main.allocSmall"), want.get("main.allocLarge")), "go tool pprof agrees on the same URL")
        p = drip("top", "http://127.0.0.1:%d/debug/pprof/allocs" % port)
        dt.check("Type: alloc_space" in p.stdout, "/debug/pprof/allocs opens on alloc_space")
        p = drip("top", "http://127.0.0.1:%d/debug/pprof/nosuch" % port)
        dt.eq((p.returncode, p.stderr), (2, "drip: http://127.0.0.1:%d/debug/pprof/nosuch: HTTP 404 Not Found: "
                                            "Unknown profile\n" % port), "HTTP error status")
        p = drip("flame", "--folded", url)
        dt.check("\nruntime.main;main.main;main.work;main.allocSmall %d\n" % got[0] in p.stdout, "flame from a URL")
        p = drip("diff", url, url)
        dt.eq(p.returncode, 0, "diff of two URLs")
    finally:
        srv.stdin.close()
        srv.wait(timeout=10)


def case_top_drip():
    """drip's own profiles: written at exit by drip run --profile, and served live by --http."""
    prof = os.path.join(TMP, "leaks.pb.gz")
    p = drip("run", "--profile", prof, "--", os.path.join(dt.PROGS, "leaks"))
    dt.check(os.path.exists(prof), "drip run --profile wrote a profile (%s)" % p.stderr[-300:])
    for t in ("inuse_space", "inuse_objects", "alloc_space", "alloc_objects"):
        compare_with_pprof(prof, "drip's exit profile, " + t, ("--type", t), ("-sample_index=" + t,))
    rows = {r["function"]: r["flat"] for r in json.loads(drip("top", "--json", prof).stdout)["rows"]}
    dt.eq((rows.get("keep_interior"), rows.get("keep_global"), rows.get("lose_pointer")), (2048, 512, 100),
          "the figures of tests/progs/leaks.c")
    # live: tests/progs/live.c grows grow_cache every 10 ms; two snapshots, then diff
    live = subprocess.Popen([DRIP, "run", "--http", "127.0.0.1:0", "--", os.path.join(dt.PROGS, "live"), "grow"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        live.stdout.readline()
        base = None
        for _ in range(3):
            m = re.search(r"serving (http://[^/]+)/ for process (\d+)", live.stderr.readline())
            if m:
                base, pid = m.group(1), int(m.group(2))
                break
        dt.check(base is not None, "live target serves pprof")
        if not base:
            return
        url = base + "/debug/pprof/heap"
        s1 = os.path.join(TMP, "live1.pb.gz")
        with open(s1, "wb") as f:
            import urllib.request
            f.write(urllib.request.urlopen(url, timeout=30).read())
        import time
        time.sleep(0.5)
        p = drip("top", "--json", url)
        dt.eq(p.returncode, 0, "drip top on drip's live endpoint")
        rows = {r["function"]: r["flat"] for r in json.loads(p.stdout)["rows"]}
        dt.check(rows.get("grow_cache", 0) >= 1024000, "grow_cache holds at least its first 1,000 KiB")
        # live.c's other sites are done before "ready": in use and allocated, exactly, apart
        want = {"inuse_space": (102400, 0), "inuse_objects": (400, 0), "alloc_space": (204800, 32000), "alloc_objects": (800, 500)}
        for t, (halve, churn) in want.items():
            p = drip("top", "--json", "--nodefraction", "0", "--type", t, url)
            rows = {r["function"]: r["flat"] for r in json.loads(p.stdout)["rows"]} if p.returncode == 0 else {}
            dt.eq((rows.get("halve"), rows.get("churn", 0)), (halve, churn), "live " + t + ": halve and churn")
        p = drip("diff", "--json", s1, url)
        j = json.loads(p.stdout)
        dt.eq(j["sites"][0]["function"] if j["sites"] else None, "grow_cache", "diff names the growing site first")
        dt.check(j["sites"] and j["sites"][0]["delta"] > 0 and j["sites"][0]["delta"] % 1024 == 0,
                 "grow_cache grew by whole 1KiB blocks")
        p = drip("flame", "--folded", url)
        dt.check(re.search(r"^.*main;grow_cache \d+$", p.stdout, re.M) is not None, "folded stacks from the endpoint")
        p = drip("watch", "-i", "100ms", "-n", "10", str(pid), timeout=60)
        dt.check(re.search(r"^drip: trend: growing at ", p.stderr, re.M) is not None,
                 "watch on the live target: growing (%s)" % p.stderr.splitlines()[-2:])
    finally:
        live.stdin.close()
        live.wait(timeout=60)



def case_top_errors():
    good = pg.build([(["leak", "main"], [4096])])
    cases = []
    cases.append((write("missing-dir-x", b"") and os.path.join(TMP, "nosuch.pb"),
                  "drip: %s: No such file or directory\n" % os.path.join(TMP, "nosuch.pb")))
    e = write("empty.pb", b"")
    cases.append((e, "drip: %s: not a pprof profile (the file is empty)\n" % e))
    t = write("hello.txt", "hello world\n")
    cases.append((t, "drip: %s: not a pprof profile (protobuf error at byte 2: unsupported wire type 4 in field 13)\n" % t))
    lg = write("legacy.heap", "heap profile: 1: 2 [3: 4] @ heapprofile\n")
    cases.append((lg, "drip: %s: a legacy text profile ('heap profile:'): drip reads profile.proto; convert it with "
                      "go tool pprof -proto PROGRAM FILE > FILE.pb.gz\n" % lg))
    # truncated: cut inside the third top-level field (a sample)
    fields = top_level_fields(good)
    off, ln = fields[2]
    cut = write("cut.pb", good[:off + 3])
    cases.append((cut, "drip: %s: truncated profile (field %d at byte %d needs %d bytes, 3 left)\n"
                  % (cut, read_varint(good, off)[0] >> 3, off, ln)))
    gz = gzip.compress(good)
    cutgz = write("cut.pb.gz", gz[:len(gz) - 12])
    cases.append((cutgz, "drip: %s: truncated gzip data (the file ends inside the compressed stream)\n" % cutgz))
    badcrc = write("crc.pb.gz", gz[:-8] + bytes(b ^ 0xff for b in gz[-8:-4]) + gz[-4:])
    cases.append((badcrc, "drip: %s: corrupt gzip data (incorrect data check)\n" % badcrc))
    # corrupt: a sample that names a location the profile does not have
    bad = pg.f_bytes(2, pg.f_packed(1, [99]) + pg.f_packed(2, [1]))
    badloc = write("badloc.pb", good + bad)
    cases.append((badloc, "drip: %s: corrupt profile (sample 2 refers to missing location 99)\n" % badloc))
    badvals = write("badvals.pb", good + pg.f_bytes(2, pg.f_packed(1, [1]) + pg.f_packed(2, [1, 2])))
    cases.append((badvals, "drip: %s: corrupt profile (sample 2 has 2 values for 1 sample types)\n" % badvals))
    wt = write("wiretype.pb", good + pg.key(2, 0) + pg.varint(5))
    cases.append((wt, "drip: %s: corrupt profile (at byte %d: field 2 of Profile has wire type 0, expected 2)\n"
                  % (wt, len(good))))
    badstr = write("badstr.pb", good + pg.f_varint(14, 1000))
    cases.append((badstr, "drip: %s: corrupt profile (default_sample_type refers to string 1000; the string "
                          "table has %d)\n" % (badstr, string_count(good))))
    port = dt.free_port()
    url = "http://127.0.0.1:%d/debug/pprof/heap" % port
    cases.append((url, "drip: %s: cannot connect to 127.0.0.1:%d: Connection refused\n" % (url, port)))
    cases.append(("https://127.0.0.1:1/x", "drip: https://127.0.0.1:1/x: https is not supported (drip speaks plain http only)\n"))
    elf = "/bin/true"
    p = drip("top", elf)
    dt.check(p.returncode == 2 and p.stderr.startswith("drip: /bin/true: not a pprof profile (")
             and p.stderr.count("\n") == 1, "an ELF file: not a pprof profile (%r)" % p.stderr)
    for src, msg in cases:
        for cmd in (["top"], ["flame"], ["flame", "--folded"], ["diff", src]):
            p = drip(*(cmd + [src]))
            dt.eq((p.returncode, p.stderr, p.stdout), (2, msg, ""), "%s on %s" % (" ".join(cmd), os.path.basename(src)))
    g = write("good.pb", good)
    p = drip("top", "--type", "bogus", g)
    dt.eq((p.returncode, p.stderr), (2, "drip: %s has no sample type 'bogus' (it has: inuse_space)\n" % g),
          "unknown sample type")
    p = drip("diff", "--type", "alloc_space", g, g)
    dt.eq((p.returncode, p.stderr), (2, "drip: %s has no sample type 'alloc_space' (it has: inuse_space)\n" % g),
          "diff: unknown sample type")
    p = drip("top")
    dt.check(p.returncode == 2 and p.stderr.startswith("usage: drip top"), "top without a profile: usage, 2")
    p = drip("top", "-n", "x", g)
    dt.eq((p.returncode, p.stderr), (2, "drip: top: -n takes a count, not 'x'\n"), "bad -n")


def top_level_fields(data):
    """[(offset, total length)] of the top-level fields of a raw profile."""
    out, i = [], 0
    while i < len(data):
        start = i
        k, i = read_varint(data, i)
        if k & 7 == 2:
            n, i = read_varint(data, i)
            i += n
        else:
            _, i = read_varint(data, i)
        out.append((start, i - start))
    return out


def read_varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def string_count(data):
    n = 0
    for off, _ in top_level_fields(data):
        k, _ = read_varint(data, off)
        n += k >> 3 == 6
    return n


# ---- diff and folded ------------------------------------------------------------------------------

def diff_profiles():
    before = pg.build([(["cache_put", "handle", "main"], [1 * MiB]),
                       (["session_new", "accept", "main"], [512 << 10]),
                       (["parse", "main"], [4096]),
                       (["gone", "main"], [2048])])
    after = pg.build([(["cache_put", "handle", "main"], [3 * MiB]),
                      (["cache_put", "refresh", "main"], [1 * MiB]),
                      (["session_new", "accept", "main"], [512 << 10]),
                      (["parse", "main"], [1024]),
                      (["new_thing", "main"], [100])])
    return write("before.pb", before), write("after.pb.gz", gzip.compress(after))


def case_diff():
    b, a = diff_profiles()
    p = drip("diff", b, a)
    want = ("Type: inuse_space\n"
            "Total: 1.51MiB -> 4.50MiB (+3MiB, +198.9%)\n"
            "delta   change  before  after  function\n"
            "+3MiB  +300.0%    1MiB   4MiB  cache_put\n"
            "+100B      new       0   100B  new_thing\n"
            "-2KiB     gone    2KiB      0  gone\n"
            "-3KiB   -75.0%    4KiB   1KiB  parse\n")
    dt.eq(p.returncode, 0, "diff status")
    dt.eq(p.stdout, want, "diff text, aligned, largest growth first")
    p = drip("diff", "--json", b, a)
    j = json.loads(p.stdout)
    dt.eq((j["type"], j["before"]["total"], j["after"]["total"], j["delta"], j["changed"]),
          ("inuse_space", MiB + (512 << 10) + 4096 + 2048, 4 * MiB + (512 << 10) + 1024 + 100,
           3 * MiB + 1024 + 100 - 4096 - 2048, 4), "diff --json totals")
    dt.eq([(s["function"], s["before"], s["after"], s["delta"]) for s in j["sites"]],
          [("cache_put", MiB, 4 * MiB, 3 * MiB), ("new_thing", 0, 100, 100), ("gone", 2048, 0, -2048),
           ("parse", 4096, 1024, -3072)], "diff --json sites")
    p = drip("diff", "-n", "1", b, a)
    dt.check(p.stdout.endswith("  cache_put\n... 3 more functions changed (-n 0 shows all)\n"), "diff -n 1")
    p = drip("diff", b, b)
    dt.eq(p.stdout, "Type: inuse_space\nTotal: 1.51MiB -> 1.51MiB (0, +0.0%)\nNo function changed.\n",
          "diff of a profile with itself")
    # two real Go profiles: the second run allocates three times as much
    exe = build_heapgo()
    g1, g3 = os.path.join(TMP, "g1.pb.gz"), os.path.join(TMP, "g3.pb.gz")
    subprocess.run([exe, "write", g1, "1"], check=True, timeout=60)
    subprocess.run([exe, "write", g3, "3"], check=True, timeout=60)
    j = json.loads(drip("diff", "--json", g1, g3).stdout)
    d = {s["function"]: s["delta"] for s in j["sites"]}
    ds, dl = d.get("main.allocSmall", 0) - 6000 * 1024, d.get("main.allocLarge", 0) - 80 * 65536
    dt.check(0 <= ds < 256 << 10 and 0 <= dl < 16 << 10,
             "Go profiles: allocSmall grew by 6000 blocks of 1KiB, allocLarge by 80 of 64KiB (+%d, +%d for "
             "their slices)" % (ds, dl))
    dt.eq([s["function"] for s in j["sites"][:2]], ["main.allocSmall", "main.allocLarge"], "Go profiles: order")


def case_folded():
    prof = write("folded.pb", pg.build([
        (["malloc_a", "worker", "main"], [4096]),
        (["malloc_a", "worker", "main"], [1000]),           # same stack: merged
        (["malloc_b", ("inl", "worker"), "main"], [1024]),   # inline frames expanded, caller first
        (["0x1234@/usr/lib/libjemalloc.so.2", "main"], [512]),
        (["rec", "rec", "main"], [7]),
        (["odd;name", "main"], [3]),
        (["zero", "main"], [0]),
        (["neg", "main"], [-5]),
        (["main"], [11])]))
    p = drip("flame", "--folded", prof)
    dt.eq(p.returncode, 0, "folded status")
    dt.eq(p.stdout, "main 11\n"
                    "main;[libjemalloc.so.2] 512\n"
                    "main;odd:name 3\n"
                    "main;rec;rec 7\n"
                    "main;worker;inl;malloc_b 1024\n"
                    "main;worker;malloc_a 5096\n", "folded stacks, root first, sorted, merged")
    p = drip("flame", "--folded", "--type", "0", prof)
    dt.eq(p.returncode, 0, "--type by index")


# ---- flame in Chromium ------------------------------------------------------------------------------

def chromium(url, shot, size="1200,400"):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("FAIL chromium is not installed (scripts/packages.txt lists it)")
        sys.exit(1)
    os.makedirs(OUT, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + tempfile.mkdtemp(prefix="drip-chromium-", dir=TMP), "--window-size=" + size]
    s = subprocess.run([exe] + flags + ["--screenshot=" + shot, url], capture_output=True, text=True, timeout=120)
    dt.check(os.path.exists(shot) and os.path.getsize(shot) > 1000, "screenshot %s" % shot)
    d = subprocess.run([exe] + flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    return d.stdout


def frames_in(dom):
    """{name: (x, width, text, display)} from the dumped DOM of a flame graph."""
    out = {}
    for m in re.finditer(r'<g data-s="\d+" data-v="\d+" data-d="\d+" data-n="([^"]*)"(?: class="[^"]*")?'
                         r'(?: style="([^"]*)")?>'
                         r'<title>([^<]*)</title><rect x="([^"]*)" y="[^"]*" width="([^"]*)"[^>]*>'
                         r'<text[^>/]*(?:/>|>([^<]*)</text>)</g>', dom):
        name, style, title, x, w, text = m.groups()
        text = text or ""
        out[name] = (float(x), float(w), text, title, style or "")
    return out


def case_flame_chromium():
    src = go_profile()
    svg = os.path.join(OUT, "flame.svg")
    os.makedirs(OUT, exist_ok=True)
    p = drip("flame", "-o", svg, src)
    dt.eq((p.returncode, p.stderr), (0, ""), "drip flame -o")
    p2 = drip("flame", src)
    dt.eq(p2.stdout, open(svg).read(), "stdout and -o give the same SVG")
    dom = chromium("file://" + svg, os.path.join(OUT, "flame.png"))
    f = frames_in(dom)
    for name in ("all", "runtime.main", "main.main", "main.work", "main.allocSmall", "main.allocLarge"):
        dt.check(name in f and f[name][2] == name, "frame %s shown with its name (%r)" % (name, f.get(name)))
    top = {r["function"]: r for r in json.loads(drip("top", "--json", src).stdout)["rows"]}
    want = "main.allocSmall (%s, %.2f%%)" % (human_bytes(top["main.allocSmall"]["flat"]),
                                            top["main.allocSmall"]["flat_pct"])
    dt.eq(f.get("main.allocSmall", [None] * 4)[3], want, "hover text: frame, bytes, share")
    dt.check(abs(f["all"][1] - 1180) < 0.01, "root spans the width")
    ratio = f["main.allocSmall"][1] / f["all"][1]
    dt.check(abs(ratio * 100 - top["main.allocSmall"]["flat_pct"]) < 0.01, "width is the share (%.4f)" % ratio)
    # the script: zoom on main.allocLarge (heap.svg#zoom=NAME), as a click does
    dom = chromium("file://" + svg + "#zoom=main.allocLarge", os.path.join(OUT, "flame-zoom.png"))
    f = frames_in(dom)
    dt.check(abs(f["main.allocLarge"][1] - 1180) < 0.01, "zoomed frame spans the width")
    dt.check("display: none" in f["main.allocSmall"][4], "its sibling is hidden")
    dt.check("display: none" not in f["main.main"][4] and abs(f["main.main"][1] - 1180) < 0.01,
             "its ancestors stay, full width")
    dt.check('id="reset"' in dom and 'opacity: 1' in dom.split('id="reset"')[1].split(">")[0],
             "Reset Zoom shows while zoomed")
    # a profile with long names and many frames still renders text that fits
    many = [(["leaf_%02d_with_a_rather_long_function_name" % i, "mid_%d" % (i % 3), "main"], [1000 + i * 100])
            for i in range(40)]
    svg2 = os.path.join(OUT, "flame-many.svg")
    write_to = drip("flame", "--title", "many <frames> & names", "-o", svg2, write("many.pb", pg.build(many)))
    dt.eq(write_to.returncode, 0, "flame of 40 stacks")
    dom = chromium("file://" + svg2, os.path.join(OUT, "flame-many.png"))
    f = frames_in(dom)
    dt.eq(len(f), 1 + 1 + 3 + 40, "every frame present")
    dt.check(all(t == n or (t.endswith("..") and n.startswith(t[:-2])) or t == "" for n, (x, w, t, _, _) in f.items()),
             "labels are the name or a prefix of it with ..")
    dt.check("many &lt;frames&gt; &amp; names" in dom, "title escaped")


# ---- watch ---------------------------------------------------------------------------------------------

def case_watch_grow():
    csv = os.path.join(TMP, "grow.csv")
    plot = os.path.join(OUT, "watch-grow.svg")
    os.makedirs(OUT, exist_ok=True)
    p = drip("watch", "--interval", "200ms", "--count", "20", "--alert", "20MiB", "--csv", csv, "--plot", plot,
             "--", os.path.join(CLIPROGS, "grow"), timeout=60)
    print(p.stderr)
    dt.eq(p.returncode, 0, "watch --count on a command: 0")
    dt.check(re.search(r"^drip: trend: growing at \d+(\.\d+)?GiB/h$", p.stderr, re.M) is not None, "verdict: growing")
    m = re.search(r"growing at ([\d.]+)GiB/h", p.stderr)
    if m:
        rate = float(m.group(1))
        dt.check(40 < rate < 80, "rate near 2MiB per 100ms = 70GiB/h (%.2f)" % rate)
    dt.eq(len(re.findall(r"^drip: alert: RSS \S+ is over 20MiB \(at \S+\)$", p.stderr, re.M)), 1, "alert once")
    dt.check("drip: stopped after 20 samples" in p.stderr, "stopped after --count samples")
    lines = open(csv).read().splitlines()
    dt.eq(lines[0], "time_s,rss_bytes,pss_bytes,swap_bytes,hwm_bytes,threads,fds,processes", "CSV header")
    dt.eq(len(lines), 21, "CSV: one row per sample")
    rss = [int(l.split(",")[1]) for l in lines[1:]]
    dt.check(rss[-1] - rss[0] > 20 * MiB and rss == sorted(rss), "CSV RSS grows")
    dom = chromium("file://" + plot, os.path.join(OUT, "watch-grow.png"), "900,460")
    for text in ("time (s)", "memory (MiB)", "alert 20MiB", "RSS", "PSS", "trend: growing at"):
        dt.check(text in dom, "plot shows %r" % text)


def case_watch_plateau():
    plot = os.path.join(OUT, "watch-plateau.svg")
    os.makedirs(OUT, exist_ok=True)
    p = drip("watch", "-i", "200ms", "-n", "25", "--alert", "1GiB", "--plot", plot, "--",
             os.path.join(CLIPROGS, "plateau"), timeout=60)
    print(p.stderr)
    dt.eq(p.returncode, 0, "status")
    dt.check("growing" not in p.stderr, "not growing")
    dt.check(re.search(r"^drip: trend: plateau after warm-up \(about 4\d\.\d+MiB from \d\.\ds on\)$", p.stderr, re.M)
             is not None, "verdict: plateau after warm-up")
    dom = chromium("file://" + plot, os.path.join(OUT, "watch-plateau.png"), "900,460")
    for text in ("time (s)", "memory (MiB)", "alert 1GiB (above the chart)", "trend: plateau after warm-up"):
        dt.check(text in dom, "plot shows %r" % text)
    # PID mode on the same program once it settled: steady; then its end is seen
    prog = subprocess.Popen([os.path.join(CLIPROGS, "plateau")])
    try:
        import time
        time.sleep(1.6)
        p = drip("watch", "-i", "100ms", "-n", "8", str(prog.pid), timeout=60)
        dt.eq(p.returncode, 0, "PID mode status")
        dt.check("drip: trend: steady\n" in p.stderr, "PID mode, settled: steady")
        dt.check(p.stderr.startswith("drip: watching pid %d (plateau) and its children every 0.1s; Ctrl-C to stop\n"
                                     % prog.pid), "PID mode header")
    finally:
        prog.kill()
        prog.wait()
    sh = subprocess.Popen(["sleep", "0.6"])
    p = drip("watch", "-i", "100ms", str(sh.pid), timeout=60)
    sh.wait()
    dt.eq(p.returncode, 0, "watched pid ends: 0")
    dt.check(re.search(r"^drip: pid %d \(sleep\) ended after \d\.\ds$" % sh.pid, p.stderr, re.M) is not None,
             "the end of a watched pid is reported")
    p = drip("watch", "-i", "100ms", "--", "sh", "-c", "sleep 0.3; exit 7", timeout=60)
    dt.eq(p.returncode, 7, "a command's exit status is drip's")
    dt.check(re.search(r"^drip: pid \d+ \(sh\) exited with status 7 after", p.stderr, re.M) is not None,
             "exit reported")
    p = drip("watch", "-i", "100ms", "--", "sh", "-c", "sleep 1 & sleep 0.5; kill -9 $$", timeout=60)
    dt.eq(p.returncode, 128 + 9, "killed command: 128+signal")
    dt.check(" procs\n" in p.stderr and re.search(r"^ +\S+ +\S+ +\S+ +\S+ +\S+ +\d+ +\d+ +3$", p.stderr, re.M)
             is not None, "children counted in the tree (sh and its two sleeps)")
    dt.check(re.search(r"^drip: pid \d+ \(sh\) was killed by signal 9 \(Killed\) after", p.stderr, re.M) is not None,
             "the signal is reported")


def case_watch_alert():
    """RSS goes over the alert and comes back: one warning each way."""
    prog = ("import time\n"
            "b = bytearray(80 << 20)\n"        # mmap'ed, zeroed: touched, so resident
            "time.sleep(1.0)\n"
            "del b\n"                           # unmapped: RSS falls back
            "time.sleep(1.0)\n")
    p = drip("watch", "-i", "100ms", "--alert", "60MiB", "--", sys.executable, "-c", prog, timeout=60)
    dt.eq(p.returncode, 0, "status")
    over = re.findall(r"^drip: alert: RSS (\S+) is over 60MiB \(at (\S+)\)$", p.stderr, re.M)
    back = re.findall(r"^drip: alert over: RSS (\S+) is back under 60MiB \(at (\S+)\)$", p.stderr, re.M)
    dt.eq((len(over), len(back)), (1, 1), "one warning over, one back under")
    if over and back:
        dt.check(float(over[0][1][:-1]) < float(back[0][1][:-1]), "in that order")


def case_watch_errors():
    p = drip("watch", "99999999")
    dt.eq((p.returncode, p.stderr), (2, "drip: watch: no process with pid 99999999\n"), "no such pid")
    p = drip("watch", "abc")
    dt.eq((p.returncode, p.stderr), (2, "drip: watch: 'abc' is not a pid (to run a command: drip watch [options] "
                                        "-- abc ...)\n"), "not a pid")
    p = drip("watch", "--", "/nonexistent/prog")
    dt.eq((p.returncode, p.stderr), (127, "drip: watch: command not found: /nonexistent/prog\n"), "no such command")
    p = drip("watch", "--interval", "1ms", "1")
    dt.eq((p.returncode, p.stderr), (2, "drip: watch: --interval takes a duration of 10ms or more (500ms, 1s, 1m), "
                                        "not '1ms'\n"), "bad interval")
    p = drip("watch", "--alert", "lots", "1")
    dt.eq(p.returncode, 2, "bad alert size")
    p = drip("watch", "--csv", "/nonexistent/dir/x.csv", "1")
    dt.eq((p.returncode, p.stderr), (2, "drip: watch: cannot write /nonexistent/dir/x.csv: No such file or "
                                        "directory\n"), "unwritable CSV")
    if os.getuid() == 0 and shutil.which("setpriv"):
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", DRIP, "watch", "-n", "1",
                            "1"], capture_output=True, text=True, timeout=30)
        dt.eq((p.returncode, p.stderr), (2, "drip: watch: cannot read /proc/1/smaps_rollup: Permission denied "
                                            "(another user's process: run drip as that user or as root)\n"),
              "another user's process")


if __name__ == "__main__":
    dt.main(globals(), cleanup=lambda: shutil.rmtree(TMP, ignore_errors=True))
