#!/usr/bin/env python3
"""Sweep: drip's verdicts against valgrind memcheck's on real Debian programs, while varying what
must not change a verdict (not a ctest: a tool to find differences; test_envshape.py pins each one
found).

Usage: sweep_envshape.py [--progs a,b] [--shapes a,b] [--variants a,b] [--out FILE.jsonl]
For each program and each environment shape (cwd, extra environment variables), valgrind runs
once; drip runs once per option variant (options that must not change a verdict). Both runs get
an environment of the same shape (tests/verdicts/test_verdicts.py, equal_envs): the same
variables, DRIP_OPTIONS of the same length in every run, drip's LD_PRELOAD padded to valgrind's.
Each line of the output is one comparison (DIFF: drip's figure minus valgrind's).

What it found (2026-11-30), and why each difference that remains is not drip's:
- unwind=fp killed Debian's python3 (a wild %rbp): fixed, test_envshape.py.
- valgrind sets PWD to its client's cwd: a run of drip elsewhere must get the same PWD, or
  programs that copy their environment (perl's %ENV, gawk's ENVIRON) differ by its length.
- python3 with ctypes: five PyLongs hold libc addresses (_memmove_addr, ...), 28 bytes under
  valgrind (its replacements sit below 2^30), 32 natively; the thread's DTV is 16 bytes larger
  per TLS module drip adds; ld.so's 2,304-byte _dl_find_object block moves between possible and
  reachable; pymalloc's arena map differs by whole 131,072-byte nodes (docs/run.md).
- mawk: 4 pool blocks of 2 KB that drip holds by stale start pointers in never-written words
  (docs/run.md); with MALLOC_PERTURB_=165 in both runs the figures are equal.
- tclsh with a 10 KB variable: Tcl grows a DString by realloc, which valgrind always moves and
  glibc grows in place, so a stale start pointer to a 38,400-byte block lands in another block.
- gawk (not PIE: its brk heap lies near 1 GB): 32-bit hash codes of a 20,000-element array fall
  in the heap; in about 1 run of 20 one lands in a lost block (ASLR decides; valgrind's heap
  does not move).
- git status right after the repository was written refreshes its index (the first run only).
- ruby: the two runs keep different memory. Ruby sorts its GC pages (16 KB mmaps) by address and
  at exit frees 489 of 977 of them (RUBY_GC_HEAP_INIT_SLOTS=400000); the kernel places mmaps top
  down, valgrind bottom up, so other pages stay. Under valgrind a 4,750-byte rb_fstring buffer is
  held from a page mapped at 0xa300000 and never unmapped; under drip no word of the process
  points to it at exit_group (gdb, every rw mapping). Its hash seed is random too (drip's own
  figures move by ~20 blocks run to run). Not a scan difference as far as this goes.
- py_threads, xz -T2: a thread's DTV is 16 bytes larger (32 once libunwind is loaded); how many
  stacks glibc caches depends on which thread ends first.
- utf8, tz_*, MALLOC_ARENA_MAX=1 with tcache off, cwd, environment size, 14 option sets, and
  glibc's string functions without AVX2 in drip's run only: no other difference.
"""
import argparse
import json
import os
import shutil
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
PY = "/usr/bin/python3"
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C", "LC_ALL": "C",
            "PYTHONHASHSEED": "0", "PERL_HASH_SEED": "0", "PERL_PERTURB_KEYS": "0",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "GIT_CONFIG_NOSYSTEM": "1",
            "TZ": "UTC"}
OPT_LEN = 200   # every run's DRIP_OPTIONS is this long (the json path fills it up)

VARIANTS = {
    "default": [],
    "fp": ["unwind=fp"],
    "cfi": ["unwind=cfi"],
    "libunwind": ["unwind=libunwind"],
    "sample0": ["sample=0"],
    "growth0": ["growth=0"],
    "frames4": ["max_frames=4"],
    "reach": ["show_reachable=1"],
    "noretain": ["retain_paths=0"],
    "growth1ms": ["growth=1ms"],
    "retainers": ["retainers=1"],
    "frames1": ["max_frames=1"],
    "logroots": ["log_roots=1"],
    "monitor": ["monitor=10ms"],
}


