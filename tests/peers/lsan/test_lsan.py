"""LeakSanitizer's public test scenarios (compiler-rt/test/lsan/TestCases, Linux/, and the lsan
parts of asan's), each rewritten as drip's own small program in this directory, run three ways
on the same binary: plain, under drip, and under valgrind memcheck (--leak-check=full
--show-leak-kinds=all --run-libc-freeres=no).

Usage: test_lsan.py CASE   (one ctest per case, label `peers`; `--list` names them)

Each case asserts drip's exact figures (definite, indirect, possible, reachable: bytes and
blocks), that the program's exit status and stdout under drip equal the plain run's, and, where
it means something, that valgrind's figures are drip's. `LSAN` in each case says what LSan's own
test expects (its CHECK lines); where drip and LSan disagree, the README's differences section
says why and names the case. Cases that need valgrind are SKIPPED without it; the cases of LSan's
interface (__lsan_ignore_object ...) compare with the plain run only, as valgrind has no such
interface (the program then says so and exits 3).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "verdicts"))
import test_verdicts as tv  # noqa: E402
from test_verdicts import dt, vg  # noqa: E402

BIN = os.path.abspath(os.path.join(dt.BUILD, "bin", "peers", "lsan"))
LIB = os.path.join(BIN, "libdl_lib.so")
KINDS = tv.KINDS
NONE = (0, 0)


def prog(name, *args):
    return [os.path.join(BIN, name)] + list(args)


def plain(cmd, timeout=120):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)


def under_drip(cmd, drip_opts=(), timeout=120):
    """cmd under drip, in the environment valgrind gives its client (test_verdicts.equal_envs):
    (exit status, stdout, stderr, JSON report)."""
    _, env, path = tv.equal_envs({}, drip_opts)
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err, tv.drip_report(path, p.pid)


class Dtv:
    """n glibc DTVs (a thread's dynamic TLS vector, possibly lost: README), in a figure. Its size
    is (modules with TLS + 16) * 16 bytes: the program's, libdrip.so's, and libunwind's when
    drip has loaded it by the time the thread starts (it loads it on demand)."""

    def __init__(self, n, extra=NONE):
        self.n, self.extra = n, extra

    def sizes(self, cmd):
        mods, _ = tv.tls_modules(cmd[0])
        return [(mods + 1 + k + 16) * 16 for k in (0, 1)]

    def matches(self, fig, cmd):
        return any(fig == (self.n * s + self.extra[0], self.n + self.extra[1]) for s in self.sizes(cmd))


def want_figures(name, r, want, cmd=None):
    """want: {kind: (bytes, blocks) or Dtv}; a kind left out must be (0, 0)."""
    got = tv.figures(r)
    full = {k: want.get(k, NONE) for k in KINDS}
    for k, w in full.items():
        if isinstance(w, Dtv):
            ok = w.matches(got[k], cmd)
            dt.check(ok, "%s: %s is %d DTV(s) of %s bytes: %r" % (name, k, w.n, " or ".join(map(str, w.sizes(cmd))), got[k]))
            full[k] = got[k] if ok else None
    dt.eq(got, full, name + ": drip's figures")


def scenario(name, cmd, want, lsan_leaks, vg_kinds=KINDS, vg_want=None, drip_opts=(), lsan_differs=False):
    """The common case: plain, drip, valgrind. want: drip's figures; lsan_leaks: whether LSan's
    test expects a leak report (drip agrees where its definite+indirect is nonzero, unless
    lsan_differs: a difference the README's table gives); vg_kinds: the kinds that must equal
    valgrind's; vg_want: valgrind's own figures where they differ."""
    p = plain(cmd)
    rc, out, err, r = under_drip(cmd, drip_opts)
    dt.check(r is not None, name + ": drip wrote its JSON report")
    if r is None:
        print(err[-3000:])
        dt.finish()
    dt.eq(rc, p.returncode, name + ": exit status as the plain run's")
    dt.eq(out, p.stdout, name + ": stdout as the plain run's")
    want_figures(name, r, want, cmd)
    leaked = (r["summary"]["definite"]["blocks"] + r["summary"]["indirect"]["blocks"]) > 0
    if lsan_differs:
        dt.eq(leaked, not lsan_leaks, name + ": drip's verdict is not LSan's (docs/run.md: where drip and LeakSanitizer differ)")
    else:
        dt.eq(leaked, lsan_leaks, name + ": a leak found, as LSan's test expects")
    if not shutil.which("valgrind"):
        dt.skip("valgrind is not installed: drip's figures checked, valgrind's not")
    vg_env, _, _ = tv.equal_envs({}, ())
    rc_v, v = vg.run(cmd, timeout=300, env=vg_env)
    dt.eq(rc_v, p.returncode, name + ": valgrind's run exits as the plain one")
    for k in vg_kinds:
        dt.eq(dt.summary(v, k), dt.summary(r, k), name + ": valgrind's %s as drip's" % k)
    if vg_want:
        for k, fig in vg_want.items():
            dt.eq(dt.summary(v, k), fig, name + ": valgrind's %s (where it differs from drip)" % k)
    return r, v


def drip_only(name, cmd, want, plain_out, plain_rc=3, drip_opts=(), want_out=None, want_rc=0):
    """LSan's interface: the plain run has none (the program says so: plain_out, plain_rc);
    under drip it runs the scenario. Returns (stdout, stderr, report)."""
    p = plain(cmd)
    dt.eq((p.returncode, p.stdout), (plain_rc, plain_out), name + ": the plain run has no LSan interface")
    rc, out, err, r = under_drip(cmd, drip_opts)
    dt.check(r is not None, name + ": drip wrote its JSON report")
    if r is None:
        print(err[-3000:])
        dt.finish()
    dt.eq(rc, want_rc, name + ": exit status under drip")
    if want_out is not None:
        dt.eq(out, want_out, name + ": stdout under drip")
    want_figures(name, r, want, cmd)
    return out, err, r


STDOUT = (4096, 1)   # stdout's buffer, reachable


def plus(*figs):
    return (sum(f[0] for f in figs), sum(f[1] for f in figs))


# ---- roots: globals, stacks, TLS (use_globals_*, use_stacks, stale_stack_leak, use_tls_*) -----

def case_global_data():
    """LSAN use_globals_initialized: no leak (a pointer in an initialised global)."""
    scenario("global_data", prog("roots", "global_data"), {"reachable": plus((1337, 1), STDOUT)}, False)


def case_global_bss():
    """LSAN use_globals_uninitialized: no leak (.bss)."""
    scenario("global_bss", prog("roots", "global_bss"), {"reachable": plus((1338, 1), STDOUT)}, False)


def case_stack_live():
    """LSAN use_stacks: no leak (the pointer in main's frame, live while exit runs)."""
    scenario("stack_live", prog("roots", "stack_live"), {"reachable": plus((1339, 1), STDOUT)}, False)


def case_stack_stale():
    """LSAN stale_stack_leak: a leak (the only pointer is in a frame that has returned)."""
    scenario("stack_stale", prog("roots", "stack_stale"), {"definite": (1340, 1), "reachable": STDOUT}, True)
    # LSan's exitcode=23 habit: drip's --error-exitcode
    rc, _, _, r = under_drip(prog("roots", "stack_stale"), ("error_exitcode=23",))
    dt.eq(rc, 23, "stack_stale: error_exitcode=23 gives LSan's exit status")


def case_main_frame_stale():
    """LSAN Linux/exit_atexit_stale_stack (implicit exit): the only pointer in main's own frame,
    dead once main returns: a leak of 100 bytes."""
    scenario("main_frame_stale", prog("roots", "main_stale"), {"definite": (100, 1), "reachable": STDOUT}, True)


def case_prot_none():
    """LSAN Linux/leak_check_segv: 16 KiB made PROT_NONE inside a 10 MiB block and inside a
    global array. LSan's tracer dies there (its test expects the fatal error); drip and valgrind
    read around the holes: the blocks on both sides of the block's hole are found, nothing lost."""
    scenario("prot_none", prog("roots", "prot_none"), {"reachable": plus((10 << 20, 1), (1347, 1), (1348, 1), STDOUT)}, False)


def case_tls_static():
    """LSAN use_tls_static: no leak (__thread in the main thread)."""
    scenario("tls_static", prog("roots", "tls_static"), {"reachable": plus((1341, 1), STDOUT)}, False)


def case_tls_key_low():
    """LSAN use_tls_pthread_specific_static: no leak (a key glibc keeps in the thread descriptor)."""
    scenario("tls_key_low", prog("roots", "key_low"), {"reachable": plus((1342, 1), STDOUT)}, False)


def case_tls_key_high():
    """LSAN use_tls_pthread_specific_dynamic: no leak (key >= 32: glibc's second-level block,
    512 bytes, itself reachable)."""
    scenario("tls_key_high", prog("roots", "key_high"), {"reachable": plus((1342, 1), (512, 1), STDOUT)}, False)


def case_tls_dynamic():
    """LSAN use_tls_dynamic (and a dlopen'ed library's globals): no leak while it is loaded. The
    possibly-lost block is ld.so's (the same under valgrind). Three of ld.so's reachable blocks
    hold the library's path, so their size follows the build directory's."""
    r, v = scenario("tls_dynamic", prog("dl", "open", LIB),
                    {"possible": (2304, 1), "reachable": plus((5001, 1), (5002, 1), (5483 + 3 * len(LIB), 7))}, False)


def case_dlclose():
    """A library's global after dlclose: LSan and valgrind report its block lost."""
    scenario("dlclose", prog("dl", "close", LIB),
             {"definite": (5001, 1), "possible": (2304, 1), "reachable": plus((5002, 1), (4104, 2))}, True)


def case_pointer_to_self():
    """LSAN pointer_to_self: a leak (a block that points to itself)."""
    scenario("pointer_to_self", prog("roots", "self"), {"definite": (1343, 1), "reachable": STDOUT}, True)


def case_unaligned():
    """LSAN use_unaligned (its default use_unaligned=0): a leak; words are read 8-aligned."""
    scenario("unaligned", prog("roots", "unaligned"), {"definite": (1344, 1), "reachable": STDOUT}, True)


def case_large():
    """LSAN large_allocation_leak: a 20 MiB block (mmapped by malloc) lost."""
    r, v = scenario("large", prog("roots", "large"), {"definite": (20 << 20, 1), "reachable": STDOUT}, True,
                    vg_kinds=("indirect", "reachable"))
    # valgrind calls the 20 MiB block definitely lost in some runs and possibly lost in most (a
    # stale word of its own layout falls inside so large a block): lost either way, never kept
    if v is not None:
        lost = [dt.summary(v, k) for k in ("definite", "possible")]
        dt.eq(plus(*lost), (20 << 20, 1), "large: valgrind's definite + possible, the one lost block")


def case_large_kept():
    scenario("large_kept", prog("roots", "large_kept"), {"reachable": plus((18 << 20, 1), STDOUT)}, False)


def case_libc_internals():
    """getpwnam, getgrgid, localtime, setlocale, setenv (LSan's getpwnam and libc tests): libc's
    caches are never a leak; valgrind reaches the same blocks."""
    cmd = prog("roots", "libc")
    p = plain(cmd)
    rc, out, err, r = under_drip(cmd)
    dt.eq((rc, out), (p.returncode, p.stdout), "libc_internals: exit status and stdout as the plain run's")
    for k in ("definite", "indirect", "possible"):
        dt.eq(dt.summary(r, k), NONE, "libc_internals: nothing %s" % k)
    dt.check(dt.summary(r, "reachable")[1] > 1, "libc_internals: libc's caches are reachable: %r" % (dt.summary(r, "reachable"),))
    if not shutil.which("valgrind"):
        dt.skip("valgrind is not installed")
    vg_env, _, _ = tv.equal_envs({}, ())
    _, v = vg.run(cmd, timeout=300, env=vg_env)
    dt.eq(tv.figures(v), tv.figures(r), "libc_internals: valgrind's figures as drip's")


# ---- the allocator's edges (malloc_zero, realloc_too_big, calloc overflow, realloc_zero) -------

def case_malloc_zero():
    """LSAN malloc_zero: a leak of "1 byte(s) in 1 allocation(s)": LSan allocates malloc(0) as
    1 byte; drip and valgrind say 0 bytes in 1 block (README: differences)."""
    scenario("malloc_zero", prog("roots", "malloc_zero"), {"definite": (0, 1), "reachable": STDOUT}, True)


def case_realloc_too_big():
    """LSAN realloc_too_big: the failed realloc keeps the 9-byte block, lost once dropped."""
    scenario("realloc_too_big", prog("roots", "realloc_fail"), {"definite": (9, 1), "reachable": STDOUT}, True)


def case_calloc_overflow():
    """calloc(SIZE_MAX/2, 4) fails with ENOMEM and records nothing; a 10-byte block is lost."""
    scenario("calloc_overflow", prog("roots", "calloc_overflow"), {"definite": (10, 1), "reachable": STDOUT}, True)


def case_realloc_zero():
    """LSAN realloc_zero: realloc(p, 0) frees p (glibc): no leak."""
    scenario("realloc_zero", prog("roots", "realloc_zero"), {"reachable": STDOUT}, False)


def case_double_free():
    """LSAN double_free (with its detect_double_free off, as LSan's default): glibc finds the
    second free and aborts; under drip the same (SIGABRT, glibc's message), after drip's report.
    valgrind reports the free and goes on: not compared."""
    cmd = prog("roots", "double_free")
    p = plain(cmd)
    rc, out, err, r = under_drip(cmd)
    dt.eq((rc, out), (p.returncode, p.stdout), "double_free: killed by the same signal, same stdout")
    dt.eq(p.returncode, -6, "double_free: the plain run dies by SIGABRT")
    dt.check("double free" in err, "double_free: glibc's message reaches stderr")
    dt.check(r is not None, "double_free: drip wrote its report before dying")
    if r:
        want_figures("double_free", r, {})


def case_realloc_rlimit():
    """LSAN Linux/realloc_failure_keeps_original: under an address-space cap a large realloc
    fails, the block keeps its contents and is freed once; drip's report still reaches the user
    under the cap: 77 bytes lost."""
    cmd = prog("roots", "realloc_rlimit")
    p = plain(cmd)
    rc, out, err, r = under_drip(cmd)
    dt.eq((p.returncode, p.stdout), (0, "kept: 1\ndone realloc_rlimit\n"), "realloc_rlimit: the plain run")
    dt.eq((rc, out), (p.returncode, p.stdout), "realloc_rlimit: exit status and stdout as the plain run's")
    dt.check(r is not None, "realloc_rlimit: drip wrote its report under the cap")
    if r:
        want_figures("realloc_rlimit", r, {"definite": (77, 1), "reachable": STDOUT})
    dt.check("77 bytes in 1 blocks are definitely lost" in err, "realloc_rlimit: the text report, symbolized")


# ---- C++ (new_array_with_dtor_0, suppressions_file) -----------------------------------------

def case_new_array_dtor_0():
    """LSAN new_array_with_dtor_0: no leak to LSan, which takes a pointer just past an 8-byte
    block's array cookie for new T[0]; valgrind and drip call the block definitely lost (the
    pointer is past its end: README, differences)."""
    scenario("new_array_dtor_0", prog("cxx", "new_array_0"), {"definite": (8, 1), "reachable": STDOUT}, False, lsan_differs=True)


def case_new_array_cookie():
    """new T[3] of a type with a destructor, held through the pointer past the cookie: reachable
    via valgrind's newarray heuristic (LSan: no leak)."""
    r, v = scenario("new_array_cookie", prog("cxx", "new_array_3"), {"reachable": plus((32, 1), STDOUT)}, False)
    dt.eq(r["reachable_via_heuristic"]["newarray"], {"bytes": 32, "blocks": 1}, "new_array_cookie: via the newarray heuristic")


def supp_file(*lines):
    fd, path = tempfile.mkstemp(prefix="drip-lsan-", suffix=".supp")
    with os.fdopen(fd, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def case_suppressions():
    """LSAN suppressions_file: `leak:*LeakyHelper*` suppresses the 666-byte block. LSan then
    reports only the 1337-byte block: it also drops the 777-byte block that the suppressed one
    holds. drip, as valgrind, still reports that block indirectly lost, unless a line names its
    own stack too (README, differences)."""
    cmd = prog("cxx", "suppress")
    path = supp_file("# LSan's syntax", "leak:*LeakyHelper*")
    try:
        p = plain(cmd)
        rc, out, err, r = under_drip(cmd, ("suppressions=" + path,))
        dt.eq((rc, out), (p.returncode, p.stdout), "suppressions: exit status and stdout as the plain run's")
        want_figures("suppressions", r, {"definite": (1337, 1), "indirect": (777, 1), "reachable": STDOUT})
        dt.eq(dt.summary(r, "suppressed"), (666, 1), "suppressions: the 666-byte block suppressed")
        # LSan's result, with a second line for the held block's own stack
        path2 = supp_file("leak:*LeakyHelper*", "leak:^Caller$")
        rc, out, err, r = under_drip(cmd, ("suppressions=" + path2,))
        os.unlink(path2)
        want_figures("suppressions (two lines)", r, {"definite": (1337, 1), "reachable": STDOUT})
        dt.eq(dt.summary(r, "suppressed"), (1443, 2), "suppressions (two lines): 666 + 777 suppressed")
        # LSan's `leak:<binary>`: a module path suppresses every block it allocated
        path3 = supp_file("leak:" + os.path.join(BIN, "cxx"))
        rc, out, err, r = under_drip(cmd, ("suppressions=" + path3,))
        os.unlink(path3)
        dt.eq(dt.summary(r, "definite"), NONE, "suppressions (module path): nothing definitely lost")
        dt.eq(dt.summary(r, "suppressed"), (2780, 3), "suppressions (module path): 666 + 777 + 1337")
        if not shutil.which("valgrind"):
            dt.skip("valgrind is not installed")
        vg_env, _, _ = tv.equal_envs({}, ())
        _, v = vg.run(cmd, timeout=300, env=vg_env)
        dt.eq(tv.figures(v), {"definite": (2003, 2), "indirect": (777, 1), "possible": NONE, "reachable": STDOUT},
              "suppressions: valgrind, unsuppressed: 666 + 1337 lost, 777 indirectly")
    finally:
        os.unlink(path)


# ---- threads (use_stacks_threaded, use_registers, use_tls_*, create_thread_leak, ...) --------

THREAD_DTV = Dtv(1)   # a running thread's DTV: possibly lost (README: glibc's DTV)


def running_threads(r):
    return sum(1 for t in r.get("threads", []) if t.get("state") == "running")


def case_thread_stack():
    """LSAN use_stacks_threaded: no leak (a live thread's stack)."""
    r, v = scenario("thread_stack", prog("threads", "stack"), {"possible": THREAD_DTV, "reachable": plus((2001, 1), (4096, 1))},
                    False, vg_kinds=("definite", "indirect", "reachable"))


def case_thread_registers():
    """LSAN use_registers: no leak (the pointer only in a spinning thread's r12)."""
    scenario("thread_registers", prog("threads", "registers"), {"possible": THREAD_DTV, "reachable": plus((2002, 1), (4096, 1))},
             False, vg_kinds=("definite", "indirect", "reachable"))


def case_thread_xmm():
    """LSAN use_registers_extra: the only pointer in xmm0 of a spinning thread. LSan reads the
    vector registers and finds it; drip, as valgrind, reads the general registers only (drip's
    own hooks leave block addresses in vector registers): 2005 bytes lost. The thread clears the
    stack below its frame first: malloc's frames leave the address within the 128 bytes under
    the stack pointer, which drip reads (a leaf function's red zone)."""
    scenario("thread_xmm", prog("threads", "xmm"), {"definite": (2005, 1), "possible": THREAD_DTV, "reachable": (4096, 1)},
             False, vg_kinds=("definite", "indirect", "reachable"), lsan_differs=True)


def case_thread_tls():
    """LSAN use_tls_static in another thread: no leak."""
    scenario("thread_tls", prog("threads", "tls"), {"possible": THREAD_DTV, "reachable": plus((2003, 1), (4096, 1))},
             False, vg_kinds=("definite", "indirect", "reachable"))


def case_guard_page():
    """LSAN Linux/guard-page: a thread with a 1 MiB guard below a 256 KiB stack: the scan reads
    around the guard, no fault, no leak."""
    scenario("guard_page", prog("threads", "guard"), {"possible": THREAD_DTV, "reachable": plus((2001, 1), (4096, 1))},
             False, vg_kinds=("definite", "indirect", "reachable"))


def case_seccomp():
    """A seccomp filter that makes ptrace and process_vm_readv fail (EPERM), as sandboxes do: drip
    pauses the threads with a signal instead (and says so) and reads the file-backed roots through
    /proc/thread-self/mem. Before, libc's .data went unread and stdout's buffer was definitely lost;
    the two threads' blocks (stack, register) stay reachable."""
    r, v = scenario("seccomp", prog("threads", "seccomp"), {"possible": Dtv(2),
                    "reachable": plus((2001, 1), (2002, 1), (4096, 1))}, False, vg_kinds=("definite", "indirect", "reachable"))


def case_strace():
    """LSan's tracer cannot attach under strace (or gdb): drip's stop falls back to a signal and
    the figures are those of the run without strace."""
    if not shutil.which("strace"):
        dt.skip("strace is not installed")
    for mode, held in (("stack", 2001), ("registers", 2002), ("tls", 2003)):
        cmd = prog("threads", mode)
        _, env, path = tv.equal_envs({}, ())
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.update(env)
        q = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null"] + cmd, capture_output=True, text=True, env=e, timeout=120)
        dt.eq((q.returncode, q.stdout), (0, "done %s\n" % mode), "strace %s: exit status and stdout" % mode)
        dt.check("pausing them with signal" in q.stderr, "strace %s: drip says it pauses threads with a signal" % mode)
        reports = dt.load_reports(path)   # strace's own too: the environment preloads drip into it
        r = next((x for x in reports.values() if x.get("executable", "").endswith("/threads")), None)
        dt.check(r is not None, "strace %s: drip wrote the program's report" % mode)
        if r:
            want_figures("strace " + mode, r, {"possible": THREAD_DTV, "reachable": plus((held, 1), (4096, 1))}, cmd)


ENDED_DTVS = Dtv(4)   # glibc caches four ended threads' stacks, their DTVs with them


def case_thread_arg_leak():
    """LSAN create_thread_leak (leak_arg): the 100 arguments never freed are lost. valgrind finds
    four of them in glibc's cached thread descriptors (pd->arg), which drip's wrapper never
    fills: README, differences."""
    scenario("thread_arg_leak", prog("threads", "arg"), {"definite": (12300, 100), "possible": ENDED_DTVS, "reachable": STDOUT},
             True, vg_kinds=("indirect",), vg_want={"definite": (11808, 96), "reachable": (4588, 5)})


def case_thread_retval_leak():
    """LSAN create_thread_leak (leak_retval): 96 of the 100 234-byte results lost; the last four
    threads' results stay in glibc's cached descriptors (pd->result) in both tools."""
    scenario("thread_retval_leak", prog("threads", "retval"), {"definite": (22464, 96), "possible": ENDED_DTVS,
             "reachable": plus((936, 4), STDOUT)}, True, vg_kinds=("definite", "indirect", "reachable"))


def case_thread_detached_leak():
    """LSAN create_thread_leak (detach): detached threads' results are lost."""
    scenario("thread_detached_leak", prog("threads", "detach"), {"definite": (22464, 96), "possible": ENDED_DTVS,
             "reachable": plus((936, 4), STDOUT)}, True, vg_kinds=("definite", "indirect", "reachable"))


def case_threads_clean():
    """LSAN create_thread_leak (no leak): 100 threads created and joined, all freed."""
    scenario("threads_clean", prog("threads", "clean"), {"possible": ENDED_DTVS, "reachable": STDOUT}, False,
             vg_kinds=("definite", "indirect", "reachable"))


def case_check_before_thread_started():
    """LSAN leak_check_before_thread_started and create_thread_leak's checks: a leak check right
    after each pthread_create (30 of them) finds nothing: the starting thread holds its argument.
    With the arguments leaked, the check after the first thread ended finds one (exit 1, as LSan's
    `not %run`); with the results leaked, the first check of round 1 does."""
    for mode, want_out, want_rc in (("clean", "done clean\n", 0), ("arg", "leak check found leaks in round 0\n", 1),
                                    ("retval", "leak check found leaks in round 1\n", 1)):
        cmd = prog("threads", mode, "check")
        p = plain(cmd)
        dt.eq((p.returncode, p.stdout), (0, "done %s\n" % mode), "check %s: the plain run checks nothing" % mode)
        rc, out, err, r = under_drip(cmd)
        dt.eq((rc, out), (want_rc, want_out), "check %s: exit status and stdout under drip" % mode)
        found = re.findall(r"SUMMARY: drip: ([\d,]+) bytes leaked in (\d+) blocks", err)
        checks = found[:-1]   # the last is the exit report
        if mode == "clean":
            dt.eq(len(checks), 30, "check clean: 30 live checks")
            dt.eq(sorted(set(checks)), [("0", "0")], "check clean: none finds a leak")
        else:
            # the arguments (123 bytes) of the threads that ended by then; round 0's results
            # (234), less those still in cached descriptors
            size = 123 if mode == "arg" else 234
            n = int(checks[-1][1])
            dt.check(n > 0 and checks[-1][0] == "{:,}".format(size * n),
                     "check %s: blocks of %d bytes lost: %r" % (mode, size, checks[-1]))
            dt.check(all(c == ("0", "0") for c in checks[:-1]), "check %s: no check before found a leak" % mode)


def case_tsd_destructor():
    """LSAN Linux/cleanup_in_tsd_destructor: a key's destructor frees each thread's value at
    thread exit: no leak."""
    scenario("tsd_destructor", prog("threads", "tsd"), {"possible": ENDED_DTVS, "reachable": STDOUT}, False,
             vg_kinds=("definite", "indirect", "reachable"))


def case_many_tls_keys():
    """LSAN many_tls_keys_pthread: 300 keys set by a thread that ends: without destructors its
    values are lost (in both tools)."""
    scenario("many_tls_keys", prog("threads", "many_keys"), {"definite": (4800, 300), "possible": THREAD_DTV,
             "reachable": STDOUT}, True, vg_kinds=("definite", "indirect", "reachable"))


def case_many_tls_keys_alive():
    """LSAN many_tls_keys_thread: the same thread still running at exit: its 300 values are
    reachable through its key blocks (10 of them, 512 bytes each: 300 values + 5,120)."""
    scenario("many_tls_keys_alive", prog("threads", "many_keys_alive"), {"possible": THREAD_DTV,
             "reachable": (13504, 310)}, False, vg_kinds=("definite", "indirect", "reachable"))


def case_allocator_contention():
    """LSAN high_allocator_contention: 8 threads, 20,000 mallocs and frees each: each returns a
    7-byte block, dropped once joined (4 stay in cached descriptors, in both tools)."""
    scenario("allocator_contention", prog("threads", "contention"), {"definite": (28, 4), "possible": ENDED_DTVS,
             "reachable": plus((28, 4), STDOUT)}, True, vg_kinds=("definite", "indirect", "reachable"))


def case_many_detached():
    """Many detached threads (LSan's thread tests at scale): 300 threads that free all they
    allocate, main returning while they start and end. Nothing is ever lost, whatever the timing,
    in ten runs: drip's own thread may start on a stack from glibc's cache, with the DTV a program
    thread allocated (it was reported definitely lost, one run in three). Each run's figures
    depend on the timing; valgrind serialises the threads, so it is not compared."""
    cmd = prog("threads", "many_detached")
    p = plain(cmd)
    dt.eq((p.returncode, p.stdout), (0, "done many_detached\n"), "many_detached: the plain run")
    for i in range(10):
        rc, out, err, r = under_drip(cmd)
        dt.eq((rc, out), (p.returncode, p.stdout), "many_detached run %d: exit status and stdout as the plain run's" % i)
        dt.eq((dt.summary(r, "definite"), dt.summary(r, "indirect")), (NONE, NONE), "many_detached run %d: nothing lost" % i)


def case_loader_lock():
    """LSAN Linux/libdl_deadlock: a thread allocates and frees inside dl_iterate_phdr (the
    loader's lock held) while main returns: the exit report, which lists the modules, must not
    wait for that lock while the thread is stopped. A watchdog in the program exits 1 after 40 s
    on a deadlock. What the thread holds at that moment varies: nothing is lost."""
    cmd = prog("threads", "loader_lock")
    p = plain(cmd)
    for i in range(3):
        rc, out, err, r = under_drip(cmd)
        dt.eq((rc, out), (p.returncode, p.stdout), "loader_lock run %d: exit status and stdout as the plain run's" % i)
        dt.check("DEADLOCK" not in err, "loader_lock run %d: no deadlock" % i)
        dt.check(r is not None, "loader_lock run %d: the report" % i)
        if r:
            dt.eq((dt.summary(r, "definite"), dt.summary(r, "indirect")), (NONE, NONE), "loader_lock run %d: nothing lost" % i)


def case_fork_thread_exit():
    """LSAN Linux/fork_threaded: the child calls exit from a thread of its own; a block held by
    main's TLS in both: reachable in the parent's report, listed as inherited in the child's."""
    cmd = prog("threads", "fork_thread_exit")
    p = plain(cmd)
    _, env, path = tv.equal_envs({}, ())
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    q = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=120)
    dt.eq((q.returncode, q.stdout), (p.returncode, p.stdout), "fork_thread_exit: exit status and stdout as the plain run's")
    dt.eq(p.stdout, "child: 0\ndone fork_thread_exit\n", "fork_thread_exit: the child exited 0 from its thread")
    reports = list(dt.load_reports(path).values())
    dt.eq(len(reports), 2, "fork_thread_exit: the parent's report and the child's")
    parent = [x for x in reports if not x.get("inherited")]
    child = [x for x in reports if x.get("inherited")]
    dt.eq(len(parent), 1, "fork_thread_exit: one parent report")
    if parent:
        want_figures("fork_thread_exit (parent)", parent[0], {"reachable": plus((1337, 1), STDOUT)})
    if child:
        dt.eq((dt.summary(child[0], "definite"), child[0]["inherited"].get("bytes")), (NONE, 1337),
              "fork_thread_exit (child): nothing lost, the 1337 bytes inherited")


def case_detached_dlerror():
    """LSAN Linux/detached_thread_dlsym: a detached thread's failed dlsym left glibc's dlerror
    buffer in its TLS; the thread is still in its last key destructor when main returns: no
    leak (the buffer and its message reachable, as under valgrind). The message names the
    program's path, so its size follows the build directory's."""
    scenario("detached_dlerror", prog("threads", "dlerror_detached"), {"possible": THREAD_DTV,
             "reachable": (4164 + len(prog("threads")[0]), 3)}, False, vg_kinds=("definite", "indirect", "reachable"))


def case_fork():
    """LSAN Linux/fork_and_leak, fork_threaded: parent and child each report their own leak."""
    cmd = prog("threads", "fork")
    p = plain(cmd)
    _, env, path = tv.equal_envs({}, ())
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    q = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=120)
    dt.eq((q.returncode, q.stdout), (p.returncode, p.stdout), "fork: exit status and stdout as the plain run's")
    reports = dt.load_reports(path)
    dt.eq(len(reports), 2, "fork: two reports, the parent's and the child's")
    figs = sorted(dt.summary(r, "definite") for r in reports.values())
    dt.eq(figs, [(3001, 1), (3002, 1)], "fork: the parent lost 3001 bytes, the child 3002")


def case_swapcontext_stack():
    """LSAN swapcontext (the coroutine's stack in the program's memory, cleared after): a leak."""
    scenario("swapcontext_stack", prog("threads", "swapcontext_stack"), {"definite": (2664, 1), "reachable": STDOUT}, True)


def case_swapcontext_heap():
    """LSAN swapcontext (the coroutine's stack in a heap block): LSan reports no leak; the block
    holding the only pointer was freed, so drip and valgrind do (README, differences)."""
    scenario("swapcontext_heap", prog("threads", "swapcontext_heap"), {"definite": (2664, 1), "reachable": STDOUT}, False,
             lsan_differs=True)


# ---- LSan's interface (disabler, ignore_object, lsan_annotations, do_leak_check_override,
#      recoverable_leak_check, register_root_region, link_turned_off) ------------------------

NO_IFACE = "no LSan interface\n"


def case_ignore_object():
    """LSAN ignore_object: the ignored block and what it holds are not leaks; 1337 bytes are.
    A freed ignored block's address is not ignored when a new block gets it."""
    out, err, r = drip_only("ignore_object", prog("api", "ignore"), {"definite": (1337 + 48, 2),
                            "reachable": plus((8, 1), (666, 1), STDOUT)}, NO_IFACE, want_out="done ignore\n")


def case_disabler():
    """LSAN disabler (C and C++), lsan_annotations: blocks allocated between __lsan_disable and
    __lsan_enable (nested; per thread) are ignored with what they hold: 1337 bytes and the other
    thread's 4002 are lost."""
    drip_only("disabler", prog("api", "disable"), {"definite": (1337 + 4002, 2), "possible": Dtv(1),
              "reachable": plus((8, 1), (777, 1), (778, 1), (666, 1), (4001, 1), STDOUT)}, NO_IFACE, want_out="done disable\n")


def case_disable_in_tsd_destructor():
    """LSAN Linux/disabler_in_tsd_destructor: a thread's TSD destructor allocates between
    __lsan_disable and __lsan_enable as the thread ends: ignored, no leak."""
    drip_only("disable_tsd", prog("api", "disable_tsd"), {"possible": Dtv(1), "reachable": plus((1337, 1), STDOUT)},
              NO_IFACE, want_out="done disable_tsd\n")


def case_do_leak_check():
    """LSAN do_leak_check_override, strict: no call; the report at exit comes after the global's
    destructor: 666 + 1337 lost."""
    drip_only("do_leak_check", prog("api", "do_leak_check"), {"definite": (2003, 2), "reachable": STDOUT}, NO_IFACE,
              want_out="check registered\ndone do_leak_check\n")


def case_do_leak_check_atexit():
    """LSAN do_leak_check_override, normal: __lsan_do_leak_check as an atexit handler reports
    before the destructor runs (666 lost, the global's 1337 reachable), and once: the exit report
    is not written again. With error_exitcode it ends the process with that status."""
    out, err, r = drip_only("do_leak_check_atexit", prog("api", "do_leak_check_atexit"),
                            {"definite": (666, 1), "reachable": plus((1337, 1), STDOUT)}, NO_IFACE,
                            want_out="check registered\ndone do_leak_check_atexit\n")
    dt.eq(err.count("LEAK SUMMARY"), 1, "do_leak_check_atexit: one report")
    rc, out, err, r = under_drip(prog("api", "do_leak_check_atexit"), ("error_exitcode=23",))
    dt.eq(rc, 23, "do_leak_check_atexit: error_exitcode=23 ends the process as LSan's exitcode")


def case_recoverable_leak_check():
    """LSAN recoverable_leak_check: 0 while the 23-byte block is held by a global; 1 with 1337
    bytes lost; 1 with 1360 once the global lets go. Each check writes its report; the program's
    own stack below the call (drip's frames over older ones) is not read."""
    out, err, r = drip_only("recoverable_leak_check", prog("api", "recoverable"), {"definite": (1360, 2), "reachable": STDOUT},
                            NO_IFACE, want_out="recoverable: 0 1 1\n")
    found = re.findall(r"SUMMARY: drip: ([\d,]+) bytes leaked in (\d+) blocks; [\d,]+ bytes possibly lost; ([\d,]+) bytes still", err)
    dt.eq(found[:3], [("0", "0", "23"), ("1,337", "1", "23"), ("1,360", "2", "0")], "recoverable_leak_check: the three checks")


def case_concurrent_checks():
    """__lsan_do_recoverable_leak_check from four threads at once, twenty checks in all, while
    the others allocate and free: each check stops the world in turn and finds its thread's lost
    block; the exit report lists the twenty blocks (100 to 103 bytes, five each)."""
    out, err, r = drip_only("concurrent_checks", prog("api", "concurrent_checks"),
                            {"definite": (5 * (100 + 101 + 102 + 103), 20), "possible": Dtv(4), "reachable": STDOUT},
                            NO_IFACE, want_out="misses: 0\ndone concurrent_checks\n")
    dt.eq(err.count("LEAK SUMMARY"), 21, "concurrent_checks: twenty checks and the exit report")


def case_root_region():
    """LSAN register_root_region: a registered region is a root, an unregistered one is not (two
    read-only mappings, no root to valgrind or drip otherwise: valgrind, without the interface,
    loses both)."""
    cmd = prog("roots", "root_region")
    p = plain(cmd)
    dt.eq(p.stdout, "register: no\ndone root_region\n", "root_region: the plain run has no interface")
    rc, out, err, r = under_drip(cmd)
    dt.eq((rc, out), (0, "register: yes\ndone root_region\n"), "root_region: drip has it")
    want_figures("root_region", r, {"definite": (1346, 1), "reachable": plus((1345, 1), STDOUT)})
    if not shutil.which("valgrind"):
        dt.skip("valgrind is not installed")
    vg_env, _, _ = tv.equal_envs({}, ())
    _, v = vg.run(cmd, timeout=300, env=vg_env)
    dt.eq(dt.summary(v, "definite"), (2691, 2), "root_region: valgrind (no interface) loses both")


def case_signal_storm():
    """LSAN Linux/signal_during_stop_the_world: a forked child sends SIGCHLD and SIGPROF nonstop
    while __lsan_do_leak_check stops the world: the check ends (666 lost, the global's 1337
    reachable) and the program goes on; the child, killed by SIGTERM, writes its own report."""
    cmd = prog("api", "signal_storm")
    p = plain(cmd)
    dt.eq((p.returncode, p.stdout), (3, NO_IFACE), "signal_storm: the plain run has no LSan interface")
    _, env, path = tv.equal_envs({}, ())
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.update(env)
    q = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=120)
    dt.eq((q.returncode, q.stdout), (0, "done signal_storm\n"), "signal_storm: the program goes on after the check")
    reports = dt.load_reports(path)
    figs = sorted((dt.summary(r, "definite"), dt.summary(r, "reachable")) for r in reports.values() if "summary" in r)
    dt.eq(figs[-1], ((666, 1), (1337, 1)), "signal_storm: the parent's check")
    dt.eq(len(figs), 2, "signal_storm: the parent's report and the child's")


def case_root_region_heap():
    """LSan's root regions may lie inside a heap block (a pool the program manages): the region's
    words are roots, tracked blocks or not; the pool itself is held by nothing (LSan: 4096 bytes
    leaked, the 555-byte block it points to reachable). drip skipped tracked blocks inside root
    ranges, so both were lost. valgrind, without the interface: 4096 lost, 555 indirectly."""
    cmd = prog("roots", "root_region_heap")
    p = plain(cmd)
    dt.eq(p.stdout, "register: no\ndone root_region_heap\n", "root_region_heap: the plain run has no interface")
    rc, out, err, r = under_drip(cmd)
    dt.eq((rc, out), (0, "register: yes\ndone root_region_heap\n"), "root_region_heap: drip has it")
    want_figures("root_region_heap", r, {"definite": (4096, 1), "reachable": plus((555, 1), STDOUT)})
    if not shutil.which("valgrind"):
        dt.skip("valgrind is not installed")
    vg_env, _, _ = tv.equal_envs({}, ())
    _, v = vg.run(cmd, timeout=300, env=vg_env)
    dt.eq((dt.summary(v, "definite"), dt.summary(v, "indirect")), ((4096, 1), (555, 1)),
          "root_region_heap: valgrind (no interface): the pool lost, its block indirectly")


def case_turned_off():
    """LSAN link_turned_off: the program's __lsan_is_turned_off() says 1; LSan then checks
    nothing. drip cannot see it (an executable exports no symbol without -rdynamic) and reports
    the 4 bytes (README, differences)."""
    drip_only("turned_off", prog("api", "turned_off"), {"definite": (4, 1), "reachable": STDOUT}, NO_IFACE,
              want_out="done turned_off\n")


def case_header():
    """A program built against LSan's <sanitizer/lsan_interface.h> as it is (__lsan::
    ScopedDisabler, __lsan_ignore_object, __lsan_do_recoverable_leak_check), linked with
    -ldrip instead of -fsanitize=leak: the disabled and ignored blocks are no leak, 1337 bytes
    are (the check says 1)."""
    cmd = prog("header")
    if not os.path.exists(cmd[0]):
        dt.skip("<sanitizer/lsan_interface.h> is not installed: lsan_header was not built")
    rc, out, err, r = under_drip(cmd)
    dt.eq((rc, out), (0, "check: 1\n"), "header: exit status and stdout")
    want_figures("header", r, {"definite": (1337, 1), "reachable": plus((8, 1), (321, 1), (123, 1), STDOUT)})


if __name__ == "__main__":
    dt.main(globals())
