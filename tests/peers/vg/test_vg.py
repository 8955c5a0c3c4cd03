"""drip against the scenarios of valgrind memcheck's regression suite (memcheck/tests), each
written anew for drip as a small program in this directory.

Usage: test_vg.py CASE   (one ctest per case, label `peers`; `--list` names them)
Every case runs its program three ways on the same binary: plainly, under drip (LD_PRELOAD, the
text report to a log file, the JSON report to another) and under valgrind memcheck
(--leak-check=full --show-leak-kinds=all --run-libc-freeres=no, its XML). It asserts
  - behaviour: drip's run has the plain run's exit status, stdout and stderr (the report goes to
    its own file, so stderr must be byte for byte the program's own);
  - the report arrived whole: the JSON parses and the text log ends with its SUMMARY line;
  - drip's exact figures (definite, indirect, possible, reachable: bytes and blocks), and that
    valgrind's are the same, or the README's documented difference where drip differs on purpose.
Without valgrind a case still checks behaviour and drip's figures, then exits 77 (SKIPPED) so
the missing comparison is seen.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples"))
import driptest as dt  # noqa: E402
import vgreport as vg  # noqa: E402

KINDS = ("definite", "indirect", "possible", "reachable")
BIN = os.path.abspath(os.path.join(dt.BUILD, "bin", "peers_vg"))
NO_VALGRIND = []
# printf to a pipe: stdio's 4096-byte stdout buffer, reachable from libc's FILE (both tools)
STDOUT_BUF = 4096


def prog(name):
    return os.path.join(BIN, name)


def figures(report):
    return {k: dt.summary(report, k) for k in KINDS}


def F(definite=(0, 0), indirect=(0, 0), possible=(0, 0), reachable=(0, 0)):
    return {"definite": definite, "indirect": indirect, "possible": possible, "reachable": reachable}


def base_env(env):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "DRIP_OPTIONS", "DRIP_ROOT_PID"):
        e.pop(k, None)
    e.update(env or {})
    return e


def plain(cmd, env=None, timeout=60, stdin=None):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=base_env(env), stdin=stdin)
    return p.returncode, p.stdout, p.stderr


class Drip:
    """One run under drip: rc, out, err (bytes), the JSON report of the first process, every
    report by file (forks write FILE.<pid>), the text log."""

    def __init__(self, cmd, opts=(), env=None, timeout=60, stdin=None):
        d = tempfile.mkdtemp(prefix="drip-peers-vg-")
        self.json_path = os.path.join(d, "r.json")
        self.log_path = os.path.join(d, "r.log")
        e = base_env(env)
        e["LD_PRELOAD"] = dt.LIBDRIP
        e["DRIP_OPTIONS"] = ":".join(["json=" + self.json_path, "log_path=" + self.log_path] + list(opts))
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, stdin=stdin)
        self.out, self.err = p.communicate(timeout=timeout)
        self.rc, self.pid = p.returncode, p.pid
        self.reports = dt.load_reports(self.json_path)
        self.report = self.reports.get(self.json_path) or self.reports.get("%s.%d" % (self.json_path, p.pid))
        self.logs = {}
        for f in sorted(os.listdir(d)):
            if f.startswith("r.log"):
                with open(os.path.join(d, f), errors="replace") as fh:
                    self.logs[f] = fh.read()
        shutil.rmtree(d, ignore_errors=True)


def same_behaviour(name, cmd, d, env=None, stdin_data=None):
    """drip's run d did what the plain run of cmd does."""
    rc, out, err = plain(cmd, env=env, stdin=stdin_data)
    dt.eq(d.rc, rc, name + ": exit status as without drip")
    dt.eq(d.out, out, name + ": stdout as without drip")
    dt.eq(d.err, err, name + ": stderr as without drip (the report is in its own file)")
    return rc, out, err


def whole(name, d):
    dt.check(d.report is not None, name + ": drip wrote its JSON report")
    logs = list(d.logs.values())
    dt.check(bool(logs) and all("LEAK SUMMARY:" in t and t.rstrip().splitlines()[-1].startswith("SUMMARY: drip:")
                                for t in logs), name + ": the text report is whole (LEAK SUMMARY ... SUMMARY line)")


