"""drip as an installed tool and in the CI tools people already run (issue 18).

Each case installs the build tree into its own temporary prefix with `cmake --install`, then:
  install        the installed drip (found libdrip.so under PREFIX/lib/drip) runs an example from
                 another directory; man page, completion, libdrip-safe's SONAME, headers
  man            drip(1) and the bash completion list every option of the table
  pkgconfig      a consumer program builds with `pkg-config --cflags --libs drip-safe`
  cmake_package  the same consumer builds with find_package(drip): drip::safe, drip::safe_static, drip::api
  deb            `make deb`'s package: contents, Depends, the extracted drip runs
  memcheck       `ctest -T memcheck` with MEMORYCHECK_COMMAND=drip counts one leak (and valgrind, the
                 same one)
  meson, autotools  docs/ci.md's `meson test --wrapper` and `make check LOG_COMPILER=drip` lines
                 on the same project: the leaking test fails, the clean one passes
  vgcompat       valgrind's flags: --num-callers, --log-file=%p, --error-exitcode, suppressions files
  sarif          --sarif and `drip sarif`: SARIF 2.1.0 checked against the schema (python3-jsonschema)
                 and by Microsoft's SARIF Multitool; exact results
  suppress       `drip suppress report.json` then a second run with that file suppresses everything
  gen_suppressions  --gen-suppressions: each record's leak:<pattern> line right after it
A case that needs a missing tool exits 77 (SKIPPED in ctest).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as t  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(t.BUILD)
EXAMPLES = t.EXAMPLES
SKIP = 77
TOOLS = os.environ.get("DRIP_TOOLS", os.path.join(os.path.expanduser("~"), ".cache", "drip-tools"))
MULTITOOL = os.path.join(TOOLS, "node_modules", ".bin", "sarif-multitool")
SCHEMA = os.path.join(TOOLS, "node_modules", "@microsoft", "sarif-multitool-linux", "sarif-2.1.0.json")

tmp = tempfile.mkdtemp(prefix="drip-install-")


def cleanup():
    shutil.rmtree(tmp, ignore_errors=True)


def skip(why):
    print("SKIP: " + why)
    cleanup()
    sys.exit(SKIP)


def sh(argv, cwd=None, env=None, timeout=300, check=True):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(argv, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        print("$ " + " ".join(argv) + "\n" + p.stdout + p.stderr)
        raise SystemExit("FAIL: %s exited %d" % (argv[0], p.returncode))
    return p


def install():
    """Installs the build tree into a fresh prefix; returns it."""
    prefix = os.path.join(tmp, "prefix")
    if not os.path.isdir(prefix):
        sh(["cmake", "--install", BUILD, "--prefix", prefix])
    return prefix


def case_install():
    prefix = install()
    drip = os.path.join(prefix, "bin", "drip")
    t.check(os.path.isfile(os.path.join(prefix, "lib", "drip", "libdrip.so")), "PREFIX/lib/drip/libdrip.so installed")
    for f in ["drip.h", "lru.h", "ttlmap.h", "ref.h", "ctx.h", "group.h", "registry.h", "safe_alloc.h"]:
        t.check(os.path.isfile(os.path.join(prefix, "include", "drip", f)), "include/drip/" + f)
    so = os.path.join(prefix, "lib", "libdrip-safe.so")
    t.eq(os.readlink(so), "libdrip-safe.so.0", "libdrip-safe.so links to the SONAME")
    t.eq(os.readlink(os.path.join(prefix, "lib", "libdrip-safe.so.0")), "libdrip-safe.so.0.1.0", "versioned file")
    soname = re.search(r"SONAME\)\s+Library soname: \[(.*)\]", sh(["readelf", "-d", so]).stdout)
    t.eq(soname and soname.group(1), "libdrip-safe.so.0", "SONAME")
    t.check(os.path.isfile(os.path.join(prefix, "lib", "libdrip-safe.a")), "libdrip-safe.a")
    t.check(os.path.isfile(os.path.join(prefix, "share", "man", "man1", "drip.1")), "man page drip(1)")
    t.check(os.path.isfile(os.path.join(prefix, "share", "bash-completion", "completions", "drip")), "bash completion")
    # the installed drip, moved away from the build tree and run from elsewhere
    moved = os.path.join(tmp, "moved")
    shutil.copytree(prefix, moved, symlinks=True)
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    for where in (prefix, moved):
        js = os.path.join(elsewhere, "r.json")
        p = sh([os.path.join(where, "bin", "drip"), "run", "--json", "r.json", "--",
                os.path.join(EXAMPLES, "lost_list")], cwd=elsewhere, env={"LD_PRELOAD": ""})
        with open(js) as f:
            rep = json.load(f)
        os.unlink(js)
        t.eq(t.summary(rep, "definite"), (32, 1), where + ": lost_list's definite leak")
        t.eq(t.summary(rep, "indirect"), (288, 9), where + ": lost_list's indirect leaks")
        t.check("definitely lost in loss record 1 of 2" in p.stderr, where + ": text report on stderr")
    t.eq(sh([drip, "version"]).stdout.strip(), "drip 0.1.0", "installed drip version")


def case_man():
    prefix = install()
    drip = os.path.join(prefix, "bin", "drip")
    man = open(os.path.join(prefix, "share", "man", "man1", "drip.1")).read()
    comp = open(os.path.join(prefix, "share", "bash-completion", "completions", "drip")).read()
    names = [line.split()[0] for line in sh([drip, "options"]).stdout.splitlines()]
    t.check(len(names) >= 20, "drip options lists the table (%d options)" % len(names))
    for n in names:
        flag = "--" + n.replace("_", "-")
        t.check((".B " + flag.replace("-", "\\-")) in man, "man page has " + flag)
        t.check(re.search(r"[ ']%s " % re.escape(flag), comp) is not None, "completion has " + flag)
    # the page renders without troff warnings
    if shutil.which("groff"):
        p = sh(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(prefix, "share", "man", "man1", "drip.1")])
        t.eq(p.stderr, "", "groff -ww warnings")
    # the completion script loads and completes a flag
    if shutil.which("bash"):
        p = sh(["bash", "-c", ". '%s'; COMP_WORDS=(drip run --show-r); COMP_CWORD=2; _drip; echo \"${COMPREPLY[@]}\"" %
                os.path.join(prefix, "share", "bash-completion", "completions", "drip")])
        t.eq(p.stdout.strip(), "--show-reachable", "bash completion of --show-r")


def build_consumer_pkgconfig(prefix, static):
    pc = os.path.join(prefix, "lib", "pkgconfig")
    flags = sh(["pkg-config", "--cflags", "--libs"] + (["--static"] if static else []) + ["drip-safe"],
               env={"PKG_CONFIG_PATH": pc}).stdout.split()
    exe = os.path.join(tmp, "consumer_pc" + ("_static" if static else ""))
    src = os.path.join(HERE, "consumer", "consumer.c")
    if static:
        # -l:libdrip-safe.a: the static archive, as a consumer who wants no run-time dependency links it
        flags = [f if f != "-ldrip-safe" else "-l:libdrip-safe.a" for f in flags]
    sh(["cc", "-o", exe, src] + flags)
    return exe


def plain_consumers_only():
    # a sanitizer build's libdrip-safe needs the sanitizer's runtime first in the process: a
    # plain consumer program cannot load it (make test-asan / test-tsan)
    if os.environ.get("DRIP_SANITIZE"):
        skip("libdrip-safe is built with -fsanitize=%s: a plain consumer cannot link it" % os.environ["DRIP_SANITIZE"])


def case_pkgconfig():
    plain_consumers_only()
    prefix = install()
    t.eq(sh(["pkg-config", "--modversion", "drip-safe"], env={"PKG_CONFIG_PATH": os.path.join(prefix, "lib", "pkgconfig")}).stdout.strip(),
         "0.1.0", "pkg-config --modversion drip-safe")
    exe = build_consumer_pkgconfig(prefix, static=False)
    env = {"LD_LIBRARY_PATH": os.path.join(prefix, "lib")}
    t.eq(sh([exe], env=env).stdout, "count=2 evicted=1 tracked=0\n", "pkg-config consumer (shared) runs")
    needed = sh(["readelf", "-d", exe]).stdout
    t.check("libdrip-safe.so.0" in needed, "the consumer needs libdrip-safe.so.0 (its SONAME)")
    # and under the installed drip, drip.h sees the tracker
    p = sh([os.path.join(prefix, "bin", "drip"), "run", "--", exe], env=env)
    t.eq(p.stdout, "count=2 evicted=1 tracked=1\n", "pkg-config consumer under the installed drip")
    exe = build_consumer_pkgconfig(prefix, static=True)
    t.eq(sh([exe]).stdout, "count=2 evicted=1 tracked=0\n", "pkg-config consumer (static) runs")
    t.check("libdrip-safe" not in sh(["readelf", "-d", exe]).stdout, "the static consumer needs no libdrip-safe.so")


def case_cmake_package():
    plain_consumers_only()
    prefix = install()
    bdir = os.path.join(tmp, "consumer-build")
    sh(["cmake", "-S", os.path.join(HERE, "consumer"), "-B", bdir, "-DCMAKE_PREFIX_PATH=" + prefix])
    sh(["cmake", "--build", bdir])
    t.eq(sh([os.path.join(bdir, "consumer")]).stdout, "count=2 evicted=1 tracked=0\n",
         "find_package(drip) consumer with drip::safe runs (RPATH to the prefix)")
    t.eq(sh([os.path.join(bdir, "consumer_static")]).stdout, "count=2 evicted=1 tracked=0\n",
         "drip::safe_static consumer runs")
    t.check("libdrip-safe" not in sh(["readelf", "-d", os.path.join(bdir, "consumer_static")]).stdout,
            "drip::safe_static links no libdrip-safe.so")
    p = sh([os.path.join(prefix, "bin", "drip"), "run", "--", os.path.join(bdir, "consumer")])
    t.eq(p.stdout, "count=2 evicted=1 tracked=1\n", "find_package consumer under drip: drip::api sees the tracker")


def case_deb():
    if not shutil.which("dpkg-deb") or not shutil.which("cpack"):
        skip("dpkg-deb or cpack missing")
    out = os.path.join(tmp, "pkg")
    sh(["cpack", "-G", "DEB", "-B", out, "--config", os.path.join(BUILD, "CPackConfig.cmake")], cwd=BUILD, timeout=600)
    debs = glob.glob(os.path.join(out, "drip_*.deb"))
    t.eq(len(debs), 1, "one drip_*.deb")
    if not debs:
        return
    deb = debs[0]
    t.check(re.search(r"drip_0\.1\.0_amd64\.deb$", deb) is not None, "file name drip_0.1.0_amd64.deb (%s)" % os.path.basename(deb))
    info = sh(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"]).stdout
    t.check("Package: drip" in info and "Version: 0.1.0" in info, "control: package and version")
    depends = re.search(r"Depends: (.*)", info).group(1)
    for lib in ("libc6", "libunwind8", "libdw1", "zlib1g"):
        t.check(re.search(r"\b%s\b" % re.escape(lib), depends) is not None, "Depends names " + lib)
    contents = sh(["dpkg-deb", "--contents", deb]).stdout
    for f in ["./usr/bin/drip", "./usr/lib/drip/libdrip.so", "./usr/include/drip/drip.h",
              "./usr/share/man/man1/drip.1", "./usr/share/bash-completion/completions/drip",
              "./usr/lib/pkgconfig/drip-safe.pc", "./usr/lib/cmake/drip/dripConfig.cmake", "./usr/lib/libdrip-safe.a"]:
        t.check((" " + f + "\n") in contents or (" " + f + " ") in contents, "package holds " + f)
    t.check("libdrip-safe.so.0 ->" in contents or "libdrip-safe.so.0.1.0" in contents, "package holds libdrip-safe.so.0")
    # every runtime dependency is installed here: the extracted tree's drip runs from another directory
    root = os.path.join(tmp, "root")
    sh(["dpkg-deb", "-x", deb, root])
    for lib in ("libc6", "libunwind8", "libdw1", "zlib1g"):
        t.eq(subprocess.run(["dpkg-query", "-W", "-f=${Status}", lib], capture_output=True, text=True).stdout,
             "install ok installed", lib + " (a Depends) is installed here")
    p = sh([os.path.join(root, "usr", "bin", "drip"), "run", "--", os.path.join(EXAMPLES, "lost_list")], cwd="/")
    t.check("32 bytes in 1 blocks are definitely lost in loss record 1 of 2" in p.stderr, "the packaged drip reports lost_list")
    # (ls closes its stderr at exit, so the report goes to a file)
    log = os.path.join(tmp, "ls.log")
    p = sh([os.path.join(root, "usr", "bin", "drip"), "run", "--log-path", log, "--", "ls", "/"], cwd="/")
    t.check("bin\n" in p.stdout and "LEAK SUMMARY:" in open(log).read(), "the packaged drip runs `drip run -- ls /` from /")
    # apt on a fresh root (an empty dpkg status: nothing installed) resolves the package's Depends
    # from the archive and pulls the runtime libraries (simulated: nothing is installed here)
    if shutil.which("apt-get") and glob.glob("/var/lib/apt/lists/*Packages*"):
        status = os.path.join(tmp, "empty-status")
        open(status, "w").close()
        p = sh(["apt-get", "install", "-s", "-o", "Dir::State::status=" + status, os.path.abspath(deb)], check=False)
        print(p.stdout[-3000:] + p.stderr[-1000:])
        t.eq(p.returncode, 0, "apt-get install -s ./drip_*.deb on an empty root")
        pulled = set(re.findall(r"^Inst (\S+) ", p.stdout, re.M))
        for pkg in ("drip", "libc6", "libunwind8", "libdw1", "zlib1g"):
            t.check(pkg in pulled, "apt pulls " + pkg)
    else:
        print("note: no apt package lists here (apt-get update): the dependency resolution check is not run")


def run_ctest_memcheck(command, mtype, options=None):
    """Builds tests/install/project and runs ctest -T memcheck with this checker; returns output."""
    bdir = os.path.join(tmp, "memcheck-" + os.path.basename(command) + ("-opts" if options else ""))
    sh(["cmake", "-S", os.path.join(HERE, "project"), "-B", bdir, "-DMEMORYCHECK_COMMAND=" + command,
        "-DMEMORYCHECK_TYPE=" + mtype] + (["-DMEMORYCHECK_COMMAND_OPTIONS=" + options] if options else []))
    sh(["cmake", "--build", bdir])
    p = sh(["ctest", "-T", "memcheck"], cwd=bdir, check=False, timeout=300)
    return p.stdout + p.stderr, bdir


def memcheck_results(out):
    m = re.search(r"Memory checking results:\n((?:.+\n)*)", out + "\n")
    return m.group(1).strip().splitlines() if m else None


def case_memcheck():
    prefix = install()
    out, bdir = run_ctest_memcheck(os.path.join(prefix, "bin", "drip"), "Valgrind")
    print(out)
    t.check("100% tests passed, 0 tests failed out of 2" in out, "both tests pass under drip (exit status kept)")
    t.eq(memcheck_results(out), ["Memory Leak - 1"], "CTest's memory checking results under drip")
    t.check(re.search(r"MemCheck: #1: leaky \.+ +Defects: 1\n", out) is not None, "leaky: 1 defect")
    t.check(re.search(r"MemCheck: #2: tidy \.+ +Defects", out) is None, "tidy: no defect")
    log = open(os.path.join(bdir, "Testing", "Temporary", "MemoryChecker.1.log")).read()
    t.check(re.search(r"^==\d+== 64 bytes in 1 blocks are definitely lost in loss record 1 of 1$", log, re.M) is not None,
            "the log has valgrind's loss record line")
    t.check(re.search(r"^==\d+==    (at|by) 0x[0-9a-f]+: make_buffer ", log, re.M) is not None, "the stack names make_buffer")
    # the DynamicAnalysis XML CDash reads counts the defect too
    xml = glob.glob(os.path.join(bdir, "Testing", "*", "DynamicAnalysis.xml"))
    t.eq(len(xml), 1, "DynamicAnalysis.xml written")
    if xml:
        x = open(xml[0]).read()
        t.check(re.search(r'<Defect type="Memory Leak">1</Defect>', x) is not None, "DynamicAnalysis.xml: Memory Leak 1")
    # the options docs/ci.md suggests instead of CTest's default (no --show-reachable)
    oout, obdir = run_ctest_memcheck(os.path.join(prefix, "bin", "drip"), "Valgrind",
                                     "-q --tool=memcheck --leak-check=yes --num-callers=50")
    t.eq(memcheck_results(oout), ["Memory Leak - 1"], "MEMORYCHECK_COMMAND_OPTIONS without --show-reachable")
    # valgrind itself, on the same project, gives the same counts
    vg = shutil.which("valgrind")
    if vg:
        vout, _ = run_ctest_memcheck(vg, "Valgrind")
        t.eq(memcheck_results(vout), memcheck_results(out), "valgrind's memory checking results are the same")


def project_copy(name):
    """A fresh copy of tests/install/project (autoreconf and meson write next to the sources)."""
    d = os.path.join(tmp, name)
    shutil.copytree(os.path.join(HERE, "project"), d)
    return d


def case_meson():
    if not shutil.which("meson") or not shutil.which("ninja"):
        skip("meson or ninja missing")
    prefix = install()
    src = project_copy("meson-src")
    bdir = os.path.join(tmp, "meson-build")
    sh(["meson", "setup", bdir, src])
    drip = os.path.join(prefix, "bin", "drip")
    # docs/ci.md's line, with the installed drip
    p = sh(["meson", "test", "-C", bdir, "--wrapper", drip + " run --error-exitcode 23 --"], check=False)
    out = p.stdout + p.stderr
    print(out)
    t.check(p.returncode != 0, "meson test fails (a test leaked)")
    t.check(re.search(r"^Ok: +1\s*$", out, re.M) is not None, "meson: Ok: 1 (tidy)")
    t.check(re.search(r"^Fail: +1\s*$", out, re.M) is not None, "meson: Fail: 1 (leaky)")
    t.check(re.search(r"leaky +FAIL .*exit status 23", out) is not None, "leaky fails with drip's status 23")
    # meson names the log after the wrapper: testlog-drip.txt
    logs = glob.glob(os.path.join(bdir, "meson-logs", "testlog*.txt"))
    log = "".join(open(f).read() for f in logs)
    t.check("64 bytes in 1 blocks are definitely lost in loss record 1 of 1" in log, "the report is in meson's test log")


def case_autotools():
    if not shutil.which("autoreconf") or not shutil.which("automake"):
        skip("autoconf or automake missing")
    prefix = install()
    src = project_copy("autotools-src")
    sh(["autoreconf", "-i"], cwd=src)
    sh(["./configure"], cwd=src)
    drip = os.path.join(prefix, "bin", "drip")
    p = sh(["make", "check", "LOG_COMPILER=" + drip, "LOG_FLAGS=run --error-exitcode 23 --"], cwd=src, check=False)
    out = p.stdout + p.stderr
    print(out[-3000:])
    t.check(p.returncode != 0, "make check fails (a test leaked)")
    t.check(re.search(r"^# PASS: +1$", out, re.M) is not None, "automake: # PASS: 1 (tidy)")
    t.check(re.search(r"^# FAIL: +1$", out, re.M) is not None, "automake: # FAIL: 1 (leaky)")
    log = open(os.path.join(src, "leaky.log")).read()
    t.check("64 bytes in 1 blocks are definitely lost in loss record 1 of 1" in log, "the report is in leaky.log")


def vg_drip(args, cwd=None):
    return sh([t.DRIP] + args, cwd=cwd, check=False)


def case_vgcompat():
    work = os.path.join(tmp, "vg")
    os.makedirs(work)
    prog = os.path.join(EXAMPLES, "lost_list")
    # CTest's exact command line, with %p in the log name
    p = vg_drip(["-q", "--tool=memcheck", "--leak-check=yes", "--show-reachable=yes", "--num-callers=2",
                 "--log-file=" + os.path.join(work, "vg.%p.log"), prog], cwd=work)
    t.eq(p.returncode, 0, "status is the program's")
    t.eq(p.stderr, "", "nothing on stderr with -q and a log file")
    logs = glob.glob(os.path.join(work, "vg.*.log"))
    t.eq(len(logs), 1, "one log named by %p")
    log = open(logs[0]).read() if logs else ""
    pid = re.search(r"vg\.(\d+)\.log$", logs[0]).group(1) if logs else "?"
    t.check(("==%s== 32 bytes in 1 blocks are definitely lost in loss record 1 of 2" % pid) in log, "log names the pid of %p")
    frames = re.findall(r"^==\d+==    (?:at|by) .*$", log.split("loss record 1 of 2")[1].split("\n==%s==\n" % pid)[0], re.M) if log else []
    t.eq(len(frames), 2, "--num-callers=2 keeps two frames")
    # --error-exitcode, --trace-children, an ignored flag said once
    p = vg_drip(["--error-exitcode=42", "--leak-check=full", "--track-origins=yes", "--log-file=" + os.path.join(work, "e.log"), prog])
    t.eq(p.returncode, 42, "--error-exitcode=42 with a definite leak (a full leak check, as valgrind counts it)")
    t.eq(p.stderr, "drip: ignoring --track-origins=yes (valgrind option with no drip equivalent)\n", "ignored flag said")
    # --child-silent-after-fork=yes: the forked child writes no report (valgrind's meaning)
    forks = os.path.join(t.PROGS, "forks")
    for flag, want in (("no", 1), ("yes", 0)):
        base = os.path.join(work, "fork-" + flag + ".log")
        p = vg_drip(["-q", "--child-silent-after-fork=" + flag, "--log-file=" + base, forks])
        t.eq((p.returncode, os.path.exists(base), len(glob.glob(base + ".*"))), (0, True, want),
             "--child-silent-after-fork=%s: the child's report files" % flag)
    # valgrind-format suppressions and LSan-format ones: both used
    vsupp = os.path.join(work, "vg.supp")
    open(vsupp, "w").write("{\n   lost\n   Memcheck:Leak\n   fun:malloc\n   fun:make_node\n}\n")
    p = vg_drip(["-q", "--suppressions=" + vsupp, "--log-file=" + os.path.join(work, "s.log"), prog])
    log = open(os.path.join(work, "s.log")).read()
    t.check("suppressed: 320 bytes in 10 blocks" in log, "valgrind-format suppressions used")
    lsupp = os.path.join(work, "lsan.supp")
    open(lsupp, "w").write("leak:make_node\n")
    p = vg_drip(["-q", "--suppressions=" + lsupp, "--log-file=" + os.path.join(work, "l.log"), prog])
    log = open(os.path.join(work, "l.log")).read()
    t.check("suppressed: 320 bytes in 10 blocks" in log, "LeakSanitizer-format suppressions used")
    # several --suppressions, as valgrind takes them: each file's entries are used
    other = os.path.join(work, "other.supp")
    open(other, "w").write("leak:no_function_of_this_name\n")
    for order in ((vsupp, other), (other, vsupp)):
        log = os.path.join(work, "two.log")
        p = vg_drip(["-q"] + ["--suppressions=" + f for f in order] + ["--log-file=" + log, prog])
        t.check(p.returncode == 0 and "suppressed: 320 bytes in 10 blocks" in open(log).read(),
                "two --suppressions files (%s first): both read" % os.path.basename(order[0]))
    # errors a user must see
    p = vg_drip(["--tool=helgrind", prog])
    t.eq((p.returncode, p.stderr.strip()), (2, "drip: --tool=helgrind: drip is a leak checker; only --tool=memcheck is supported"), "other tools refused")
    p = vg_drip(["--no-such-flag", prog])
    t.eq((p.returncode, p.stderr.strip()), (2, "drip: unknown option '--no-such-flag' (drip takes valgrind's leak-check options, or see drip --help)"), "unknown flag refused")
    p = vg_drip(["--log-file", "x.log", prog])
    t.eq((p.returncode, p.stderr.strip()), (2, "drip: --log-file needs a value (--log-file=...)"), "valgrind's flags take =VALUE")
    p = vg_drip(["--num-callers=0", prog])
    t.eq((p.returncode, p.stderr.strip()), (2, "drip: --num-callers takes a number from 1"), "--num-callers=0 refused")
    p = vg_drip(["-q"])
    t.eq((p.returncode, p.stderr.strip()), (2, "drip: no program to run (usage: drip [valgrind options] program [args...])"), "no program")
    # program arguments after the program are the program's, even when they look like flags
    p = vg_drip(["-q", "/bin/echo", "--tool=x", "-q"])
    t.eq(p.stdout, "--tool=x -q\n", "the program's own arguments pass through")


def sarif_of(report_path, root, out):
    p = sh([t.DRIP, "sarif", "--source-root", root, "-o", out, report_path], check=False)
    t.eq(p.returncode, 0, "drip sarif exits 0")
    with open(out) as f:
        return json.load(f)


def validate_schema(doc, what):
    try:
        import jsonschema
    except ImportError:
        return "python3-jsonschema missing"
    if not os.path.exists(SCHEMA):
        return "SARIF schema missing (scripts/npm-tools.sh installs it)"
    with open(SCHEMA) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:5]:
        print("  schema: %s at %s" % (e.message, "/".join(map(str, e.path))))
    t.eq(len(errors), 0, what + ": SARIF 2.1.0 schema errors")
    return None


def multitool_validate(path, what):
    if not os.access(MULTITOOL, os.X_OK):
        return "SARIF Multitool missing (scripts/npm-tools.sh installs it)"
    out = path + ".validation.sarif"
    if os.path.exists(out):
        os.unlink(out)
    p = sh([MULTITOOL, "validate", path, "--output", out], check=False,
           env={"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"})
    print(p.stdout[-2000:])
    with open(out) as f:
        v = json.load(f)
    errs = [r for run in v["runs"] for r in run.get("results", []) if r.get("level", "warning") == "error"]
    for r in errs[:5]:
        print("  multitool: %s %s" % (r.get("ruleId"), r.get("message", {}).get("text", r.get("message"))))
    t.eq(len(errs), 0, what + ": SARIF Multitool validate errors")
    t.eq(p.returncode, 0, what + ": sarif-multitool validate exits 0")
    return None


def case_sarif():
    work = os.path.join(tmp, "sarif")
    os.makedirs(work)
    # drip run --sarif on lost_list (definite + indirect) and interior_pointer (possible)
    out = os.path.join(work, "lost_list.sarif")
    tmpd = os.path.join(work, "tmp")
    os.makedirs(tmpd)
    p = sh([t.DRIP, "run", "--sarif", out, "--source-root", SRC, "--", os.path.join(EXAMPLES, "lost_list")],
           check=False, env={"TMPDIR": tmpd})
    t.eq(p.returncode, 0, "drip run --sarif keeps the program's status")
    t.eq(os.listdir(tmpd), [], "the temporary JSON report is removed")
    doc = json.load(open(out))
    t.eq(doc["version"], "2.1.0", "version")
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    t.eq([(r["id"], r["defaultConfiguration"]["level"]) for r in rules],
         [("drip.leak.definite", "error"), ("drip.leak.indirect", "error"), ("drip.leak.possible", "warning")], "rules")
    t.eq(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file://" + SRC + "/", "SRCROOT is the source root")
    res = run["results"]
    t.eq([(r["ruleId"], r["level"], r["properties"]["bytes"], r["properties"]["blocks"]) for r in res],
         [("drip.leak.definite", "error", 32, 1), ("drip.leak.indirect", "error", 288, 9)], "one result per record")
    loc = res[0]["locations"][0]["physicalLocation"]
    t.eq((loc["artifactLocation"], loc["region"]["startLine"]),
         ({"uri": "examples/lost_list.c", "uriBaseId": "SRCROOT"}, 33), "primary location: make_node's line, relative")
    flow = res[0]["codeFlows"][0]["threadFlows"][0]["locations"]
    t.eq([(f["location"]["logicalLocations"][0]["fullyQualifiedName"],
           f["location"]["physicalLocation"]["region"]["startLine"]) for f in flow],
         [("main", 78), ("count_words", 52), ("make_node", 33)], "code flow: main -> count_words -> make_node")
    t.eq(res[0]["message"]["text"], "32 bytes in 1 blocks are definitely lost: allocated in make_node", "message")
    docs = [(out, doc)]
    # drip sarif from a JSON report: possible -> warning; a suppressed record keeps its suppression
    rj = os.path.join(work, "ip.json")
    supp = os.path.join(work, "s.supp")
    open(supp, "w").write("leak:load_index\n")
    sh([t.DRIP, "run", "--json", rj, "--", os.path.join(EXAMPLES, "interior_pointer")], check=False)
    ip = sarif_of(rj, SRC, os.path.join(work, "ip.sarif"))
    t.eq([(r["ruleId"], r["level"], r["properties"]["bytes"]) for r in ip["runs"][0]["results"]],
         [("drip.leak.possible", "warning", 1048576)], "possibly lost -> warning")
    docs.append((os.path.join(work, "ip.sarif"), ip))
    sh([t.DRIP, "run", "--json", rj, "--suppressions", supp, "--", os.path.join(EXAMPLES, "interior_pointer")], check=False)
    sp = sarif_of(rj, SRC, os.path.join(work, "sp.sarif"))
    t.eq([r.get("suppressions") for r in sp["runs"][0]["results"]],
         [[{"kind": "external", "justification": "leak:load_index"}]], "suppressed record: external suppression")
    docs.append((os.path.join(work, "sp.sarif"), sp))
    # a source root that holds none of the files: absolute file URIs
    other = sarif_of(rj, work, os.path.join(work, "abs.sarif"))
    uri = other["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    t.eq(uri, "file://" + SRC + "/examples/interior_pointer.c", "outside the source root: absolute file URI")
    docs.append((os.path.join(work, "abs.sarif"), other))
    # errors
    p = sh([t.DRIP, "sarif", os.path.join(work, "nope.json")], check=False)
    t.eq(p.returncode, 2, "missing report: status 2")
    open(os.path.join(work, "bad.json"), "w").write("{\"leaks\": [")
    p = sh([t.DRIP, "sarif", os.path.join(work, "bad.json")], check=False)
    t.eq((p.returncode, p.stderr.count("\n")), (2, 1), "malformed report: one line, status 2")
    skipped = []
    for path, d in docs:
        why = validate_schema(d, os.path.basename(path))
        if why:
            skipped.append(why)
        why = multitool_validate(path, os.path.basename(path))
        if why:
            skipped.append(why)
    if skipped and not t.failures:
        skip("; ".join(sorted(set(skipped))))


def case_suppress():
    work = os.path.join(tmp, "supp")
    os.makedirs(work)
    prog = os.path.join(t.PROGS, "leaks")
    r1 = t.run([prog])
    kinds = [r["kind"] for r in r1.report["leaks"] if r["kind"] != "reachable"]
    t.check(len(kinds) >= 3 and {"definite", "indirect", "possible"} <= set(kinds),
            "the first run has definite, indirect and possible records (%s)" % kinds)
    rj = os.path.join(work, "r.json")
    with open(rj, "w") as f:
        json.dump(r1.report, f)
    p = sh([t.DRIP, "suppress", rj])
    lines = [l for l in p.stdout.splitlines() if not l.startswith("#")]
    print(p.stdout)
    t.check(all(re.match(r"^leak:\^[A-Za-z_][\w:<>, *&~()\[\]]*\$$", l) for l in lines), "one anchored leak:^function$ per line")
    t.check(not any("malloc" in l or "calloc" in l for l in lines), "no line names the allocator")
    supp = os.path.join(work, "drip.supp")
    with open(supp, "w") as f:
        f.write(p.stdout)
    r2 = t.run([prog], ["--suppressions", supp])
    for k in ("definite", "indirect", "possible"):
        t.eq(r2.summary(k), (0, 0), "second run with drip.supp: no %s bytes" % k)
    total = sum(r1.summary(k)[0] for k in ("definite", "indirect", "possible"))
    t.eq(r2.report["summary"]["suppressed"]["bytes"], total, "every leaked byte suppressed instead")
    p = sh([t.DRIP, "suppress"], check=False)
    t.eq(p.returncode, 2, "no report: status 2")


def case_gen_suppressions():
    work = os.path.join(tmp, "gen")
    os.makedirs(work)
    log = os.path.join(work, "r.log")
    p = sh([t.DRIP, "run", "--gen-suppressions=all", "--log-path", log, "--", os.path.join(EXAMPLES, "lost_list")], check=False)
    t.eq(p.returncode, 0, "status kept")
    text = open(log).read()
    # valgrind's place: right after each record's stack, bare so that it can be copied as it is
    recs = re.findall(r"==\d+== (\d+) bytes in \d+ blocks are (definitely|indirectly) lost in loss record \d+ of 2\n"
                      r"(?:==\d+==    (?:at|by) [^\n]*\n)+(leak:[^\n]*)\n==\d+==\n", text)
    t.eq(recs, [("32", "definitely", "leak:^make_node$"), ("288", "indirectly", "leak:^make_node$")],
         "after each record: its leak:^make_node$ line")
    t.eq(text.count("leak:"), 2, "no other suppression line")
    # the valgrind spelling writes to the valgrind log
    p = vg_drip(["-q", "--gen-suppressions=all", "--log-file=" + os.path.join(work, "vg.log"), os.path.join(EXAMPLES, "lost_list")])
    t.eq(open(os.path.join(work, "vg.log")).read().count("   ...\n   fun:make_node\n"), 2,
         "valgrind's command line: --gen-suppressions prints valgrind's blocks")
    p = sh([t.DRIP, "run", "--gen-suppressions=maybe", "--", "/bin/true"], check=False)
    t.eq(p.returncode, 2, "bad --gen-suppressions value: status 2")


if __name__ == "__main__":
    t.main(globals(), cleanup)
