"""drip's classification against valgrind memcheck's, on the same binary (issue 14).

Usage: test_verdicts.py CASE   (one ctest per case; `--list` names them)
Each case runs the program under valgrind (--leak-check=full --show-leak-kinds=all
--run-libc-freeres=no, valgrind's default heuristics) and under drip, and asserts that drip's
definite, indirect, possible and reachable figures (bytes and blocks) equal valgrind's, plus the
case's own figures. Without valgrind (or the program) a case exits 77: ctest shows it SKIPPED.
The python3, perl and gcc cases use Debian's own builds (/usr/bin), unmodified.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import driptest as dt  # noqa: E402
import vgreport as vg  # noqa: E402

KINDS = ("definite", "indirect", "possible", "reachable")
BIN = os.path.abspath(os.path.join(dt.BUILD, "bin", "verdicts"))
PY = "/usr/bin/python3"


def skip(why):
    print("SKIPPED: " + why)
    sys.exit(77)


def need(*progs):
    for p in ("valgrind",) + progs:
        if not shutil.which(p):
            skip(p + " is not installed")


def figures(report):
    return {k: dt.summary(report, k) for k in KINDS}


VG_ENV = None


def valgrind_env():
    """What valgrind changes in its client's environment: its LD_PRELOAD (its two preloads) and
    a few variables (GLIBCXX_FORCE_NEW, ...), seen by running env under it."""
    global VG_ENV
    if VG_ENV is None:
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        out = subprocess.run(["valgrind", "-q", "/usr/bin/env"], capture_output=True, text=True, env=e).stdout
        seen = dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)
        VG_ENV = {k: v for k, v in seen.items() if e.get(k) != v}
    return VG_ENV


def equal_envs(env, drip_opts):
    """Environments of the same shape for both runs: programs copy their environment into heap
    blocks (perl's %ENV, python's os.environ), whose sizes must not tell the tools apart. Both
    get DRIP_OPTIONS and DRIP_ROOT_PID (pid 1: drip writes FILE.<pid>); drip's run gets what
    valgrind adds, its LD_PRELOAD padded with empty entries to the length of valgrind's.
    follow_exec keeps LD_PRELOAD as it is."""
    fd, path = tempfile.mkstemp(prefix="drip-verdict-", suffix=".json")
    os.close(fd)
    os.unlink(path)
    common = dict(env or {})
    common["DRIP_OPTIONS"] = ":".join(["follow_exec=1", "json=" + path] + list(drip_opts))
    common["DRIP_ROOT_PID"] = "1"
    vg_env = dict(common)
    drip_env = dict(common)
    drip_env.update(valgrind_env())
    pre = valgrind_env().get("LD_PRELOAD", "")
    drip_env["LD_PRELOAD"] = dt.LIBDRIP + ":" * max(0, len(pre) - len(dt.LIBDRIP))
    return vg_env, drip_env, path


def drip_report(path, pid):
    reports = dt.load_reports(path)
    return reports.get("%s.%d" % (path, pid))


def run_drip(cmd, env, path, timeout):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, drip_report(path, p.pid), err


def same_as_valgrind(name, cmd, drip_opts=(), vg_args=(), env=None, timeout=600, kinds=KINDS):
    """Runs cmd under both; asserts equal figures for `kinds`; returns (drip report, vg report)."""
    vg_env, drip_env, path = equal_envs(env, drip_opts)
    rc_v, v = vg.run(cmd, timeout=timeout, extra=vg_args, env=vg_env)
    rc, r, err = run_drip(cmd, drip_env, path, timeout)
    dt.check(r is not None, name + ": drip wrote its JSON report")
    if r is None:
        print(err[-3000:])
        dt.finish()
    dt.eq(rc, rc_v, name + ": same exit status under drip as under valgrind")
    for k in kinds:
        dt.eq(dt.summary(r, k), dt.summary(v, k), name + ": %s (bytes, blocks) as valgrind" % k)
    return r, v


def at_least_as_reachable(name, r, v):
    """Where valgrind's shadow memory matters (docs/run.md, where drip and valgrind differ): drip
    reads a never-written word (a realloc'd block's tail, a fresh block's unused slots) as data,
    valgrind knows it is undefined. A stale pointer there can only raise a block from possible
    to reachable: definite and indirect are equal, and drip's possible is at most valgrind's.
    (CPython also makes a few small strings differently under valgrind, a handful of blocks out
    of 17,000: the totals are not compared.)"""
    for k in ("definite", "indirect"):
        dt.eq(dt.summary(r, k), dt.summary(v, k), name + ": %s (bytes, blocks) as valgrind" % k)
    dp, vp = dt.summary(r, "possible"), dt.summary(v, "possible")
    dt.check(dp[0] <= vp[0] and dp[1] <= vp[1], name + ": possible %r at most valgrind's %r" % (dp, vp))


def records(report, kind):
    return [x for x in report["leaks"] if x["kind"] == kind]


# ---- small programs ---------------------------------------------------------------------------

HEUR_ALL = {"stdstring": (125, 1), "length64": (48, 1), "newarray": (88, 1), "multipleinheritance": (32, 1)}


def heur_figures(r):
    h = r["reachable_via_heuristic"]
    return {k: (v["bytes"], v["blocks"]) for k, v in h.items() if v["blocks"]}


def case_heuristics():
    need()
    r, v = same_as_valgrind("heuristics", [os.path.join(BIN, "heuristics")])
    dt.eq(heur_figures(r), HEUR_ALL, "reachable via heuristic, as valgrind's summary lists them")
    dt.eq(dt.summary(r, "reachable"), (293, 4), "reachable (bytes, blocks)")
    offs = sorted((p["interior_offset"]["min"], p["interior_offset"]["max"]) for p in records(r, "possible"))
    dt.eq(offs, [(16, 16), (40, 40)], "possible records: where the interior pointer points")
    text = subprocess.run([dt.DRIP, "run", "--", os.path.join(BIN, "heuristics")], capture_output=True,
                          text=True, timeout=60).stderr
    for line in ("of which reachable via heuristic:", "stdstring          : 125 bytes in 1 blocks",
                 "multipleinheritance: 32 bytes in 1 blocks",
                 "the interior pointer points at offset 16 into the block"):
        dt.check(line in text, "text report says: " + line)


def case_heuristics_none():
    need()
    r, v = same_as_valgrind("heuristics=none", [os.path.join(BIN, "heuristics")],
                            drip_opts=["leak_check_heuristics=none"], vg_args=["--leak-check-heuristics=none"])
    dt.eq(dt.summary(r, "possible"), (421, 6), "every heuristic off: all six blocks possibly lost")
    dt.eq(heur_figures(r), {}, "no block reachable via heuristic")


def case_heuristics_some():
    need()
    r, v = same_as_valgrind("heuristics=stdstring,newarray", [os.path.join(BIN, "heuristics")],
                            drip_opts=["leak_check_heuristics=stdstring+newarray"],
                            vg_args=["--leak-check-heuristics=stdstring,newarray"])
    # without length64, newarray accepts the length-prefixed block too (a count of 40 elements
    # of 1 byte): valgrind's own note on 64-bit platforms
    dt.eq(heur_figures(r), {"stdstring": (125, 1), "newarray": (136, 2)}, "only the heuristics asked for")
    bad = dt.run([os.path.join(BIN, "heuristics")], env={"DRIP_OPTIONS": "leak_check_heuristics=stdstrin"},
                 preload=True)
    dt.check("leak_check_heuristics takes all, none" in bad.err, "a misspelt heuristic is a clear error")


def case_stale_stack():
    need()
    r, v = same_as_valgrind("stale_stack", [os.path.join(BIN, "stale_stack")])
    dt.eq(dt.summary(r, "definite"), (100, 1), "the block in a dead stack slot is definitely lost")


def case_dlsym_fail():
    need()
    r, v = same_as_valgrind("dlsym_fail", [os.path.join(BIN, "dlsym_fail")])
    dt.eq(dt.summary(r, "definite"), (0, 0), "glibc's dlerror result (in libc's TLS) is not lost")
    dt.eq(dt.summary(r, "reachable")[1], 2, "it is reachable: the result and its message")


def case_anon_root():
    need()
    r, v = same_as_valgrind("anon_root", [os.path.join(BIN, "anon_root")])
    dt.eq(dt.summary(r, "reachable"), (200, 1), "a pointer in an anonymous mapping is a root")
    dt.eq(dt.summary(r, "definite"), (300, 1), "a pointer in freed memory is not")


def without_dlfo(report, kind):
    """(bytes, blocks) of `kind` less ld.so's _dl_find_object segments (2,304 bytes each): where
    a dlopen of drip's own comes first, the loader's first segment is drip's, not the program's."""
    b = n = 0
    for x in report["leaks"]:
        if x["kind"] == kind and not any((f.get("function") or "").startswith(("_dl_find_object_update", "_dlfo_"))
                                         for f in x["stack"][:4]):
            b, n = b + x["bytes"], n + x["blocks"]
    return b, n


def case_own_dlopen():
    """drip's own dlopen (libunwind, opened at the first walk with unwind=libunwind) puts its link
    maps in the loader's chain before the program's: those chunks are roots (ownload.c), so the
    link maps, version and dependency arrays of the five libraries the program opens later stay
    reachable, as under valgrind. They were possibly lost (numpy under python3: 62 blocks)."""
    need()
    r, v = same_as_valgrind("own_dlopen", [os.path.join(BIN, "own_dlopen")], drip_opts=("unwind=libunwind",),
                            kinds=("definite", "indirect"))
    for k in ("possible", "reachable"):
        dt.eq(without_dlfo(r, k), without_dlfo(v, k), "own_dlopen: %s as valgrind's, ld.so's find-object segments aside" % k)
    dt.eq(without_dlfo(r, "possible"), (0, 0), "own_dlopen: no link map of the program's is possibly lost")
    dt.eq(dt.summary(r, "definite"), (40, 1), "own_dlopen: the one lost block")


def case_big_blocks():
    """The exit scan's in-place index and chunked marking (scan_index.c, scan_mark.c): a 160 KB
    pointer array read in chunks, a pointer deep in a 1 MiB mmapped block, an interior pointer
    into a 300,000-byte block, a lost list of blocks longer than two spans, spans whose first
    records were freed."""
    need()
    r, v = same_as_valgrind("big_blocks", [os.path.join(BIN, "big_blocks")])
    dt.eq(figures(r), {"reachable": (1568616, 13004), "definite": (245000, 10001), "indirect": (15000, 3),
                       "possible": (300000, 1)}, "big_blocks: the exact figures")


def case_libc_shim():
    """A program whose own malloc, free, calloc and realloc are a shim over glibc's __libc_malloc
    and its kin (hooks.c, foreign.c): drip tracks it through those names, as valgrind does, and
    gives valgrind's figures, where it used to say only that the program brings its own
    allocator."""
    need()
    cmd = [os.path.join(BIN, "libc_shim")]
    r, v = same_as_valgrind("libc_shim", cmd)
    dt.eq(dt.summary(r, "definite"), (506, 4), "libc_shim: the four leaks, exactly")
    dt.eq(r.get("own_allocator"), None, "libc_shim: no 'brings its own allocator' report")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                         env={k: x for k, x in os.environ.items() if k not in ("LD_PRELOAD", "DRIP_OPTIONS")})
    dt.eq((res.returncode, res.stdout), (0, "shim: called\n"), "libc_shim: runs as without drip")


# ---- where drip and valgrind differ (README, docs/run.md): each difference asserted exactly ----

def case_aligned_interior():
    """A block held only through its address rounded up to 64 bytes (glibc's _dl_find_object
    segments, iconv's 2,304-byte block): the start when malloc's address was aligned already
    (still reachable), else an interior pointer (possibly lost). Whether it is depends on the
    allocator's layout, glibc's under drip and valgrind's own under valgrind, so the two tools can
    disagree on such a block; each follows the same rule, asserted here from what the program saw
    under each (README: where drip's verdicts differ)."""
    need()
    cmd = [os.path.join(BIN, "aligned_interior")]
    vg_env, drip_env, path = equal_envs(None, ())
    d = tempfile.mkdtemp(prefix="drip-verdict-")
    try:
        xml = os.path.join(d, "vg.xml")
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.update(vg_env)
        pv = subprocess.run(vg.argv_for(cmd, xml), capture_output=True, text=True, timeout=120, env=e)
        v = vg.parse(xml)
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.update(drip_env)
        pd = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        pd.stdout_text, _ = pd.communicate(timeout=120)
        r = dt.load_reports(path).get("%s.%d" % (path, pd.pid))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    dt.check(r is not None, "aligned_interior: drip wrote its JSON report")
    if r is None:
        dt.finish()
    for who, rep, rc, out in (("drip", r, pd.returncode, pd.stdout_text), ("valgrind", v, pv.returncode, pv.stdout)):
        saw = out.strip()
        dt.eq(rc, 0, who + ": exit status 0")
        dt.check(saw in ("start", "interior"), who + ": the program says what it held (%r)" % saw)
        want = (263, 1) if saw == "interior" else (0, 0)
        dt.eq(dt.summary(rep, "possible"), want, who + ": the block is possibly lost exactly when the program held "
              "an interior pointer (%s)" % saw)
        dt.eq(dt.summary(rep, "definite"), (0, 0), who + ": nothing definitely lost")

def both(name, cmd):
    """drip's and valgrind's reports for cmd, without asserting that they agree."""
    vg_env, drip_env, path = equal_envs(None, ())
    rc_v, v = vg.run(cmd, timeout=300, env=vg_env)
    rc, r, err = run_drip(cmd, drip_env, path, 300)
    dt.check(r is not None, name + ": drip wrote its JSON report")
    if r is None:
        print(err[-3000:])
        dt.finish()
    dt.eq(rc, rc_v, name + ": same exit status under drip as under valgrind")
    return r, v


def case_stale_live():
    """A pointer only in never-written slots of a live frame at _exit: valgrind knows the words
    are undefined (definitely lost), drip reads them (still reachable)."""
    need()
    r, v = both("stale_live", [os.path.join(BIN, "stale_live")])
    dt.eq(figures(v), {"definite": (100, 1), "indirect": (0, 0), "possible": (0, 0), "reachable": (0, 0)},
          "valgrind: the block is definitely lost")
    dt.eq(figures(r), {"definite": (0, 0), "indirect": (0, 0), "possible": (0, 0), "reachable": (100, 1)},
          "drip: the stale copy on the live stack keeps it reachable")


def case_own_environ():
    """An environment array the program made itself (nginx's workers, ngx_set_environment) is
    reachable at exit through libc's environ: drip and valgrind --run-libc-freeres=no agree. Under
    valgrind's default --run-libc-freeres=yes it is definitely lost: glibc's __libc_freeres runs
    clearenv(), which sets environ to NULL, before valgrind's leak check (nginx after a reload:
    the 8 bytes by which valgrind's definite figure exceeded drip's)."""
    need()
    cmd = [os.path.join(BIN, "own_environ")]
    r, v = both("own_environ", cmd)
    want = {"definite": (0, 0), "indirect": (0, 0), "possible": (0, 0), "reachable": (16, 1)}
    dt.eq(figures(v), want, "valgrind --run-libc-freeres=no: reachable through environ")
    dt.eq(figures(r), want, "drip: the same")
    held = [x.get("retained_by", {}).get("root", {}).get("symbol") for x in records(r, "reachable")]
    # the executable's copy of libc's variable (a copy relocation: __environ@GLIBC_2.2.5)
    dt.eq([(h or "").split("@")[0] for h in held], ["__environ"], "drip: the block is held by __environ (%r)" % held)
    _, vd = vg.run(cmd, timeout=300, extra=["--run-libc-freeres=yes"], env=equal_envs(None, ())[0])
    dt.eq(figures(vd), {"definite": (16, 1), "indirect": (0, 0), "possible": (0, 0), "reachable": (0, 0)},
          "valgrind's default --run-libc-freeres=yes: definitely lost (clearenv dropped environ)")


def case_regs_exit():
    """A pointer only in a callee-saved register at _exit: drip scans the exiting thread's
    registers (still reachable), valgrind does not (definitely lost)."""
    need()
    r, v = both("regs_exit", [os.path.join(BIN, "regs_exit")])
    dt.eq(figures(v), {"definite": (64, 1), "indirect": (0, 0), "possible": (0, 0), "reachable": (0, 0)},
          "valgrind: definitely lost")
    dt.eq(figures(r), {"definite": (0, 0), "indirect": (0, 0), "possible": (0, 0), "reachable": (64, 1)},
          "drip: reachable from r12")


def case_fork_child():
    """A forked child's report: valgrind counts the blocks it inherited at fork, drip lists only
    the child's own and names the inherited ones in one line (JSON "inherited"); the parent's
    report lists them. Parent reports are equal."""
    need()
    prog = os.path.join(BIN, "fork_child")
    d = tempfile.mkdtemp()
    try:
        vg_env, drip_env, path = equal_envs(None, ())
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.update(vg_env)
        p = subprocess.run([vg.VALGRIND, "--leak-check=full", "--show-leak-kinds=all", "--run-libc-freeres=no",
                            "--xml=yes", "--xml-file=" + os.path.join(d, "vg.%p.xml"), prog],
                           capture_output=True, text=True, timeout=300, env=e)
        vgs = {int(f.split(".")[1]): vg.parse(os.path.join(d, f)) for f in os.listdir(d)}
        dt.eq((p.returncode, len(vgs)), (0, 2), "valgrind: status 0, a report from the parent and the child")
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.update(drip_env)
        rc = subprocess.run([prog], capture_output=True, text=True, timeout=300, env=e).returncode
        reps = {r.get("pid"): r for r in dt.load_reports(path).values()}   # FILE.<pid> each (DRIP_ROOT_PID=1)
        dt.eq((rc, len(reps)), (0, 2), "drip: status 0, a report from the parent and the child")
        if len(vgs) != 2 or len(reps) != 2:
            dt.finish()
        vg_parent, vg_child = (vgs[k] for k in sorted(vgs))
        dr_parent, dr_child = (reps[k] for k in sorted(reps))
        dt.eq(figures(dr_parent), figures(vg_parent), "parent: drip's figures are valgrind's")
        dt.eq(dt.summary(vg_child, "definite"), (30, 2), "valgrind's child: its 20 bytes and the 10 it inherited")
        dt.eq(dt.summary(dr_child, "definite"), (20, 1), "drip's child: its own 20 bytes")
        inh = dr_child.get("inherited") or {}
        dt.eq((inh.get("bytes"), inh.get("blocks"), inh.get("parent")), (10, 1, dr_parent["pid"]),
              "drip's child names what it inherited, and from whom")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def tls_modules(path):
    """How many of path and the libraries it loads have a PT_TLS segment."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    libs = [path] + re.findall(r"=> (/\S+)", out)
    n = 0
    for lib in libs:
        ph = subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True).stdout
        n += bool(re.search(r"^\s*TLS\s", ph, re.M))
    return n, set(libs)


def case_dtv_size():
    """A thread running at exit: its DTV is possibly lost in both, 16 bytes larger per module
    with TLS that drip brings (libdrip.so; libunwind only once a stack needed it) and the program
    does not load itself."""
    need("readelf", "ldd")
    prog = os.path.join(BIN, "dtv_thread")
    r, v = both("dtv_thread", [prog])
    _, prog_libs = tls_modules(prog)
    extra = 0
    out = subprocess.run(["ldd", dt.LIBDRIP], capture_output=True, text=True).stdout
    for lib in [dt.LIBDRIP] + re.findall(r"=> (/\S+)", out):
        if lib not in prog_libs:
            ph = subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True).stdout
            extra += bool(re.search(r"^\s*TLS\s", ph, re.M))
    print("modules with TLS that drip adds: %d" % extra)
    for k in ("definite", "indirect", "reachable"):
        dt.eq(dt.summary(r, k), dt.summary(v, k), "dtv_thread: %s as valgrind" % k)
    dp, vp = dt.summary(r, "possible"), dt.summary(v, "possible")
    dt.eq(dp, (vp[0] + 16 * extra, vp[1]), "possible: the same one block, 16 bytes per added TLS module larger")
    dt.eq(dt.summary(r, "reachable"), (77, 1), "the thread's block, held in its TLS, is reachable")


def case_env_copies():
    """Programs that copy their environment into heap blocks (busybox awk's ENVIRON, tclsh's env
    array): valgrind adds variables to its client's environment (its LD_PRELOAD, LD_LIBRARY_PATH,
    GLIBCXX_FORCE_NEW, GLIBCPP_FORCE_NEW), drip run hides its own, so run plainly the two see
    different environments and make different blocks (busybox awk: possibly lost 144 blocks under
    valgrind, 136 under drip). With environments of the same shape the four figures are equal."""
    need("busybox", "tclsh")
    d = tempfile.mkdtemp()
    try:
        nums = os.path.join(d, "nums")
        with open(nums, "w") as f:
            f.write("".join("%d\n" % i for i in range(1, 20001)))
        script = os.path.join(d, "t.tcl")
        with open(script, "w") as f:
            f.write("set a [string repeat x 100000]; puts [string length $a]; exit 5\n")
        awk = ["busybox", "awk", "{s+=$1} END {print s}", nums]
        same_as_valgrind("busybox awk, same environment", awk)
        same_as_valgrind("tclsh, same environment", ["tclsh", script])
        # as a user runs them: each tool's own environment. busybox awk makes two blocks per
        # variable (its ENVIRON entry's name and value), possibly lost in both tools
        base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "DRIP_OPTIONS")}
        added = [k for k in valgrind_env() if k not in base]
        _, v = vg.run(awk, timeout=600, env={}) if "LD_PRELOAD" not in os.environ else (None, None)
        if v is None:
            skip("LD_PRELOAD is set in the test's environment")
        J = os.path.join(d, "r.json")
        p = subprocess.run([dt.DRIP, "run", "--json", J, "--"] + awk, capture_output=True, text=True, timeout=600,
                           env=base)
        with open(J) as f:
            r = json.load(f)
        for k in ("definite", "indirect"):
            dt.eq(dt.summary(r, k), dt.summary(v, k), "busybox awk, own environments: %s as valgrind" % k)
        dt.eq(dt.summary(v, "possible")[1] - dt.summary(r, "possible")[1], 2 * len(added),
              "busybox awk, own environments: valgrind's possibly lost has two blocks more per variable it "
              "added (%s)" % ", ".join(sorted(added)))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_debian_tools():
    """Debian's everyday programs, unmodified: drip's four figures (bytes and blocks) equal
    valgrind's on each. A program that is not installed is left out; none at all: SKIPPED."""
    need()
    d = tempfile.mkdtemp()
    try:
        nums, text = os.path.join(d, "nums"), os.path.join(d, "text")
        with open(nums, "w") as f:
            f.write("".join("%d\n" % i for i in range(1, 20001)))
        with open(text, "w") as f:
            f.write("".join("%d line of text\n" % i for i in range(1, 501)))
        cmds = [["sort", "-n", nums], ["mawk", "{s+=$1} END {print s}", nums], ["sed", "-n", "s/line/L/p", text],
                ["grep", "-c", "1", nums], ["tar", "cf", "/dev/null", d], ["gzip", "-kfn", nums],
                ["openssl", "dgst", "-sha256", nums], ["sqlite3", ":memory:", "select 1;"], ["jq", "-n", "1+2"],
                ["git", "--version"], ["find", d], ["diff", text, nums], ["bash", "-c", "true"]]
        ran = 0
        for cmd in cmds:
            path = shutil.which(cmd[0])
            if not path:
                print("not installed: " + cmd[0])
                continue
            ran += 1
            r, v = same_as_valgrind(" ".join(cmd[:2]), [path] + cmd[1:], timeout=300)
            print("%-12s %s" % (cmd[0], " ".join("%s=%r" % (k, dt.summary(r, k)) for k in KINDS)))
        if not ran:
            skip("none of the programs is installed")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def thread_states(r):
    return sorted((t["state"], t["start_routine"]) for t in r.report["threads"])


def case_threads_asleep():
    r = dt.run([os.path.join(BIN, "threads_asleep")])
    dt.eq(thread_states(r), [("running", "sleeper")] * 4, "four sleeping threads, all running at exit")
    r = dt.run([os.path.join(BIN, "threads_asleep")])
    dt.check("4 still running at exit, 0 finished but never joined" in r.err, "text: 4 running, 0 unjoined")


def case_threads_pending():
    for _ in range(3):
        r = dt.run([os.path.join(BIN, "threads_pending")])
        dt.eq(thread_states(r), [("running", "worker")] * 50, "50 pending detached threads, all running at exit")
        dt.eq(dt.summary(r.report, "definite"), (0, 0), "their arguments are not lost")


def case_shared_root():
    """docs/run.md, where drip and valgrind differ: a shared file mapping is not a root for drip."""
    need()
    r, v = same_as_valgrind("shared_root", [os.path.join(BIN, "shared_root")], kinds=("indirect", "possible"))
    dt.eq(dt.summary(v, "reachable"), (400, 1), "valgrind: the block is reachable from the shared mapping")
    dt.eq(dt.summary(v, "definite"), (0, 0), "valgrind: nothing lost")
    dt.eq(dt.summary(r, "definite"), (400, 1), "drip: the shared mapping is not read, the block is lost")
    dt.eq(dt.summary(r, "reachable"), (0, 0), "drip: nothing else differs")


# ---- real programs ----------------------------------------------------------------------------

JSON_TRIP = "import json; json.loads(json.dumps(list(range(100000))))"
# the same hash seed in both runs (dict sizes follow it), and the system allocator (see below)
PYENV = {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"}


def case_python_json():
    need(PY)
    # pymalloc's arena map (a radix tree) takes nodes by where its arenas land: valgrind's
    # address space layout is not the kernel's, so compare with the system allocator...
    r, v = same_as_valgrind("python json", [PY, "-c", JSON_TRIP], env=PYENV, kinds=("definite", "indirect"))
    # ld.so's 2,304-byte _dl_find_object segment is held by a pointer 64-112 bytes inside it, and
    # now and then by a word that happens to hold its start: under valgrind as under drip it is
    # possibly lost in some runs and reachable in others. Equal figures, or exactly that block
    # on the other side.
    (dp, vp), (dr, vr) = [(dt.summary(r, k), dt.summary(v, k)) for k in ("possible", "reachable")]
    moved = (dp[0] - vp[0], dp[1] - vp[1])
    dt.check(moved in ((0, 0), (2304, 1), (-2304, -1)) and (dp[0] + dr[0], dp[1] + dr[1]) == (vp[0] + vr[0], vp[1] + vr[1]),
             "python json: possible and reachable as valgrind's, or the _dl_find_object segment moved: drip %r %r, valgrind %r %r"
             % (dp, dr, vp, vr))
    # ...and, as a user runs it, no leak and the program's own status
    for code in (JSON_TRIP, "import json; json.dumps(list(range(100000)))"):
        r = dt.run([PY, "-c", code], drip_args=["--error-exitcode", "23"])
        dt.eq(r.rc, 0, "python3 -c %r exits 0 under --error-exitcode 23" % code)
        dt.eq(dt.summary(r.report, "definite"), (0, 0), "no definite leak")


def case_python_json_radix():
    """docs/run.md, where drip and valgrind differ: CPython's own allocator, run as is."""
    need(PY)
    r, v = same_as_valgrind("python json (pymalloc)", [PY, "-c", JSON_TRIP], kinds=KINDS[:3],
                            env={"PYTHONHASHSEED": "0"})
    (db, dn), (vb, vn) = dt.summary(r, "reachable"), dt.summary(v, "reachable")
    node = 131072   # one node of the arena map's bottom level: 2^14 entries of 8 bytes
    dt.check((db - vb) == (dn - vn) * node, "reachable differs by whole arena-map nodes only: drip %r, valgrind %r"
             % ((db, dn), (vb, vn)))


def case_python_exit():
    need(PY)
    r, v = same_as_valgrind("python os._exit", [PY, "-c", "import os, json; json.dumps(list(range(1000))); os._exit(3)"],
                            env=PYENV, kinds=())
    at_least_as_reachable("python os._exit", r, v)
    dt.eq(dt.summary(r, "definite"), (0, 0), "no definite leak")


def run_server(argv, env):
    """Starts an http.server, waits until it serves, stops it with SIGTERM; returns its status
    and pid."""
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    line = p.stdout.readline()   # "Serving HTTP on ..."
    dt.check(line.startswith("Serving HTTP"), "http.server started: %r" % line)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=300)
    return p.returncode, p.pid


def case_python_sigterm():
    need(PY)
    cmd = [PY, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
    vg_env, drip_env, path = equal_envs(PYENV, ())
    fd, xml = tempfile.mkstemp(suffix=".xml")
    os.close(fd)
    rc_v, _ = run_server(vg.argv_for(cmd, xml), env=vg_env)
    v = vg.parse(xml)
    os.unlink(xml)
    rc_d, pid = run_server(cmd, env=dict(drip_env))
    r = drip_report(path, pid)
    dt.eq(rc_d, rc_v, "same status (killed by SIGTERM)")
    at_least_as_reachable("http.server on SIGTERM", r, v)
    dt.eq(dt.summary(r, "definite"), (0, 0), "no definite leak")


def case_numpy():
    need(PY)
    if subprocess.run([PY, "-c", "import numpy"], capture_output=True).returncode != 0:
        skip("python3-numpy is not installed")
    # one BLAS thread: the figures then do not depend on the machine's CPU count. CPython's own
    # allocator, as a user runs it (with the system allocator, valgrind and drip agree on 35
    # definitely lost blocks of numpy's)
    r, v = same_as_valgrind("numpy matmul", [PY, "-c", "import numpy as np; a = np.ones((500, 500)); b = a @ a"],
                            env={"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
                            kinds=())
    at_least_as_reachable("numpy matmul", r, v)
    dt.eq(dt.summary(r, "definite"), (0, 0), "no definite leak")


def case_perl_hash():
    need("/usr/bin/perl")
    # a fixed hash seed: the bucket arrays' sizes follow it
    same_as_valgrind("perl hash", ["/usr/bin/perl", "-e", "my %h; $h{$_} = $_ for 1..200000;"],
                     env={"PERL_HASH_SEED": "0", "PERL_PERTURB_KEYS": "0"})


def case_gcc_shared():
    need("/usr/bin/gcc")
    d = tempfile.mkdtemp()
    src = os.path.join(d, "lib.c")
    with open(src, "w") as f:
        f.write("int f(int x) { return x + 1; }\n")
    try:
        same_as_valgrind("gcc -shared", ["/usr/bin/gcc", "-shared", "-fPIC", "-o", os.path.join(d, "lib.so"), src])
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    dt.main(globals())