def valgrind(cmd, vg_args=(), env=None, timeout=300):
    if not shutil.which("valgrind"):
        NO_VALGRIND.append(cmd[0])
        return None, None
    e = base_env(env)
    return vg.run(cmd, timeout=timeout, extra=list(vg_args), env=e)


def scenario(name, cmd, want, vg_want=None, opts=(), vg_args=(), env=None, check_vg=True):
    """The whole comparison for one program: behaviour, a whole report, drip's figures == want,
    valgrind's == vg_want (default: want; a list: any one of its outcomes). Returns the drip run."""
    d = Drip(cmd, opts=opts, env=env)
    same_behaviour(name, cmd, d, env=env)
    whole(name, d)
    if d.report is None:
        print(d.err.decode(errors="replace")[-3000:])
        dt.finish()
    dt.eq(figures(d.report), want, name + ": drip's figures")
    if check_vg:
        rc_v, v = valgrind(cmd, vg_args=vg_args, env=env)
        if v is not None and isinstance(vg_want, list):
            dt.check(figures(v) in vg_want, name + ": valgrind's figures on the same binary: got %r, want one of %r"
                     % (figures(v), vg_want))
        elif v is not None:
            dt.eq(figures(v), vg_want or want, name + ": valgrind's figures on the same binary")
    return d


def vg_stdout(cmd):
    """The program's stdout under valgrind (None without valgrind)."""
    if not shutil.which("valgrind"):
        NO_VALGRIND.append(cmd[0])
        return None
    p = subprocess.run(["valgrind", "-q", "--leak-check=no"] + cmd, capture_output=True, text=True, timeout=300,
                       env=base_env(None))
    return p.stdout


def done():
    if NO_VALGRIND:
        dt.skip("valgrind is not installed: drip's side checked, the comparison not made")


# ---- leak classification ----------------------------------------------------------------------

def case_chains():
    """memcheck leak-cases: the nine root -> A -> B chains."""
    scenario("chains", [prog("chains")], F((48, 3), (32, 2), (96, 6), (64 + STDOUT_BUF, 5)))
    done()


def case_cycles():
    """memcheck leak-cycle: lost rings; the definite block of each is the one valgrind picks."""
    scenario("cycles", [prog("cycles")], F((40 + 80 + 88, 3), (48 + 56 + 64 + 72 + 96 + 104 + 112, 7),
                                           (120 + 128, 2), (136 + 144 + STDOUT_BUF, 3)))
    done()


def case_tree():
    """memcheck leak-tree: a tree with a subtree lost, one held through its middle, a node freed."""
    scenario("tree", [prog("tree")], F((26, 1), (98, 3), (103, 3), (225 + STDOUT_BUF, 8)))
    done()


def case_leakotron():
    """memcheck leakotron: a loop that loses most of what it allocates."""
    scenario("leakotron", [prog("leakotron")], F((424629, 849), reachable=(5500 + STDOUT_BUF, 11)))
    done()


def case_segv_jmp():
    """memcheck leak-segv-jmp: SIGSEGV caught, siglongjmp; a pointer in a PROT_NONE page."""
    scenario("segv_jmp", [prog("segv_jmp")], F((350, 3), reachable=(300 + STDOUT_BUF, 2)))
    done()


def case_zero():
    """memcheck leak-0: zero-sized blocks (lost and kept) and pointers to a block's last byte and
    one past its end."""
    scenario("zero", [prog("zero")], F((24, 4), possible=(16, 1), reachable=(32, 2)))
    done()


def case_delta():
    """memcheck leak-delta: a leak check around one piece of code, drip's check scope against
    valgrind's VALGRIND_DO_ADDED_LEAK_CHECK on the same binary: the blocks the piece left (lost
    and kept) and their bytes."""
    if not os.path.exists(prog("delta")):
        dt.skip("valgrind/memcheck.h was not found at build time (the valgrind package)")
    d = Drip([prog("delta")])
    dt.eq(d.out, b"drip: 150 bytes in 5 blocks\n", "delta: drip's scope counts what the piece left")
    dt.eq(figures(d.report), F((60, 3), reachable=(90 + STDOUT_BUF, 3)), "delta: the exit report")
    v = vg_stdout([prog("delta")])
    if v is not None:
        dt.eq(v, "valgrind: 150 bytes in 5 blocks\n", "delta: valgrind's added leak check counts the same")
    done()