def setup_work(d):
    """The programs' inputs, in d (absolute paths: the cwd changes only what getcwd says)."""
    os.makedirs(os.path.join(d, "tree", "a", "b"), exist_ok=True)
    os.makedirs(os.path.join(d, "tree", "b"), exist_ok=True)
    with open(os.path.join(d, "nums"), "w") as f:
        f.write("".join("%d\n" % ((i * 7919) % 20011) for i in range(1, 20001)))
    with open(os.path.join(d, "text"), "w") as f:
        f.write("".join("%d line of text\n" % i for i in range(1, 501)))
    for i in range(30):
        with open(os.path.join(d, "tree", "a" if i % 2 else "", "b" if i % 3 else "", "f%d.txt" % i), "w") as f:
            f.write("hello %d\nneedle %d\n" % (i, i) * (i + 1))
    with open(os.path.join(d, "t.tcl"), "w") as f:
        f.write("set a [string repeat x 100000]; puts [string length $a]; array set h {}; "
                "for {set i 0} {$i < 1000} {incr i} {set h($i) $i}; puts [array size h]\n")
    with open(os.path.join(d, "t.lua"), "w") as f:
        f.write("local t = {} for i = 1, 10000 do t[i] = tostring(i) end print(#t)\n")
    repo = os.path.join(d, "repo")
    os.makedirs(repo, exist_ok=True)
    genv = dict(BASE_ENV, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b", GIT_COMMITTER_NAME="a",
                GIT_COMMITTER_EMAIL="a@b", GIT_AUTHOR_DATE="2020-01-01T00:00:00Z",
                GIT_COMMITTER_DATE="2020-01-01T00:00:00Z")
    if shutil.which("git"):
        for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "."], ["git", "commit", "-qm", "one"]):
            for i in range(3):
                with open(os.path.join(repo, "f%d" % i), "a") as f:
                    f.write("x%d\n" % i)
            subprocess.run(cmd, cwd=repo, env=genv, capture_output=True)
        subprocess.run(["git", "add", "."], cwd=repo, env=genv, capture_output=True)
        subprocess.run(["git", "commit", "-qm", "two"], cwd=repo, env=genv, capture_output=True)
        with open(os.path.join(repo, "f0"), "a") as f:
            f.write("changed\n")
        with open(os.path.join(repo, "untracked"), "w") as f:
            f.write("u\n")
        # old mtimes, then a first status: the index is fresh, no run rewrites it (racy git)
        for name in os.listdir(repo):
            if name != ".git":
                os.utime(os.path.join(repo, name), (1577836800, 1577836800))
        subprocess.run(["git", "status"], cwd=repo, env=genv, capture_output=True)
        subprocess.run(["git", "status"], cwd=repo, env=genv, capture_output=True)


