#!/usr/bin/env python3
"""Who holds the memory of a live process (issue #16): live.c under `drip run --http`, idle,
holding grow_cache's 1,000 blocks of 1,024 bytes in the global array `cache` and halve's 400
blocks of 256 bytes in the global array `halved`.

  retained_pprof   /debug/pprof/retained read by the real `go tool pprof -top` (Go missing:
                   SKIPPED) and by `drip top`: the held sites' bytes, and the globals that hold
                   them as the roots of the stacks
  retained_top_flame  the same profile read by `drip top` and `drip flame --folded` (no Go
                   needed): the held sites' flat bytes, each global at the root of its stacks
  retainers_json   /debug/drip/retainers: the two globals by retained size, exact
  leaks_paths      /debug/drip/leaks carries each reachable record's retention path
  suspects_paths   /debug/drip/suspects?paths=1 names who holds a growth suspect (live.c grow)
  over_budget      --retain-budget 0: the report says the retained sizes were not computed and
                   still gives the paths (examples/growing_cache)
  stripped_roots   live.c stripped: its globals named by module and offset in the profile
  stack_roots      at exit (tests/progs/retain_stack.c): a block held by a local of a thread
                   blocked in pause(), one held by a local of main when it called exit: each
                   root is the thread and the function of the frame (and the line of its call)

Usage: test_retain.py CASE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import driptest as dt  # noqa: E402
from test_live import Target, go_env  # noqa: E402

SKIP = 77


def target():
    return Target(args=["--http-leaks-interval", "0"])


def case_retained_pprof():
    if not shutil.which("go"):
        print("SKIP go is not installed (Debian golang-go): go tool pprof cannot be run")
        sys.exit(SKIP)
    t = target()
    status, headers, body = t.get("/debug/pprof/retained")
    dt.eq(status, 200, "GET /debug/pprof/retained")
    path = tempfile.mktemp(suffix=".pb")
    with open(path, "wb") as f:
        f.write(body)
    env, home = go_env()
    p = subprocess.run(["go", "tool", "pprof", "-top", "-nodefraction=0", "-unit=B", path], capture_output=True,
                       text=True, env=env, timeout=120)
    dt.eq(p.returncode, 0, "go tool pprof reads /debug/pprof/retained")
    print(p.stdout)
    rows = {" ".join(r[5:]): (r[0], r[3]) for r in (l.split() for l in p.stdout.splitlines()) if len(r) >= 6}
    # flat: the held site (the top of each stack); cum: the global at the bottom holds it all
    dt.eq(rows.get("grow_cache"), ("1024000B", "1024000B"), "pprof -top: grow_cache holds 1,024,000 bytes (flat, cum)")
    dt.eq(rows.get("global cache"), ("0", "1024000B"), "pprof -top names the global `cache` (flat 0, cum 1,024,000 bytes)")
    dt.eq(rows.get("halve"), ("102400B", "102400B"), "pprof -top: halve holds 102,400 bytes")
    dt.eq(rows.get("global halved"), ("0", "102400B"), "pprof -top names the global `halved`")
    p = subprocess.run([dt.DRIP, "top", path], capture_output=True, text=True, timeout=60)
    dt.eq(p.returncode, 0, "drip top reads the retained profile")
    dt.check("global cache" in p.stdout and "grow_cache" in p.stdout, "drip top names the global and the held site")
    t.stop()
    os.unlink(path)
    shutil.rmtree(home, ignore_errors=True)


def case_retained_top_flame():
    t = target()
    try:
        url = t.base + "/debug/pprof/retained"
        p = subprocess.run([dt.DRIP, "flame", "--folded", url], capture_output=True, text=True, timeout=60)
        dt.eq(p.returncode, 0, "drip flame --folded reads /debug/pprof/retained")
        print(p.stdout)
        folded = dict(l.rsplit(" ", 1) for l in p.stdout.splitlines() if l.strip())
        mine = {k: v for k, v in folded.items() if k.split(";")[0] in ("global cache", "global halved")}
        dt.eq(mine, {"global cache;grow_cache": "1024000", "global halved;halve": "102400"},
              "drip flame: each global at the root of its held site's stack, exact bytes")
        p = subprocess.run([dt.DRIP, "top", url], capture_output=True, text=True, timeout=60)
        dt.eq(p.returncode, 0, "drip top reads /debug/pprof/retained")
        print(p.stdout)
        rows = {" ".join(r[5:]): (r[0], r[3]) for r in (l.split() for l in p.stdout.splitlines()) if len(r) >= 6}
        dt.eq(rows.get("grow_cache"), ("1000KiB", "1000KiB"), "drip top: grow_cache holds 1,024,000 bytes (flat, cum)")
        dt.eq(rows.get("global cache"), ("0", "1000KiB"), "drip top: the global `cache` holds it all (flat 0, cum)")
        dt.eq(rows.get("global halved"), ("0", "100KiB"), "drip top: the global `halved` holds halve's 102,400 bytes")
    finally:
        t.stop()


def case_retainers_json():
    t = target()
    status, headers, body = t.get("/debug/drip/retainers")
    dt.eq(status, 200, "GET /debug/drip/retainers")
    doc = json.loads(body)
    dt.eq(doc["retained_sizes"], "done", "retained sizes computed")
    got = [(x["root"]["kind"], x["root"]["symbol"], x["retained_bytes"], x["retained_blocks"]) for x in doc["retainers"]
           if x["root"]["symbol"] in ("cache", "halved")]
    dt.eq(got, [("global", "cache", 1024000, 1000), ("global", "halved", 102400, 400)],
          "top retainers: the globals cache and halved, by retained bytes")
    dt.eq([os.path.basename(x["root"]["file"] or "") for x in doc["retainers"] if x["root"]["symbol"] == "cache"],
          ["live.c"], "the global is named with its file")
    t.stop()


def case_leaks_paths():
    t = target()
    status, headers, body = t.get("/debug/drip/leaks")
    dt.eq(status, 200, "GET /debug/drip/leaks")
    doc = json.loads(body)
    rec = [r for r in doc["leaks"] if r["stack"] and r["stack"][0]["function"] == "grow_cache"]
    dt.eq(len(rec), 1, "one record for grow_cache")
    rb = rec[0].get("retained_by", {}) if rec else {}
    dt.eq((rb.get("root", {}).get("kind"), rb.get("root", {}).get("symbol")), ("global", "cache"),
          "the live leak check names the global `cache` as the root")
    dt.eq((rb.get("root_offset_min"), rb.get("root_offset_max"), rb.get("blocks_covered"), rb.get("other_paths")),
          (0, 7992, 1000, 0), "the 1,000 pointers lie at offsets 0..7,992 of cache; one path covers all blocks")
    t.stop()


def case_suspects_paths():
    import time
    t = Target(mode="grow", args=["--http-leaks-interval", "0"])
    doc = []
    for _ in range(60):   # the growth detector needs a few seconds of samples: poll, no time limit asserted
        status, headers, body = t.get("/debug/drip/suspects?paths=1")
        doc = json.loads(body) if status == 200 else []
        if any(s["stack"][0]["function"] == "grow_cache" for s in doc):
            break
        time.sleep(0.5)
    sus = [s for s in doc if s["stack"][0]["function"] == "grow_cache"]
    dt.eq(len(sus), 1, "grow_cache is a growth suspect")
    rb = sus[0].get("retained_by", {}) if sus else {}
    dt.eq((rb.get("root", {}).get("kind"), rb.get("root", {}).get("symbol")), ("global", "cache"),
          "the suspect is held by the global `cache`")
    dt.eq([h["function"] for h in rb.get("path", [])], ["grow_cache"], "one hop: the suspect's own blocks")
    status, headers, body = t.get("/debug/drip/suspects")
    dt.check(all("retained_by" not in s for s in json.loads(body)), "without ?paths=1 the endpoint does not scan")
    t.stop()


def case_stack_roots():
    res = dt.run([os.path.join(dt.PROGS, "retain_stack")], ["--show-reachable"], timeout=60)
    dt.check(res.report is not None, "drip wrote the JSON report")
    if res.report is None:
        return
    tid = {t["start_routine"]: t["tid"] for t in res.report["threads"]}.get("holder_main")

    def root(fn):
        recs = [r for r in res.report["leaks"] if r["stack"] and r["stack"][0]["function"] == fn]
        ro = recs[0].get("retained_by", {}).get("root", {}) if recs else {}
        return (ro.get("kind"), ro.get("symbol"), os.path.basename(ro.get("file") or ""), ro.get("line"),
                ro.get("thread_start"), ro.get("tid"))
    dt.eq(root("hold_block"), ("stack", "holder_main", "retain_stack.c", 29, "holder_main", tid),
          "a local of holder_main: its thread, the frame's function and the line of its call (pause)")
    dt.eq(root("main_block")[:5], ("stack", "main", "retain_stack.c", 43, None),
          "a local of main: the main thread, main's frame at its call of exit")
    dt.check(("frame of holder_main (retain_stack.c:29)" in res.err) and ("(main thread), frame of main (retain_stack.c:43)" in res.err),
             "the text report names both frames")


def case_over_budget():
    res = dt.run([os.path.join(dt.EXAMPLES, "growing_cache")], ["--retainers", "--retain-budget", "0"], timeout=60)
    dt.check(res.report is not None, "drip wrote the JSON report")
    if res.report is None:
        return
    dt.eq((res.report["retained_sizes"], res.report["retainers"]), ("over_budget", []),
          "JSON: retained sizes over budget, no retainers")
    roots = [r["retained_by"]["root"]["symbol"] for r in res.report["leaks"] if "retained_by" in r
             and r["stack"][0]["function"] == "cache_insert"]
    dt.eq(roots, ["g_cache"], "the path is still given")
    dt.check("Top retainers: not computed: the dominator tree would take longer than retain_budget" in res.err,
             "the text report says why there are no retained sizes")


def case_stripped_roots():
    """live.c stripped (no symbols): a global's words cannot be told apart from its neighbours', so
    each word that holds a block is a root of its own, named by module and offset: the same in the
    pprof profile (drip top) as in the text report, an ELF address of the file (inside its
    segments), not where it was loaded."""
    import re
    import test_live
    if not shutil.which("strip"):
        print("SKIP strip is not installed (Debian binutils)")
        sys.exit(SKIP)
    d = tempfile.mkdtemp()
    # a name cache of its own: the stripped copy keeps live's build ID, and the shared cache names
    # its globals from the unstripped live's symbols (right, but not what this case is about)
    os.environ["XDG_CACHE_HOME"] = os.path.join(d, "cache")
    stripped = os.path.join(d, "live")
    subprocess.run(["strip", "-o", stripped, test_live.LIVE], check=True)
    test_live.LIVE = stripped
    t = target()
    status, headers, body = t.get("/debug/pprof/retained")
    dt.eq(status, 200, "GET /debug/pprof/retained")
    path = os.path.join(d, "retained.pb")
    with open(path, "wb") as f:
        f.write(body)
    p = subprocess.run([dt.DRIP, "top", "--nodefraction", "0", path], capture_output=True, text=True, timeout=60)
    dt.eq(p.returncode, 0, "drip top reads the retained profile")
    dt.check("(no symbol)" not in p.stdout, "no root is left unnamed in the profile")
    offs = [int(o, 16) for o in re.findall(r"global at live\+0x([0-9a-f]+)", p.stdout)]
    dt.eq(len(offs), 1400, "each of the 1,400 words of cache and halved that hold a block is named by offset")
    import struct
    with open(stripped, "rb") as f:   # the end of the highest PT_LOAD segment (ELF64 little-endian)
        elf = f.read()
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    end = max(v + m for ty, v, m in (struct.unpack_from("<I12xQ16xQ", elf, phoff + i * phentsize) for i in range(phnum))
              if ty == 1)
    dt.check(offs and max(offs) < end, "the offsets are the file's (below 0x%x), not load addresses" % end)
    t.stop()
    shutil.rmtree(d, ignore_errors=True)

if __name__ == "__main__":
    dt.main(globals())