# ---- the allocator's answers ------------------------------------------------------------------

ALLOCS_LEFT = F((33, 1), reachable=(44 + STDOUT_BUF, 2))


def case_allocs_memalign():
    """memcheck memalign_test, memalign2, posix_memalign, aligned_alloc: every answer as glibc's."""
    scenario("allocs memalign", [prog("allocs"), "memalign"], ALLOCS_LEFT)
    done()


def case_allocs_hugealign():
    """An alignment of 2^62 (glibc: ENOMEM) and pvalloc: valgrind 3.19 panics on the first and
    aborts the program on the second, so only the plain run is the reference."""
    d = scenario("allocs hugealign", [prog("allocs"), "hugealign"], ALLOCS_LEFT, check_vg=False)
    dt.check(b"pvalloc(10)                  ok aligned=1\n" in d.out, "allocs hugealign: pvalloc answers under drip")
    if shutil.which("valgrind"):
        p = subprocess.run(["valgrind", "-q", prog("allocs"), "hugealign"], capture_output=True, text=True, timeout=300,
                           env=base_env(None))
        dt.check(p.returncode != 0 and "pvalloc(10)" not in p.stdout,
                 "allocs hugealign: valgrind 3.19 does not run it through (README)")
    done()


def case_allocs_realloc():
    """memcheck realloc1, realloc2, realloc3: realloc's answers, the failing realloc keeps its block."""
    scenario("allocs realloc", [prog("allocs"), "realloc"], ALLOCS_LEFT)
    done()


def case_allocs_calloc():
    """memcheck calloc-overflow: calloc's overflow check, huge requests, errno (glibc sets ENOMEM
    where valgrind 3.19 leaves errno 0: drip's run prints glibc's answer)."""
    d = scenario("allocs calloc", [prog("allocs"), "calloc"], ALLOCS_LEFT)
    dt.check(b"calloc(2^33, 2^33)           NULL errno=12\n" in d.out, "allocs calloc: glibc's ENOMEM under drip")
    v = vg_stdout([prog("allocs"), "calloc"])
    if v is not None:
        dt.check("calloc(2^33, 2^33)           NULL errno=0\n" in v, "allocs calloc: valgrind leaves errno 0 (README)")
    done()


def case_allocs_usable():
    """memcheck malloc_usable: malloc_usable_size as glibc answers it (valgrind answers the size
    asked for: the behaviour is compared with the plain run)."""
    d = scenario("allocs usable", [prog("allocs"), "usable"], ALLOCS_LEFT)
    dt.check(b"usable(malloc(1)) = 24\n" in d.out, "allocs usable: glibc's size class under drip")
    v = vg_stdout([prog("allocs"), "usable"])
    if v is not None:
        dt.check("usable(malloc(1)) = 1\n" in v, "allocs usable: valgrind answers the size asked for (README)")
    done()


def case_allocs_mallinfo():
    """memcheck mallinfo, mallinfo2: glibc's arena figures are not moved by drip's own memory
    (valgrind answers zeros)."""
    d = scenario("allocs mallinfo", [prog("allocs"), "mallinfo"], ALLOCS_LEFT)
    dt.check(b"arena 0 135168 135168\n" in d.out, "allocs mallinfo: glibc's arena under drip")
    v = vg_stdout([prog("allocs"), "mallinfo"])
    if v is not None:
        dt.check("arena 0 0 0\n" in v, "allocs mallinfo: valgrind answers zeros (README)")
    done()


def case_allocs_fill():
    """memcheck malloc_free_fill: a free leaves its neighbours alone; calloc zeroes."""
    scenario("allocs fill", [prog("allocs"), "fill"], ALLOCS_LEFT)
    done()


# ---- frees glibc refuses ----------------------------------------------------------------------