def programs(d):
    """name -> (argv, extra env). argv[0] is an absolute path."""
    nums, text, tree = (os.path.join(d, x) for x in ("nums", "text", "tree"))
    repo = os.path.join(d, "repo")
    P = {
        "py_pass": ([PY, "-c", "pass"], {}),
        "py_pass_sysmalloc": ([PY, "-c", "pass"], {"PYTHONMALLOC": "malloc"}),
        "py_mods": ([PY, "-c", "import json, re, sqlite3, ctypes, threading; "
                     "json.loads(json.dumps(list(range(1000)))); re.compile('a+b'); "
                     "c = sqlite3.connect(':memory:'); c.execute('create table t(x)'); c.close(); "
                     "ctypes.CDLL(None).getpid(); t = threading.Thread(target=sum, args=([1],)); t.start(); t.join()"],
                    {"PYTHONMALLOC": "malloc"}),
        "py_mods_pymalloc": ([PY, "-c", "import json, re, sqlite3, ctypes, threading; "
                              "json.loads(json.dumps(list(range(1000)))); "
                              "t = threading.Thread(target=sum, args=([1],)); t.start(); t.join()"], {}),
        "perl": (["/usr/bin/perl", "-e", "my %h; $h{$_} = $_ for 1..20000; my @a = sort keys %h; print scalar(@a), qq{\\n}"], {}),
        "git_status": (["/usr/bin/git", "-C", repo, "status", "--porcelain"], {}),
        "git_log": (["/usr/bin/git", "-C", repo, "log", "--oneline", "-p"], {}),
        "sqlite3": (["/usr/bin/sqlite3", ":memory:", "create table t(x); insert into t values (1),(2); select sum(x) from t;"], {}),
        "openssl_version": (["/usr/bin/openssl", "version", "-a"], {}),
        "openssl_dgst": (["/usr/bin/openssl", "dgst", "-sha256", nums], {}),
        "gawk": (["/usr/bin/gawk", "{s+=$1; a[$1]++} END {print s, length(a)}", nums], {}),
        "mawk": (["/usr/bin/mawk", "{s+=$1; a[$1]++} END {print s, length(a)}", nums], {}),
        "sort": (["/usr/bin/sort", "-n", nums], {}),
        "ls": (["/usr/bin/ls", "-laR", tree], {}),
        "grep": (["/usr/bin/grep", "-r", "needle 1", tree], {}),
        "tar": (["/usr/bin/tar", "cf", "/dev/null", tree], {}),
        "xz": (["/usr/bin/xz", "-T1", "-c", text], {}),
        "bash": (["/usr/bin/bash", "-c", "a=(); for i in $(seq 1 200); do a+=($i); done; x=$(echo ${#a[@]}); echo $x"], {}),
        "lua": (["/usr/bin/lua5.4", os.path.join(d, "t.lua")], {}),
        "ruby": (["/usr/bin/ruby", "-e", "h = {}; 1000.times { |i| h[i.to_s] = i }; puts h.size"], {"RUBY_THREAD_VM_STACK_SIZE": "1048576"}),
        "tclsh": (["/usr/bin/tclsh", os.path.join(d, "t.tcl")], {}),
        # other arguments, and programs that start threads (a fixed count)
        "py_isolated": ([PY, "-I", "-S", "-c", "import sys; sys.stdout.write(str(len(sys.argv)))", "a" * 5000], {"PYTHONMALLOC": "malloc"}),
        "py_threads": ([PY, "-c", "import threading, queue; q = queue.Queue(); ts = [threading.Thread(target=q.put, args=(i,)) "
                        "for i in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]"], {"PYTHONMALLOC": "malloc"}),
        "perl_re": (["/usr/bin/perl", "-ne", "print if /(\\d+)7\\1/", nums], {}),
        "sort_par": (["/usr/bin/sort", "--parallel=2", "-S", "64K", "-r", nums], {}),
        "xz_t2": (["/usr/bin/xz", "-T2", "-1", "-c", nums], {}),
        "ls_root": (["/usr/bin/ls", "-la", "/usr/lib"], {}),
        "grep_e": (["/usr/bin/grep", "-rEc", "needle (1|2)+", tree], {}),
        "openssl_sha512": (["/usr/bin/openssl", "dgst", "-sha512", "-r", text], {}),
        "sqlite3_more": (["/usr/bin/sqlite3", ":memory:", "create table t(x, y); "
                          "with recursive c(i) as (select 1 union all select i + 1 from c where i < 2000) "
                          "insert into t select i, hex(randomblob(8)) from c; create index ti on t(y); select count(*) from t;"], {}),
        "gawk_f": (["/usr/bin/gawk", "-F", " ", "{n[NR % 7] = n[NR % 7] $1} END {for (k in n) print k, length(n[k])}", text], {}),
    }
    return {k: v for k, v in P.items() if os.path.exists(v[0][0])}


