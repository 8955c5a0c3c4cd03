#!/usr/bin/env python3
"""Roots that are TLS variables and anonymous mappings (issue #16), in the catalogue's style: the
exact root drip names for each record of roots_tls.c and roots_mmap.c (see their header comments).

  tls            t_cache (__thread, held by the worker) and m_buffer (_Thread_local, held by the
                 main thread): kind tls, symbol, file:line of the definition, module, thread id
                 and start routine, in the JSON and the text report; the top retainers
  tls_stripped   the same program stripped: each root named by module and its offset in the
                 module's TLS block (the offsets of t_cache and m_buffer in the ELF symbol table)
  dyntls         dyn_buf, a __thread variable of a dlopen'ed module (dynamic TLS) in the main
                 thread: held by the thread's DTV entry for the module (its TLS module id), then
                 the module's block, named with the variable at the pointer's offset
  mmap           the pool (1 MiB left of 2 MiB after munmap of head and tail), the ring's third
                 page (a munmap split its mapping) and the log (moved by mremap): kind mapping,
                 the exact range and size, the function and line of the mmap call
  mmap_calls     mmap/munmap/mremap calls that fail or succeed: the same results and errno with
                 and without drip (the interposer changes nothing the program sees)
  live_tls       /debug/drip/retainers of roots_tls, live: the two TLS variables, exact bytes;
                 /debug/pprof/retained (read by `drip top`) names them at the root of the stacks
  live_mmap      /debug/drip/retainers of roots_mmap, live: the three mappings and their mappers;
                 the same in /debug/pprof/retained

Usage: test_roots.py CASE
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "live"))
import driptest as dt  # noqa: E402

SKIP = 77
TLS = os.path.join(dt.PROGS, "roots_tls")
MMAP = os.path.join(dt.PROGS, "roots_mmap")
MiB, PAGE = 1 << 20, 4096


def line_of(src, text):
    """The line number of the first line of tests/examples/SRC that contains text."""
    with open(os.path.join(HERE, src)) as f:
        for i, l in enumerate(f, 1):
            if text in l:
                return i
    raise AssertionError("%s: no line contains %r" % (src, text))


def record(report, fn):
    recs = [r for r in report["leaks"] if r["stack"] and r["stack"][0]["function"] == fn]
    dt.eq(len(recs), 1, "one record allocated in %s" % fn)
    return recs[0] if recs else {}


def record_of_size(report, nbytes, nblocks):
    recs = [r for r in report["leaks"] if (r["kind"], r["bytes"], r["blocks"]) == ("reachable", nbytes, nblocks)]
    dt.eq(len(recs), 1, "one reachable record of %d bytes in %d blocks" % (nbytes, nblocks))
    return recs[0] if recs else {}


def root_of(rec):
    return rec.get("retained_by", {}).get("root", {})


def text_lines(err):
    return [re.sub(r"^==\d+==\s+", "", l).rstrip() for l in err.splitlines()]


def tls_expect(report):
    workers = [t["tid"] for t in report.get("threads") or [] if t.get("start_routine") == "session_worker"]
    dt.eq(len(workers), 1, "the worker thread is running at exit")
    return (workers[0] if workers else None), line_of("roots_tls.c", "*t_cache;"), line_of("roots_tls.c", "*m_buffer;")


def case_tls():
    res = dt.run([TLS], ["--retainers"], timeout=60)
    dt.check(res.report is not None, "drip wrote the JSON report")
    if res.report is None:
        return
    rep = res.report
    wtid, l_cache, l_buf = tls_expect(rep)
    pid = rep["pid"] if "pid" in rep else None
    mtid = [t for t in re.findall(r"==(\d+)== drip: leak report", res.err)]
    mtid = int(mtid[0]) if mtid else pid
    for fn, want in (("entry_new", ("tls", "t_cache", "roots_tls.c", l_cache, "roots_tls", wtid, "session_worker", 1024, 16)),
                     ("main_buffer", ("tls", "m_buffer", "roots_tls.c", l_buf, "roots_tls", mtid, None, 1000, 1))):
        rec = record(rep, fn)
        ro = root_of(rec)
        dt.eq((ro.get("kind"), ro.get("symbol"), os.path.basename(ro.get("file") or ""), ro.get("line"),
               os.path.basename(ro.get("module") or ""), ro.get("tid"), ro.get("thread_start"), rec.get("bytes"), rec.get("blocks")),
              want, "JSON: the root of %s's blocks (kind, variable, file, line, module, thread, start routine; bytes, blocks)" % fn)
        dt.eq(rec.get("retained_by", {}).get("blocks_covered"), want[-1], "%s: the one path covers every block" % fn)
    got = [(x["root"]["kind"], x["root"]["symbol"], x["retained_bytes"], x["retained_blocks"]) for x in rep.get("retainers", [])
           if x["root"]["kind"] == "tls" and x["root"]["symbol"]]
    dt.eq(sorted(got), [("tls", "m_buffer", 1000, 1), ("tls", "t_cache", 1024, 16)], "top retainers: the two TLS variables")
    lines = text_lines(res.err)
    for want in ("held by: tls `t_cache` (roots_tls.c:%d) in roots_tls, thread %d (start routine session_worker), at offset 0"
                 % (l_cache, wtid),
                 "-> these 16 blocks, linked through offset 0",
                 "held by: tls `m_buffer` (roots_tls.c:%d) in roots_tls, thread %d (main thread), at offset 0" % (l_buf, mtid)):
        dt.check(want in lines, "the text report says \"%s\"" % want.strip())


def case_tls_stripped():
    if not shutil.which("strip") or not shutil.which("readelf"):
        print("SKIP strip or readelf is not installed (Debian binutils)")
        sys.exit(SKIP)
    d = tempfile.mkdtemp()
    os.environ["XDG_CACHE_HOME"] = os.path.join(d, "cache")   # no names cached from the unstripped copy
    stripped = os.path.join(d, "roots_tls")
    subprocess.run(["strip", "-o", stripped, TLS], check=True)
    syms = subprocess.run(["readelf", "-sW", TLS], capture_output=True, text=True).stdout
    off = {m.group(2): int(m.group(1), 16) for m in re.finditer(r"^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+TLS\s+\w+\s+\w+\s+\S+\s+(\w+)$",
                                                                  syms, re.M)}
    dt.check("t_cache" in off and "m_buffer" in off, "readelf lists the two TLS symbols")
    res = dt.run([stripped], ["--retainers"], timeout=60)
    dt.check(res.report is not None, "drip wrote the JSON report")
    if res.report is None or len(off) < 2:
        return
    for nbytes, nblocks, var in ((1024, 16, "t_cache"), (1000, 1, "m_buffer")):   # no function names: by size
        ro = root_of(record_of_size(res.report, nbytes, nblocks))
        dt.eq((ro.get("kind"), ro.get("symbol"), os.path.basename(ro.get("module") or ""), ro.get("tls_offset")),
              ("tls", None, "roots_tls", off[var]), "stripped: %s's root by module and offset in its TLS block" % var)
    lines = text_lines(res.err)
    dt.check(any(l.startswith("held by: TLS of roots_tls at offset 0x%x, thread " % off["t_cache"]) for l in lines),
             "the text report names t_cache's word by module and TLS offset")
    shutil.rmtree(d, ignore_errors=True)


def case_dyntls():
    res = dt.run([os.path.join(dt.PROGS, "roots_dyntls")], ["--retainers"], timeout=60)
    dt.eq((res.rc, res.out), (0, "held\n"), "roots_dyntls ran")
    dt.check(res.report is not None, "drip wrote the JSON report")
    if res.report is None:
        return
    rec = record(res.report, "dyn_hold")
    ro = root_of(rec)
    modid = ro.get("tls_module_id")
    dt.eq((ro.get("kind"), ro.get("symbol"), os.path.basename(ro.get("module") or ""), ro.get("thread_start"), type(modid),
           rec.get("bytes"), rec.get("kind")), ("tls", None, "libroots_dyn.so", None, int, 777, "reachable"),
          "JSON: the root is the main thread's DTV entry of libroots_dyn.so (by its TLS module id)")
    hops = [(h["bytes"], h["blocks"], h["offset_min"], h["offset_max"]) for h in rec.get("retained_by", {}).get("path", [])]
    dt.eq(hops, [(8, 1, 0, 0), (777, 1, None, None)], "the module's 8-byte block (dyn_buf at offset 0), then the record")
    pid = int(re.findall(r"==(\d+)== drip: leak report", res.err)[0])
    lines = text_lines(res.err)
    want = "held by: dynamic TLS of libroots_dyn.so (module id %s), thread %d (main thread)" % (modid, pid)
    dt.check(want in lines, "the text report says \"%s\"" % want)
    hop = re.compile(r"^-> 8 bytes in 1 block allocated at \S+.*, at offset 0 \(tls `dyn_buf` \(roots_dyn.c:%d\)\)$"
                     % line_of("roots_dyn.c", "__thread char *dyn_buf;"))
    dt.check(any(hop.match(l) for l in lines), "the text report names the variable in the module's block: %s" % hop.pattern)


def mmap_expect(out):
    m = re.search(r"pool (0x[0-9a-f]+) ring (0x[0-9a-f]+) log (0x[0-9a-f]+)", out)
    dt.check(m is not None, "the program printed its mappings")
    pool, ring, log = (int(x, 16) for x in m.groups())
    return {
        "record_new": (pool, pool + MiB, "1 MiB", "pool_map", line_of("roots_mmap.c", "mmap(NULL, 2 * MiB"), 4800, 100),
        "ring_entry": (ring + 2 * PAGE, ring + 3 * PAGE, "4 KiB", "ring_map", line_of("roots_mmap.c", "mmap(NULL, 3 * PAGE"), 32, 1),
        "log_line": (log, log + 64 * 1024, "64 KiB", "log_map", line_of("roots_mmap.c", "mmap(NULL, 16 * 1024"), 200, 1),
    }


def case_mmap():
    res = dt.run([MMAP], ["--retainers"], timeout=60)
    dt.check(res.report is not None, "drip wrote the JSON report")
    if res.report is None:
        return
    exp = mmap_expect(res.out)
    lines = text_lines(res.err)
    for fn, (lo, hi, size, mapper, line, nbytes, nblocks) in sorted(exp.items()):
        rec = record(res.report, fn)
        ro = root_of(rec)
        at = ro.get("mapped_at") or {}
        dt.eq((ro.get("kind"), ro.get("range"), at.get("function"), os.path.basename(at.get("file") or ""), at.get("line"),
               rec.get("bytes"), rec.get("blocks")),
              ("mapping", "0x%x-0x%x" % (lo, hi), mapper, "roots_mmap.c", line, nbytes, nblocks),
              "JSON: %s's blocks held by the mapping (range, mapper function, file, line; bytes, blocks)" % fn)
        want = "held by: anonymous mapping 0x%x-0x%x (%s) mapped at %s (roots_mmap.c:%d)" % (lo, hi, size, mapper, line)
        dt.check(any(l.startswith(want) for l in lines), "the text report says \"%s\"" % want)
    got = sorted((x["root"]["range"], x["retained_bytes"], x["retained_blocks"]) for x in res.report.get("retainers", [])
                 if x["root"]["kind"] == "mapping")
    dt.eq(got, sorted(("0x%x-0x%x" % (v[0], v[1]), v[5], v[6]) for v in exp.values()), "top retainers: the three mappings")


def case_mmap_calls():
    plain = subprocess.run([MMAP, "calls"], capture_output=True, text=True, timeout=30)
    res = dt.run([MMAP, "calls"], timeout=60)
    dt.eq(len(plain.stdout.splitlines()), 14, "the program made its 14 calls")
    dt.eq((res.rc, res.out), (plain.returncode, plain.stdout), "under drip: the same results and errno, call by call")


def live(prog):
    import test_live
    test_live.LIVE = prog
    return test_live.Target(mode="serve", args=["--http-leaks-interval", "0"])


def retainers_of(t):
    import json
    status, headers, body = t.get("/debug/drip/retainers")
    dt.eq(status, 200, "GET /debug/drip/retainers")
    return json.loads(body) if status == 200 else {"retainers": []}


def retained_top(t):
    """`drip top` of /debug/pprof/retained: {name: cum bytes as printed}."""
    status, headers, body = t.get("/debug/pprof/retained")
    dt.eq(status, 200, "GET /debug/pprof/retained")
    path = tempfile.mktemp(suffix=".pb")
    with open(path, "wb") as f:
        f.write(body)
    p = subprocess.run([dt.DRIP, "top", "--nodefraction", "0", path], capture_output=True, text=True, timeout=60)
    os.unlink(path)
    rows = [l.split(None, 5) for l in p.stdout.splitlines()]
    return {r[5]: r[3] for r in rows if len(r) == 6 and r[4].endswith("%")}


def case_live_tls():
    t = live(TLS)
    doc = retainers_of(t)
    l_cache, l_buf = line_of("roots_tls.c", "*t_cache;"), line_of("roots_tls.c", "*m_buffer;")
    got = sorted((x["root"]["symbol"], x["root"]["line"], x["root"].get("thread_start"), x["retained_bytes"], x["retained_blocks"])
                 for x in doc["retainers"] if x["root"]["kind"] == "tls" and x["root"]["symbol"])
    dt.eq(got, [("m_buffer", l_buf, None, 1000, 1), ("t_cache", l_cache, "session_worker", 1024, 16)],
          "live retainers: the two TLS variables (line, thread's start routine, bytes, blocks)")
    tids = {x["root"]["symbol"]: x["root"]["tid"] for x in doc["retainers"] if x["root"]["kind"] == "tls"}
    top = retained_top(t)
    dt.eq([top.get("tls t_cache of thread %s" % tids.get("t_cache")), top.get("tls m_buffer of thread %s" % tids.get("m_buffer"))],
          ["1KiB", "1000B"], "drip top of /debug/pprof/retained: each TLS variable at the root of its stacks (cum)")
    t.stop()


def case_live_mmap():
    t = live(MMAP)
    exp = mmap_expect(t.ready)
    doc = retainers_of(t)
    got = sorted((x["root"]["range"], (x["root"].get("mapped_at") or {}).get("function"), x["retained_bytes"], x["retained_blocks"])
                 for x in doc["retainers"] if x["root"]["kind"] == "mapping")
    dt.eq(got, sorted(("0x%x-0x%x" % (v[0], v[1]), v[3], v[5], v[6]) for v in exp.values()),
          "live retainers: the three mappings (range, mapper, bytes, blocks)")
    top = retained_top(t)
    dt.eq(sorted(top.get("mapping 0x%x-0x%x mapped at %s" % (v[0], v[1], v[3])) for v in exp.values()),
          sorted(["4.69KiB", "32B", "200B"]), "drip top of /debug/pprof/retained: each mapping and its mapper (cum)")
    t.stop()


if __name__ == "__main__":
    dt.main(globals())