def badfree(mode, want):
    cmd = [prog("badfree"), mode]
    d = Drip(cmd)
    same_behaviour("badfree " + mode, cmd, d)
    dt.eq(d.rc, -6, "badfree %s: glibc aborts the program (SIGABRT), under drip too" % mode)
    whole("badfree " + mode, d)
    if d.report:
        dt.eq(figures(d.report), want, "badfree %s: drip's figures at the abort" % mode)


def case_badfree_double():
    """memcheck doublefree: glibc's tcache check aborts; drip's report still arrives."""
    badfree("double", F((70, 1), reachable=(90 + STDOUT_BUF, 2)))


def case_badfree_double_big():
    badfree("double_big", F((70, 1), reachable=(2090 + STDOUT_BUF, 3)))


def case_badfree_stack():
    """memcheck badfree: free of a stack address."""
    badfree("stack", F((70, 1), reachable=(90 + STDOUT_BUF, 2)))


def case_badfree_interior():
    badfree("interior", F((70, 1), reachable=(154 + STDOUT_BUF, 3)))


def case_badfree_static():
    badfree("static", F((70, 1), reachable=(90 + STDOUT_BUF, 2)))


def case_fatal_segv():
    """memcheck's tests of a program killed by a signal: SIGSEGV after the leaks. Both tools
    check for leaks before the program dies; drip dies of the same signal, its report whole."""
    cmd = [prog("badfree"), "segv"]
    d = scenario("segv", cmd, F((70, 1), reachable=(90 + STDOUT_BUF, 2)))
    dt.eq(d.rc, -11, "segv: killed by SIGSEGV under drip as without it")
    done()


# ---- signals, allocators of the program's own ---------------------------------------------------

def case_altstack():
    """memcheck sigaltstack: a handler on a malloc'ed alternate stack. Its frame stays in the
    block after it returns: the 24-byte block a handler local pointed at is indirectly lost
    through the lost stack block under drip, definitely lost under valgrind, which knows the
    popped frame is dead (README: where drip's verdicts differ)."""
    # valgrind itself, now and then (seen once in CI's run, never in 60 runs here), finds a word
    # pointing inside the alternate stack at exit: the stack block is then possibly lost, and the
    # 24-byte block, which only the (popped) frame in it pointed at, definitely lost
    scenario("altstack", [prog("altstack")], F((65536, 1), (24, 1), reachable=(48 + STDOUT_BUF, 2)),
             vg_want=[F((65536 + 24, 2), reachable=(48 + STDOUT_BUF, 2)),
                      F((24, 1), possible=(65536, 1), reachable=(48 + STDOUT_BUF, 2))])
    done()


def own_allocator(name, cmd, defines, vg_want):
    d = Drip(cmd)
    same_behaviour(name, cmd, d)
    r = d.report
    dt.check(r is not None and r.get("summary") is None and r.get("classification") == "unavailable",
             name + ": drip says it cannot classify what it cannot see (no summary)")
    dt.eq((r or {}).get("own_allocator", {}).get("defines"), defines, name + ": and names what the program defines")
    dt.check(any("brings its own allocator" in t for t in d.logs.values()), name + ": in one line of the text report")
    rc_v, v = valgrind(cmd)
    if v is not None:
        dt.eq(figures(v), vg_want, name + ": valgrind replaces the program's own malloc and counts its blocks")


def case_own_malloc():
    """memcheck static_malloc: the program defines the malloc family over a static arena. It runs
    as without drip; drip reports no figures and says why. Valgrind replaces the program's
    allocator with its own and reports the blocks (README: where drip's verdicts differ)."""
    own_allocator("own_malloc", [prog("own_malloc")], "malloc, free, calloc, realloc",
                  F((200, 2), reachable=(STDOUT_BUF, 1)))
    done()


def case_wrap_malloc():
    """memcheck wrap*: the program's own malloc/free over __libc_malloc/__libc_free (a counting
    shim). drip tracks the shim's blocks through glibc's second names (hooks.c, foreign.c), as
    valgrind does through its replacements in libc: the same figures."""
    d = scenario("wrap_malloc", [prog("wrap_malloc")], F((300, 3), reachable=(200 + STDOUT_BUF, 2)))
    dt.eq(d.report.get("own_allocator"), None, "wrap_malloc: a report, not the own-allocator line")
    done()