def shapes(d):
    deep = os.path.join(d, "deep", *(["dddddddddd"] * 12))
    os.makedirs(deep, exist_ok=True)
    return {
        "base": (d, {}),
        "cwd_root": ("/", {}),
        "cwd_tmp": ("/tmp", {}),
        "cwd_deep": (deep, {}),
        "env50": (d, {"SWEEP_V%02d" % i: "v%d" % i for i in range(50)}),
        "env10k": (d, {"SWEEP_BIG": "x" * 10240}),
        # variables libc reads for the program and for drip alike (None: unset)
        "tz_unset": (d, {"TZ": None}),
        "tz_file": (d, {"TZ": ":/etc/localtime"}),
        "utf8": (d, {"LANG": "C.UTF-8", "LC_ALL": None}),
        "malloc_arena": (d, {"MALLOC_ARENA_MAX": "1", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}),
        # another CPU: libc's string functions without AVX2 in drip's run only (valgrind's CPU
        # has no AVX-512, so on such a machine the two runs take different variants); valgrind
        # gets a tunable of the same length that changes nothing
        "noavx2": (d, {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-XXXX,-XXX"}),
    }


VG_ADDED = None


def vg_added():
    global VG_ADDED
    if VG_ADDED is None:
        out = subprocess.run(["valgrind", "-q", "/usr/bin/env"], capture_output=True, text=True, env=BASE_ENV).stdout
        seen = dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)
        VG_ADDED = {k: v for k, v in seen.items() if BASE_ENV.get(k) != v}
    return VG_ADDED


def drip_options(jdir, opts):
    """DRIP_OPTIONS of OPT_LEN characters: the json path is padded."""
    head = ["follow_exec=1"] + list(opts)
    fixed = len(":".join(head)) + len(":json=") + len(jdir) + len("/r.json")
    pad = OPT_LEN - fixed
    path = os.path.join(jdir, "r" + "x" * pad + ".json")
    s = ":".join(head + ["json=" + path])
    assert len(s) == OPT_LEN, (len(s), s)
    return s, path


def figures(rep):
    return {k: list(dt.summary(rep, k)) for k in KINDS} if rep else None


def run_vg(argv, cwd, env, timeout):
    """valgrind's report of the process it started (forked children write their own files)."""
    d = tempfile.mkdtemp(prefix="sweep-vg-")
    t = time.time()
    try:
        cmd = vg.argv_for(argv, os.path.join(d, "vg.%p.xml"))
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p.wait(timeout=timeout)
        rep = vg.parse(os.path.join(d, "vg.%d.xml" % p.pid))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return p.returncode, rep, time.time() - t


def run_drip(argv, cwd, env, path, timeout):
    t = time.time()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = p.communicate(timeout=timeout)
    err = err.decode(errors="replace")
    rep = None
    f = "%s.%d" % (path, p.pid)
    if os.path.exists(f):
        with open(f) as fh:
            rep = json.load(fh)
    return p.returncode, rep, err, time.time() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--progs", default="")
    ap.add_argument("--shapes", default="")
    ap.add_argument("--variants", default="")
    ap.add_argument("--out", default="/tmp/sweep_envshape.jsonl")
    ap.add_argument("--keep", action="store_true", help="keep drip's JSON reports (printed paths)")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="sweep-")
    jdir = tempfile.mkdtemp(prefix="sw-")
    setup_work(d)
    P, S = programs(d), shapes(d)
    pick = lambda table, arg: [k for k in table if not arg or k in arg.split(",")]   # noqa: E731
    out = open(a.out, "a")
    rows = []
    for prog in pick(P, a.progs):
        argv, penv = P[prog]
        for shape in pick(S, a.shapes):
            cwd, senv = S[shape]
            # the same options length for valgrind's run as for drip's
            opts, _ = drip_options(jdir, [])
            common = dict(BASE_ENV, **penv, **senv, DRIP_ROOT_PID="1", DRIP_OPTIONS=opts)
            common = {k: v for k, v in common.items() if v is not None}
            try:
                rc_v, v, tv = run_vg(argv, cwd, common, 900)
            except Exception as e:  # noqa: BLE001
                print("%s %s valgrind failed: %s" % (prog, shape, e), flush=True)
                continue
            for var in pick(VARIANTS, a.variants):
                opts, path = drip_options(jdir, VARIANTS[var])
                denv = dict(common, DRIP_OPTIONS=opts)
                denv.update(vg_added())
                if shape == "noavx2":
                    denv["GLIBC_TUNABLES"] = "glibc.cpu.hwcaps=-AVX2,-AVX"
                if "PWD" in vg_added():
                    denv["PWD"] = cwd   # valgrind sets PWD to its client's cwd
                pre = vg_added().get("LD_PRELOAD", "")
                denv["LD_PRELOAD"] = dt.LIBDRIP + ":" * max(0, len(pre) - len(dt.LIBDRIP))
                try:
                    rc_d, r, err, td = run_drip(argv, cwd, denv, path, 300)
                except Exception as e:  # noqa: BLE001
                    print("%s %s %s drip failed: %s" % (prog, shape, var, e), flush=True)
                    continue
                fv, fd_ = figures(v), figures(r)
                diff = {k: [fd_[k][0] - fv[k][0], fd_[k][1] - fv[k][1]] for k in KINDS} if fd_ else None
                same = bool(diff) and all(x == [0, 0] for x in diff.values()) and rc_v == rc_d
                row = {"prog": prog, "shape": shape, "variant": var, "same": same, "rc": [rc_d, rc_v],
                       "drip": fd_, "vg": fv, "diff": diff, "t": [round(td, 2), round(tv, 2)]}
                if a.keep and r:
                    keep = os.path.join("/tmp", "sweep-keep-%s-%s-%s.json" % (prog, shape, var))
                    with open(keep, "w") as fh:
                        json.dump(r, fh)
                    row["kept"] = keep
                if r is None:
                    row["err"] = err[-500:]
                for f in os.listdir(jdir):
                    os.unlink(os.path.join(jdir, f))
                rows.append(row)
                out.write(json.dumps(row) + "\n")
                out.flush()
                shown = {k: x for k, x in (diff or {}).items() if x != [0, 0]}
                if rc_d != rc_v:
                    shown["status"] = [rc_d, rc_v]   # drip's, valgrind's
                print("%-18s %-8s %-9s %s %s" % (prog, shape, var, "same" if same else "DIFF",
                      "" if same else shown or row.get("err")), flush=True)
            # valgrind's figures, once per shape
            print("%-18s %-8s valgrind  %s" % (prog, shape, figures(v)), flush=True)
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(jdir, ignore_errors=True)


if __name__ == "__main__":
    main()
