"""Runs a program under valgrind memcheck and returns its leak report in drip's JSON shape.

test_examples.py --valgrind uses it to cross-check each example's expected figures against
valgrind, the reference for the definite/indirect/possible/reachable classification that drip
follows. Only the leak records and the summary are filled in: valgrind does not report threads.
"""
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET

VALGRIND = "valgrind"

# valgrind's kind names -> drip's.
KINDS = {
    "Leak_DefinitelyLost": "definite",
    "Leak_IndirectlyLost": "indirect",
    "Leak_PossiblyLost": "possible",
    "Leak_StillReachable": "reachable",
}

# Frames at the top of an allocation stack that belong to the allocator, not to its caller
# (drip's stack[0] is the caller). ld.so inlines its own calloc wrapper (rtld-malloc.h).
ALLOCATORS = {"malloc", "calloc", "realloc", "reallocarray", "free", "memalign",
              "posix_memalign", "aligned_alloc", "valloc", "pvalloc",
              "operator new(unsigned long)", "operator new[](unsigned long)"}

# "192 (48 direct, 144 indirect) bytes in 1 blocks are definitely lost ...": a definite record's
# leakedbytes counts the blocks it holds indirectly too; drip's record counts its own blocks only.
DIRECT = re.compile(r"\(([\d,]+) direct, [\d,]+ indirect\)")


def _frame(el):
    d = {child.tag: child.text for child in el}
    path = d.get("file")
    if path and d.get("dir"):
        path = os.path.join(d["dir"], path)
    return {"function": d.get("fn"), "file": path,
            "line": int(d["line"]) if d.get("line") else None,
            "address": d.get("ip"), "module": d.get("obj")}


def _record(err):
    kind = KINDS[err.findtext("kind")]
    xwhat = err.find("xwhat")
    nbytes = int(xwhat.findtext("leakedbytes"))
    m = DIRECT.search(xwhat.findtext("text") or "")
    if m:
        nbytes = int(m.group(1).replace(",", ""))
    stack = [_frame(f) for f in err.find("stack").findall("frame")]
    while stack and (stack[0]["function"] in ALLOCATORS
                     or "vgpreload" in (stack[0]["module"] or "")):
        stack.pop(0)
    return {"kind": kind, "bytes": nbytes, "blocks": int(xwhat.findtext("leakedblocks")),
            "stack": stack}


def argv_for(cmd, xml_path, extra=()):
    """valgrind's command line for cmd, writing its XML report to xml_path."""
    return [VALGRIND, "--leak-check=full", "--show-leak-kinds=all", "--run-libc-freeres=no",
            "--xml=yes", "--xml-file=" + xml_path] + list(extra) + list(cmd)


def parse(xml_path):
    """The report in valgrind's XML file, in drip's JSON shape."""
    root = ET.parse(xml_path).getroot()
    leaks = [_record(e) for e in root.findall("error") if e.findtext("kind") in KINDS]
    summary = {k: {"bytes": 0, "blocks": 0} for k in list(KINDS.values()) + ["suppressed"]}
    for r in leaks:
        summary[r["kind"]]["bytes"] += r["bytes"]
        summary[r["kind"]]["blocks"] += r["blocks"]
    return {"summary": summary, "leaks": leaks, "threads": None, "suspects": []}


def run(cmd, timeout=60, extra=(), env=None):
    """Runs cmd under valgrind --leak-check=full --show-leak-kinds=all --run-libc-freeres=no
    (and `extra` options); returns (rc, report)."""
    fd, path = tempfile.mkstemp(prefix="drip-vg-", suffix=".xml")
    os.close(fd)
    try:
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(argv_for(cmd, path, extra), capture_output=True, text=True,
                           timeout=timeout, env=e)
        report = parse(path)
    finally:
        os.unlink(path)
    return p.returncode, report