def case_pool():
    """memcheck custom_alloc, mempool (without client requests): objects carved from malloc'ed
    chunks; both tools see the chunks, and what the objects point at through them."""
    scenario("pool", [prog("pool")], F((8, 1), (14224, 152), reachable=(15920, 153)))
    done()


# ---- C++ ---------------------------------------------------------------------------------------

def case_new_override():
    """memcheck new_override: the program's own operator new/delete over malloc/free."""
    d = scenario("newdel override", [prog("newdel"), "override"], F((120, 3), reachable=(40 + STDOUT_BUF, 2)))
    dt.eq(d.out, b"new 4 new[] 1 delete 1 delete[] 0\n", "newdel override: the program's operators ran, each once")
    done()


def case_sized_delete():
    """memcheck sized_delete: sized delete and delete[] free what they are given."""
    scenario("newdel sized", [prog("newdel"), "sized"], F((56, 1), reachable=(56 + STDOUT_BUF, 2)))
    done()


def case_aligned_new():
    """memcheck cxx17_aligned_new: aligned new/delete, scalar, array, nothrow, sized."""
    d = scenario("newdel aligned", [prog("newdel"), "aligned"], F((128, 1), reachable=(4096 + STDOUT_BUF, 2)))
    dt.eq(d.out, b"A64 aligned: 1\nA4K[] aligned: 1\n", "newdel aligned: the alignments asked for")
    done()


def case_mismatch():
    """memcheck mismatches: new/free, malloc/delete, new[]/delete (glibc does not notice; valgrind
    reports mismatched frees, drip follows glibc: every block freed)."""
    scenario("newdel mismatch", [prog("newdel"), "mismatch"], F((16, 1), reachable=(STDOUT_BUF, 1)))
    done()


# ---- threads, processes ------------------------------------------------------------------------

def case_threads():
    """memcheck pth_*: a returned block, a lost one, pthread_once, keys with and without a
    destructor, a detached thread. Equal but for the three cached thread stacks' DTVs (possibly
    lost in both): drip's are 16 bytes larger (README: libdrip.so brings TLS; libunwind is not
    loaded here). Before drip left an attribute without a stack size alone, the detached thread
    missed glibc's stack cache and a fourth DTV showed."""
    scenario("threads", [prog("threads")], F((300, 3), possible=(3 * 288, 3), reachable=(96 + STDOUT_BUF, 3)),
             vg_want=F((300, 3), possible=(3 * 272, 3), reachable=(96 + STDOUT_BUF, 3)))
    done()


def case_fork():
    """memcheck fork: the parent's report equals valgrind's (its child silent after fork); the
    child's report lists what the child allocated (README: a forked child's report)."""
    cmd = [prog("procs"), "fork"]
    d = scenario("fork", cmd, F((11 + 44, 2), reachable=(22 + STDOUT_BUF, 2)), vg_args=["--child-silent-after-fork=yes"])
    kids = [r for k, r in d.reports.items() if k != d.json_path and r.get("pid") != d.pid]
    dt.eq([figures(r) for r in kids], [F((33, 1))], "fork: the child's own report: the 33 bytes it lost")
    dt.eq(d.out, b"fork: child status 768 exited 3\n", "fork: the parent saw the child's exit status")
    done()


def case_vfork():
    """memcheck vfork: the vfork child execs /bin/echo, whose output arrives as without drip."""
    d = scenario("vfork", [prog("procs"), "vfork"], F((11, 1), reachable=(22 + STDOUT_BUF, 2)))
    dt.eq(d.out, b"from the child\nvfork: child status 0 exited 0\n", "vfork: the exec'd program's output, then the parent's")
    done()


def case_clone():
    """memcheck clone: a raw clone(CLONE_VM) child on a malloc'ed stack stores a block."""
    scenario("clone", [prog("procs"), "clone"], F((11, 1), reachable=(22 + 55 + STDOUT_BUF, 3)))
    done()


