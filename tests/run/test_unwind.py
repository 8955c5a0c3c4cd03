"""libunwind's side effects inside the traced program (issue #12: same syscall results).

Usage: test_unwind.py CASE   (one ctest per case; `test_unwind.py --list` names them)
libunwind opens a pipe on its first use (the lowest free descriptors) and makes rt_sigprocmask
calls on every unw_backtrace: unwind=auto must never need it for an ordinary program, constructors
that run before drip's own included (their stacks end at _start or the dynamic loader's start code).
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unwind")
TMP = tempfile.mkdtemp(prefix="drip-unwind-")


def build(src, out, compiler, *flags):
    exe = os.path.join(TMP, out)
    subprocess.run([compiler, "-O1", "-g", *flags, "-o", exe, os.path.join(HERE, src)], check=True)
    return exe


def case_fds():
    # the program sees the descriptors it sees without drip: first open() 3, no fd 3 or 4
    exe = build("fds.c", "fds", "cc")
    plain = subprocess.run([exe], capture_output=True, text=True).stdout
    dt.eq(plain, "first_open=3 fd3=0 fd4=0\n", "plain run")
    # (unwind=libunwind opens libunwind's pipe at its first walk: above the low descriptors)
    for mode in ("auto", "cfi", "fp", "libunwind"):
        res = dt.run([exe], ["--unwind", mode])
        dt.eq(res.out, plain, "unwind=" + mode + " descriptors")
    # started with stdin closed: its first open() gets 0, as without drip
    closed = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", exe], capture_output=True, text=True).stdout
    dt.eq(closed, "first_open=0 fd3=0 fd4=0\n", "plain, stdin closed")
    for mode in ("auto", "libunwind"):
        res = dt.run(["sh", "-c", 'exec "$@" <&-', "sh", exe], ["--unwind", mode])
        dt.eq(res.out, closed, "unwind=" + mode + ", stdin closed")


def libunwind_sigprocmasks(exe, mode):
    """rt_sigprocmask calls made from inside libunwind while exe runs under drip run."""
    log = os.path.join(TMP, "strace." + mode)
    e = dict(os.environ)
    subprocess.run(["strace", "-f", "-k", "-o", log, "-e", "trace=rt_sigprocmask", dt.DRIP, "run",
                    "--log-path", "/dev/null", "--unwind", mode, "--", exe],
                   capture_output=True, text=True, env=e, timeout=120)
    calls, in_libunwind, cur = 0, 0, False
    with open(log) as f:
        for line in f:
            if line.startswith(" > "):
                if cur and "libunwind" in line:
                    in_libunwind += 1
                    cur = False
            else:
                cur = "rt_sigprocmask(" in line
                calls += cur
    return calls, in_libunwind


def case_no_libunwind():
    # static constructors that allocate (libstdc++'s, the program's): no stack is taken by libunwind
    if not shutil.which("strace") or not shutil.which("c++"):
        dt.skip("needs strace and c++")
    probe = subprocess.run(["strace", "-k", "-o", "/dev/null", "-e", "trace=none", "true"], capture_output=True)
    if probe.returncode != 0:
        dt.skip("strace has no -k (stack traces)")
    exe = build("ctors.cc", "ctors", "c++")
    _, auto = libunwind_sigprocmasks(exe, "auto")
    dt.eq(auto, 0, "rt_sigprocmask calls from libunwind under unwind=auto")
    _, forced = libunwind_sigprocmasks(exe, "libunwind")
    dt.check(forced > 50, "the count sees libunwind's calls under unwind=libunwind (%d)" % forced)


def case_ctor_stacks():
    # a leak from a constructor that runs before main: the same stack from drip's walkers as
    # from libunwind, ending at the program's _start
    if not shutil.which("c++"):
        dt.skip("needs c++")
    exe = build("ctors.cc", "ctors", "c++")
    stacks = {}
    for mode in ("auto", "cfi", "libunwind"):
        res = dt.run([exe], ["--unwind", mode, "--show-reachable"])
        recs = [r for r in res.report["leaks"] if r["bytes"] == 77]
        dt.eq(len(recs), 1, mode + ": the constructor's 77-byte block")
        stacks[mode] = [(f.get("function"), f.get("line")) for f in recs[0]["stack"]] if recs else None
    dt.eq([f for f, _ in stacks["auto"] or []][:2] + [f for f, _ in stacks["auto"] or []][-1:],
          ["Init::Init()", "_GLOBAL__sub_I_lost", "_start"], "the constructor's stack, down to _start")
    dt.eq(stacks["auto"], stacks["libunwind"], "unwind=auto = libunwind")
    dt.eq(stacks["cfi"], stacks["libunwind"], "unwind=cfi = libunwind")


def case_signal_frame():
    # a leak from a signal handler, with and without frame pointers: the same stack from drip's
    # walkers as from libunwind, through the signal frame, and no libunwind call to get it
    for flags in ([], ["-fomit-frame-pointer"]):
        exe = build("sig.c", "sig", "cc", *flags)
        label = " ".join(flags) or "frame pointers"
        stacks = {}
        for mode in ("auto", "cfi", "libunwind"):
            res = dt.run([exe], ["--unwind", mode])
            recs = [r for r in res.report["leaks"] if r["bytes"] == 123]
            dt.eq(len(recs), 1, label + ", " + mode + ": the handler's 123-byte block")
            stacks[mode] = [(f.get("function"), f.get("line")) for f in recs[0]["stack"]] if recs else None
        dt.eq([f for f, _ in stacks["auto"] or []][:2] + [f for f, _ in stacks["auto"] or []][-2:],
              ["leak_in_handler", "handler", "busy", "main"], label + ": the stack, through the signal frame")
        dt.eq(stacks["auto"], stacks["libunwind"], label + ": unwind=auto = libunwind")
        dt.eq(stacks["cfi"], stacks["libunwind"], label + ": unwind=cfi = libunwind")
        if shutil.which("strace") and subprocess.run(["strace", "-k", "-o", "/dev/null", "-e", "trace=none", "true"],
                                                    capture_output=True).returncode == 0:
            dt.eq(libunwind_sigprocmasks(exe, "auto")[1], 0, label + ": rt_sigprocmask calls from libunwind")


def case_lazy_libunwind():
    # libunwind is dlopen'ed on first need (unwind_lu.c): absent from a program whose stacks drip's
    # own walkers take, loaded and right when a function without an FDE allocates, also when
    # four threads need it first at once
    exe = build("nofde.c", "nofde", "cc", "-pthread")
    res = dt.run([exe, "none"])
    dt.eq(res.rc, 0, "none: exit status")
    dt.eq(res.out, "libunwind=0\n", "none: libunwind not mapped")
    res = dt.run([exe, "main"])
    dt.eq(res.out, "libunwind=1\n", "main: libunwind mapped after the first no-FDE stack")
    recs = [r for r in res.records("definite") if r["bytes"] == 48]
    dt.eq(len(recs), 1, "main: the 48-byte leak")
    dt.eq(res.functions(recs[0])[:2] if recs else None, ["asm_alloc", "main"], "main: its stack through asm_alloc")
    res = dt.run([exe, "threads"])
    dt.eq(res.out, "libunwind=1\n", "threads: libunwind mapped")
    recs = [r for r in res.records("definite") if r["bytes"] == 224]
    dt.eq(len(recs), 1, "threads: 4 x 56 bytes, one record")
    dt.eq(recs[0]["blocks"] if recs else None, 4, "threads: 4 blocks")
    dt.eq(res.functions(recs[0])[:2] if recs else None, ["asm_alloc", "worker"], "threads: the stack through asm_alloc")


def case_stack_cache():
    # stacks that share their first frames (the depot's per-thread cache keys on a hash of the
    # frames): three that differ only at the ninth frame (in runs of 7), one whose frame sizes
    # change (alloca), one deeper than most. Each block is counted on its own stack, exactly as
    # libunwind finds it; with frame pointers and without (the .eh_frame walk)
    want = {"via_a": (13440, 336, 10), "via_b": (13360, 334, 10), "via_c": (13160, 329, 10),
            "via_alloca": (12300, 300, 10), "deep": (8400, 200, 50)}
    for flags in (["-fno-omit-frame-pointer"], ["-fomit-frame-pointer"]):
        exe = build("cache.c", "cache" + flags[0], "cc", *flags)
        stacks = {}
        for mode in ("auto", "libunwind"):
            res = dt.run([exe], ["--unwind", mode])
            got, stacks[mode] = {}, {}
            for r in (res.report or {}).get("leaks", []):
                fns = [f.get("function") for f in r["stack"]]
                name = next((f for f in fns if f in want), "?")
                got[name] = (r["bytes"], r["blocks"], len(fns))
                stacks[mode][name] = [(f.get("function"), f.get("line")) for f in r["stack"]]
            dt.eq(got, want, flags[0] + ", unwind=" + mode + ": bytes, blocks and depth of each stack")
        dt.eq(stacks["auto"], stacks["libunwind"], flags[0] + ": unwind=auto = libunwind")


if __name__ == "__main__":
    dt.main(globals(), cleanup=lambda: shutil.rmtree(TMP, ignore_errors=True))
