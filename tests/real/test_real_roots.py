#!/usr/bin/env python3
"""Real programs under `drip run --retainers`: roots that are anonymous mappings (issue #16).

  python_arena   a Python list of 20,000 strings, kept alive to the end (os._exit: no
                 finalisation): its item array (calloc of 160,000 bytes) is held by the list
                 object, which lives in one of obmalloc's arenas. The record's root is that arena:
                 kind mapping, exactly ARENA_SIZE long (1 MiB from Python 3.10, 256 KiB before),
                 mapped at _PyObject_ArenaMmap when the module that holds it has symbols, else at
                 MODULE+0xOFFSET of that module. Run for /usr/bin/python3 and for the python3 on
                 PATH (each SKIPPED when missing).

Usage: test_real_roots.py CASE
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

SKIP = 77
SCRIPT = """import os, sys
cache = [None] * 20000
for i in range(20000):
    cache[i] = str(i)
print("held", len(cache))
sys.stdout.flush()
os._exit(0)
"""


def interpreters():
    """The real executables of /usr/bin/python3 and of the python3 on PATH (a pyenv shim is a
    script: ask the interpreter where it is)."""
    out = []
    for py in ("/usr/bin/python3", shutil.which("python3")):
        if not py or not os.path.exists(py):
            continue
        p = subprocess.run([py, "-c", "import sys; print(sys.executable); print(sys.version_info >= (3, 10))"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            exe, large = p.stdout.split()
            if exe not in [e for e, _ in out]:
                out.append((os.path.realpath(exe), large == "True"))
    return out


def has_symbol(module, name):
    if not shutil.which("nm"):
        return None
    p = subprocess.run(["nm", module], capture_output=True, text=True)
    return re.search(r" [tT] %s$" % re.escape(name), p.stdout, re.M) is not None


def case_python_arena():
    pys = interpreters()
    if not pys:
        print("SKIP python3 is not installed")
        sys.exit(SKIP)
    d = tempfile.mkdtemp()
    script = os.path.join(d, "hold.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    for exe, large in pys:
        res = dt.run([exe, script], ["--retainers"], timeout=300)
        dt.eq((res.rc, res.out), (0, "held 20000\n"), "%s: same status and output under drip" % exe)
        if res.report is None:
            dt.check(False, "%s: drip wrote the JSON report" % exe)
            continue
        recs = [r for r in res.report["leaks"] if (r["kind"], r["bytes"], r["blocks"]) == ("reachable", 160000, 1)]
        dt.eq(len(recs), 1, "%s: the list's item array (160,000 bytes) is still reachable" % exe)
        if not recs:
            continue
        ro = recs[0].get("retained_by", {}).get("root", {})
        lo, hi = (int(x, 16) for x in (ro.get("range") or "0-0").split("-"))
        at = ro.get("mapped_at") or {}
        size = (1 << 20) if large else (256 << 10)
        dt.eq((ro.get("kind"), hi - lo), ("mapping", size), "%s: held by an obmalloc arena of %d bytes" % (exe, size))
        module = at.get("module") or ""
        sym = has_symbol(module, "_PyObject_ArenaMmap") if module else None
        if sym is None:
            dt.check(module != "", "%s: the mapper's module is known" % exe)
            continue
        want = "_PyObject_ArenaMmap" if sym else None
        dt.eq(at.get("function"), want, "%s: mapped at _PyObject_ArenaMmap (or, stripped, module+offset of %s)" % (exe, module))
        base = os.path.basename(module)
        text = ("mapped at _PyObject_ArenaMmap (obmalloc.c:" if sym else "mapped at %s+0x%s" % (base, at.get("offset", "0x")[2:]))
        pre = "held by: anonymous mapping 0x%x-0x%x (%s) %s" % (lo, hi, "1 MiB" if large else "256 KiB", text)
        dt.check(pre in res.err, "%s: the text report says \"%s...\"" % (exe, pre))
        print("%s: %s" % (exe, [l for l in res.err.splitlines() if pre in l][:1]))
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    dt.main(globals())