def case_exec_bad():
    """memcheck execve, execve2: exec with pointers the kernel refuses fails with EFAULT under
    drip as without it (drip used to read the bad path or environment first and die of SIGSEGV).
    Valgrind 3.19 cannot run this program ("EXEC FAILED: I can't recover from execve() failing")."""
    cmd = [prog("exec_bad")]
    d = Drip(cmd)
    same_behaviour("exec_bad", cmd, d)
    dt.check(b"bad envp               rc=-1 errno=EFAULT" in d.out, "exec_bad: a bad envp fails with EFAULT")
    dt.check(d.out.endswith(b"exec'd with no arguments\n"), "exec_bad: the final exec ran the program again")
    logs = "".join(d.logs.values())
    dt.check("with a cleared environment" in logs, "exec_bad: the untraceable exec is said in the log, not on stderr")
    if shutil.which("valgrind"):
        p = subprocess.run(["valgrind", "-q"] + cmd, capture_output=True, text=True, timeout=300, env=base_env(None))
        dt.check("EXEC FAILED" in p.stderr and p.returncode != 0, "exec_bad: valgrind 3.19 dies at the first failing execve (README)")


def case_brk():
    """memcheck sbrk, brk2: the program moves the break itself. It sees the same answers under
    drip; a pointer it keeps in its own sbrk'ed memory is a root for valgrind, not for drip, which
    cannot tell that memory from glibc's heap (README: where drip's verdicts differ)."""
    scenario("brk", [prog("brk")], F((66 + 77, 2), reachable=(STDOUT_BUF, 1)),
             vg_want=F((66, 1), reachable=(77 + STDOUT_BUF, 2)))
    done()


def case_maps():
    """memcheck mmap scenarios: pointers in anonymous, remapped, partly unmapped, read-only,
    PROT_NONE, unmapped and overmapped pages: the same roots in both (a read-only anonymous page
    is none: valgrind scans writable ones)."""
    scenario("maps", [prog("maps")], F((104 + 105 + 106 + 107, 4), reachable=(101 + 102 + 103 + STDOUT_BUF, 4)))
    done()


# ---- suppressions ------------------------------------------------------------------------------

SUPP = os.path.join(HERE, "supp.supp")


def case_supp_valgrind():
    """memcheck supp1, supp2, supp_unknown: one valgrind-format file (mangled names, `...`,
    `?`, obj:, match-leak-kinds, a glibc alias, entries of other kinds) read by both tools: the
    same records suppressed, the same figures left."""
    cmd = [prog("supp")]
    d = scenario("supp", cmd, F((70, 1), possible=(64, 1), reachable=(STDOUT_BUF, 1)),
                 opts=["suppressions=" + SUPP], vg_args=["--suppressions=" + SUPP])
    dt.eq(dt.summary(d.report, "suppressed"), (48 + 16 + 90 + 24 + 32, 5), "supp: drip's suppressed figure")
    took = sorted(set(r.get("suppressed_by") for r in d.report["leaks"] if r.get("suppressed_by")))
    dt.eq(took, ["list_head_only", "reachable_by_object", "strdup_through_malloc", "widget_by_mangled_names"],
          "supp: the entries that took records, by name")
    # the same file through valgrind's command line (drip [valgrind options] prog)
    log = tempfile.mktemp(prefix="drip-peers-vg-", suffix=".log")
    p = subprocess.run([dt.DRIP, "-q", "--leak-check=full", "--suppressions=" + SUPP, "--log-file=" + log] + cmd,
                       capture_output=True, text=True, timeout=60)
    text = open(log).read() if os.path.exists(log) else ""
    if os.path.exists(log):
        os.unlink(log)
    dt.eq((p.returncode, p.stderr), (0, ""), "supp: drip --suppressions=FILE (valgrind's command line) runs quietly")
    dt.check("suppressed: 210 bytes in 5 blocks" in text, "supp: valgrind's command line uses the file too")
    done()


def case_gen_suppressions():
    """memcheck's --gen-suppressions=all: through valgrind's command line drip prints valgrind
    blocks (a `...` for valgrind's allocation frame, then the record's frames); pasted into a
    file they suppress the same records under valgrind and under drip (a C program: valgrind
    compares fun: with mangled names)."""
    cmd = [prog("tree")]
    d = tempfile.mkdtemp(prefix="drip-peers-vg-")
    try:
        log = os.path.join(d, "gen.log")
        subprocess.run([dt.DRIP, "-q", "--leak-check=full", "--gen-suppressions=all", "--log-file=" + log] + cmd,
                       capture_output=True, timeout=60)
        text = open(log).read()
        blocks = re.findall(r"^\{\n.*?^\}\n", text, re.M | re.S)
        dt.eq(len(blocks), 3, "gen_suppressions: one block per definite, indirect and possible record")
        dt.check(bool(blocks) and blocks[0].startswith("{\n   <insert_a_suppression_name_here>\n   Memcheck:Leak\n"
                                                       "   match-leak-kinds: definite\n   ...\n   fun:build\n   fun:main\n}"),
                 "gen_suppressions: valgrind's block: " + (blocks[0] if blocks else ""))
        supp = os.path.join(d, "gen.supp")
        with open(supp, "w") as f:
            f.write("".join(blocks))
        want = F(reachable=(225 + STDOUT_BUF, 8))
        r = scenario("gen_suppressions", cmd, want, opts=["suppressions=" + supp], vg_args=["--suppressions=" + supp])
        dt.eq(dt.summary(r.report, "suppressed"), (26 + 98 + 103, 7), "gen_suppressions: drip suppressed the three records")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    done()


def case_supp_bad():
    """A valgrind entry drip cannot read is an error with its line, as valgrind makes it."""
    bad = tempfile.mktemp(prefix="drip-peers-vg-", suffix=".supp")
    with open(bad, "w") as f:
        f.write("{\n   x\n   Memcheck:Leak\n   fun:malloc\n   bogus:line\n}\n")
    p = subprocess.run([dt.DRIP, "run", "--suppressions", bad, "--", prog("supp")], capture_output=True, text=True,
                       timeout=60)
    os.unlink(bad)
    dt.eq(p.returncode, 2, "supp_bad: drip run refuses the file")
    dt.check("line 5: valgrind suppression: expected fun:, obj:, src: or '...', got 'bogus:line'" in p.stderr,
             "supp_bad: one line naming the bad line: " + p.stderr.strip())


# ---- the exit status ---------------------------------------------------------------------------

def case_error_exitcode():
    """memcheck's error-exitcode and errors-for-leak-kinds: valgrind's --error-exitcode counts
    leaks of the kinds --errors-for-leak-kinds names (default definite,possible) in a full leak
    check only. `drip [valgrind options]` exits as valgrind does (it used to count definite and
    indirect leaks in any check); `drip run` keeps its own default (definite and indirect) and
    takes --error-kinds."""
    cmd = [prog("possible")]
    for flags, want in (([], 0), (["--leak-check=full"], 9), (["--leak-check=yes", "--errors-for-leak-kinds=definite"], 0),
                        (["--leak-check=full", "--errors-for-leak-kinds=all"], 9), (["--leak-check=summary"], 0)):
        p = subprocess.run([dt.DRIP, "-q", "--error-exitcode=9"] + flags + cmd, capture_output=True, timeout=60)
        if shutil.which("valgrind"):
            v = subprocess.run(["valgrind", "-q", "--error-exitcode=9"] + flags + cmd, capture_output=True, timeout=300)
            dt.eq(p.returncode, v.returncode, "error_exitcode %s: drip's status is valgrind's" % " ".join(flags))
        dt.eq(p.returncode, want, "error_exitcode %s: the status" % " ".join(flags))
    for kinds, want in (("", 0), ("possible", 9), ("definite+possible", 9), ("none", 0)):
        d = Drip(cmd, opts=["error_exitcode=9"] + (["error_kinds=" + kinds] if kinds else []))
        dt.eq(d.rc, want, "error_kinds=%s: drip run's status" % (kinds or "(default: definite+indirect)"))
    p = subprocess.run([dt.DRIP, "run", "--error-kinds", "possibl", "--"] + cmd, capture_output=True, text=True, timeout=60)
    dt.eq(p.returncode, 2, "error_kinds: a misspelt kind is refused")
    done()


# ---- valgrind's XML ----------------------------------------------------------------------------

def case_xml():
    """memcheck's XML tests (xml1, leak-xml): `drip --xml=yes --xml-file=F prog` writes valgrind's
    XML (protocol 4), which valgrind's own parser in tests/examples/vgreport.py reads: the same
    figures as drip's JSON report and valgrind's XML on the same binary; with %p in F, a forked
    child's XML too, in its own file."""
    cmd = [prog("chains")]
    d = tempfile.mkdtemp(prefix="drip-peers-vg-")
    try:
        xml = os.path.join(d, "out.%p.xml")
        p = subprocess.run([dt.DRIP, "-q", "--leak-check=full", "--show-leak-kinds=all", "--xml=yes",
                            "--xml-file=" + xml, "--log-file=" + os.path.join(d, "log")] + cmd,
                           capture_output=True, timeout=60, env=base_env(None))
        rc, out, err = plain(cmd)
        dt.eq((p.returncode, p.stdout, p.stderr), (rc, out, err), "xml: status, stdout and stderr as without drip")
        files = [f for f in os.listdir(d) if f.startswith("out.") and f.endswith(".xml")]
        dt.eq(len(files), 1, "xml: one XML file, %p named by the pid")
        r = vg.parse(os.path.join(d, files[0])) if files else None
        want = F((48, 3), (32, 2), (96, 6), (64 + STDOUT_BUF, 5))
        dt.eq(figures(r) if r else None, want, "xml: valgrind's XML parser reads drip's figures")
        text = open(os.path.join(d, files[0])).read() if files else ""
        dt.check("<protocolversion>4</protocolversion>" in text and "<kind>Leak_DefinitelyLost</kind>" in text,
                 "xml: protocol 4, valgrind's kind names")
        dt.check("<fn>build</fn>" in text and "<file>chains.c</file>" in text, "xml: frames with fn, file")
        rc_v, v = valgrind(cmd)
        if v is not None:
            dt.eq(figures(v), want, "xml: valgrind's own XML on the same binary")
        # without --log-file, as valgrind in XML mode: nothing of the report on stderr
        p = subprocess.run([dt.DRIP, "-q", "--leak-check=full", "--xml=yes", "--xml-file=" + os.path.join(d, "b.xml")] + cmd,
                           capture_output=True, timeout=60, env=base_env(None))
        dt.eq((p.returncode, p.stdout, p.stderr), (rc, out, err), "xml: no --log-file: stderr as without drip")
        dt.check(os.path.exists(os.path.join(d, "b.xml")), "xml: the XML written")
        p = subprocess.run([dt.DRIP, "--xml=yes"] + cmd, capture_output=True, text=True, timeout=60)
        dt.eq((p.returncode, p.stderr.strip()), (2, "drip: --xml=yes needs --xml-file=FILE (where valgrind's XML goes)"),
              "xml: --xml=yes without a file is an error")
        # a forked child: with %p in the name, one XML file a process, as valgrind writes them
        fork = [prog("procs"), "fork"]
        fd = os.path.join(d, "fork")
        os.mkdir(fd)
        p = subprocess.run([dt.DRIP, "-q", "--leak-check=full", "--show-leak-kinds=all", "--xml=yes",
                            "--xml-file=" + os.path.join(fd, "f.%p.xml")] + fork,
                           capture_output=True, timeout=60, env=base_env(None))
        dt.eq(p.returncode, 0, "xml fork: status as without drip")
        names = sorted(os.listdir(fd))
        dt.eq(len(names), 2, "xml fork: an XML file from the parent and one from the child: %r" % names)
        xmls = {int(n.split(".")[1]): vg.parse(os.path.join(fd, n)) for n in names if n.split(".")[1].isdigit()}
        if len(xmls) == 2:
            parent, child = (xmls[k] for k in sorted(xmls))
            dt.eq(figures(parent), F((11 + 44, 2), reachable=(22 + STDOUT_BUF, 2)), "xml fork: the parent's figures")
            dt.eq(figures(child), F((33, 1)), "xml fork: the child's own figures")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    done()


if __name__ == "__main__":
    dt.main(globals())
