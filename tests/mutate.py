#!/usr/bin/env python3
"""Mutation check: do the tests fail when the code is wrong?

Applies each mutation of tests/mutations.txt (a small deliberate bug: one or more one-line
replacements) to a scratch copy of the working tree, rebuilds it, runs the tests the mutation
names, and says whether they caught it (killed) or not (survived). A mutation the list marks as
equivalent (with the reason it cannot change behaviour) that survives counts as equivalent; one
that is killed is reported so that its mark can go.

Usage: tests/mutate.py [--list FILE] [--only ID[,ID...]] [--keep] [--jobs N] [--check]
       (`make mutate` runs it with the defaults)

The scratch copy (git's tracked and untracked, not ignored, files under /tmp/drip-mutate-*) is
configured and built once (fuzz targets off), then rebuilt incrementally after each mutation and
after each restore. Lines are found by their text, not their number, so the list survives edits
elsewhere in a file; a pattern that matches no line, or several, is reported as STALE (the list
needs updating) and makes the run fail, as does a mutation that does not build.
The last line reads: N killed, M survived, K equivalent.
Exit status: 0 when nothing survived that is not marked equivalent and nothing is stale.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


class Mutation:
    def __init__(self, ident, lineno):
        self.id, self.lineno = ident, lineno
        self.file = None
        self.edits = []          # [(find, replace)]
        self.tests = None        # ctest -R regex
        self.equivalent = None   # reason, when marked equivalent
        self.why = ""            # what the bug is
        self.each = False        # every test named must fail, not just one


def parse(path):
    """The mutation list: blocks that start with [id], then `key: value` lines (file, find,
    replace -- pairs, in order --, tests, equivalent, why). '#' starts a comment line."""
    muts, cur = [], None
    for n, raw in enumerate(open(path), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^\[([\w.-]+)\]\s*$", line)
        if m:
            cur = Mutation(m.group(1), n)
            muts.append(cur)
            continue
        m = re.match(r"^(file|find|replace|tests|equivalent|why|each):\s?(.*)$", line)
        if not m or cur is None:
            sys.exit("%s:%d: expected [id] or 'key: value' (file, find, replace, tests, equivalent, why)" % (path, n))
        key, val = m.group(1), m.group(2)
        if key == "file":
            cur.file = val.strip()
        elif key == "find":
            cur.edits.append([val, None])
        elif key == "replace":
            if not cur.edits or cur.edits[-1][1] is not None:
                sys.exit("%s:%d: 'replace' without its 'find'" % (path, n))
            cur.edits[-1][1] = val
        elif key == "tests":
            cur.tests = val.strip()
        elif key == "equivalent":
            cur.equivalent = val.strip()
        elif key == "why":
            cur.why = val.strip()
        elif key == "each":
            cur.each = val.strip() == "yes"
    ids = set()
    for mu in muts:
        if not mu.file or not mu.edits or any(r is None for _, r in mu.edits) or not mu.tests:
            sys.exit("%s:%d: [%s] needs file, find/replace pairs and tests" % (path, mu.lineno, mu.id))
        if mu.id in ids:
            sys.exit("%s:%d: [%s] is listed twice" % (path, mu.lineno, mu.id))
        ids.add(mu.id)
    return muts


def mutate_text(text, edits):
    """The text with each edit applied to the one line that contains `find` (stripped of its
    surrounding whitespace); an error string when a pattern matches no line or several."""
    lines = text.split("\n")
    for find, repl in edits:
        pat = find.strip()
        hits = [i for i, l in enumerate(lines) if pat in l]
        if len(hits) != 1:
            return None, "pattern %r matches %d lines" % (pat, len(hits))
        i = hits[0]
        lines[i] = lines[i].replace(pat, repl.strip(), 1)
    return "\n".join(lines), None


def copy_tree(dst):
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    for f in files:
        if not f or not os.path.isfile(os.path.join(ROOT, f)):
            continue
        d = os.path.join(dst, os.path.dirname(f))
        os.makedirs(d, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    # make sure the build sees a change even within the file system's timestamp granularity
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, max(st.st_mtime_ns, time.time_ns()) + 1000000))


def build(bdir, jobs, log):
    p = subprocess.run(["cmake", "--build", bdir, "-j", str(jobs)], stdout=log, stderr=subprocess.STDOUT)
    return p.returncode == 0


def run_tests(bdir, regex, jobs, log, each):
    """(caught, failed test names, skipped ones, ctest's output): ctest stops at the first failure,
    unless `each` (then every test runs, and every one must fail)."""
    stop = [] if each else ["--stop-on-failure"]
    # an empty name cache per mutant: names cached by an earlier build (same build IDs) would hide
    # a mutant of the symbolizer
    with tempfile.TemporaryDirectory() as cache:
        p = subprocess.run(["ctest", "-R", regex, "-j", str(jobs), "--no-tests=error", "--timeout", "300"] + stop,
                           cwd=bdir, capture_output=True, text=True, env=dict(os.environ, XDG_CACHE_HOME=cache))
    log.write(p.stdout + p.stderr)
    log.flush()
    failed = re.findall(r"^\s*\d+ - (\S+) \((?:Failed|Timeout|SEGFAULT|Subprocess aborted|Exception|Child aborted|Not Run|\w+)", p.stdout, re.M)
    skipped = re.findall(r"^\s*\d+ - (\S+) \(Skipped\)", p.stdout, re.M)
    failed = [f for f in failed if f not in skipped]
    if each:
        ran = re.findall(r"Test\s+#\d+: (\S+) \.", p.stdout)
        passed = [t for t in ran if t not in failed and t not in skipped]
        return bool(ran) and not passed, failed, skipped, passed
    return p.returncode != 0 or bool(failed), failed, skipped, []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", default=os.path.join(ROOT, "tests", "mutations.txt"))
    ap.add_argument("--only", help="comma-separated mutation ids")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copy")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--check", action="store_true", help="only check that every mutation applies to the working tree")
    args = ap.parse_args()
    muts = parse(args.list)
    if args.check:
        bad = 0
        for mu in muts:
            path = os.path.join(ROOT, mu.file)
            err = "%s does not exist" % mu.file if not os.path.exists(path) else mutate_text(open(path).read(), mu.edits)[1]
            if err:
                bad += 1
                print("STALE     %-34s %s" % (mu.id, err))
        print("mutate: %d mutation(s), %d stale" % (len(muts), bad))
        sys.exit(1 if bad else 0)
    if args.only:
        want = set(args.only.split(","))
        unknown = want - {m.id for m in muts}
        if unknown:
            sys.exit("mutate: no such mutation: " + ", ".join(sorted(unknown)))
        muts = [m for m in muts if m.id in want]

    t0 = time.time()
    scratch = tempfile.mkdtemp(prefix="drip-mutate-")
    bdir = os.path.join(scratch, "build")
    logpath = os.path.join(scratch, "mutate.log")
    log = open(logpath, "w")
    print("mutate: %d mutation(s); scratch copy %s (log: %s)" % (len(muts), scratch, logpath), flush=True)
    killed = survived = equivalent = 0
    problems = []
    try:
        copy_tree(scratch)
        p = subprocess.run(["cmake", "-S", scratch, "-B", bdir, "-DDRIP_CLANG=OFF"], stdout=log, stderr=subprocess.STDOUT)
        if p.returncode != 0 or not build(bdir, args.jobs, log):
            print("mutate: the unmutated copy does not build: see " + logpath)
            args.keep = True
            sys.exit(2)
        print("mutate: built in %.0f s" % (time.time() - t0), flush=True)
        for mu in muts:
            t1 = time.time()
            path = os.path.join(scratch, mu.file)
            if not os.path.exists(path):
                problems.append(mu.id)
                print("STALE     %-34s %s does not exist" % (mu.id, mu.file), flush=True)
                continue
            orig = open(path).read()
            text, err = mutate_text(orig, mu.edits)
            if err:
                problems.append(mu.id)
                print("STALE     %-34s %s: %s" % (mu.id, mu.file, err), flush=True)
                continue
            log.write("\n==== %s\n" % mu.id)
            try:
                write(path, text)
                if not build(bdir, args.jobs, log):
                    problems.append(mu.id)
                    print("NOBUILD   %-34s the mutant does not compile (see the log)" % mu.id, flush=True)
                    continue
                caught, failed, skipped, passed = run_tests(bdir, mu.tests, args.jobs, log, mu.each)
            finally:
                write(path, orig)
            took = time.time() - t1
            note = " (skipped: %s)" % ", ".join(skipped) if skipped else ""
            if caught:
                killed += 1
                mark = "  -- marked equivalent, but it is caught: remove the mark" if mu.equivalent else ""
                print("KILLED    %-34s %4.0f s  by %s%s%s" % (mu.id, took, ", ".join(failed) or "ctest", note, mark), flush=True)
            elif mu.equivalent:
                equivalent += 1
                print("EQUIVAL.  %-34s %4.0f s  %s%s" % (mu.id, took, mu.equivalent, note), flush=True)
            else:
                survived += 1
                what = "passed: " + ", ".join(passed) if passed else "tests %s all passed" % mu.tests
                print("SURVIVED  %-34s %4.0f s  %s: %s%s" % (mu.id, took, what, mu.why, note), flush=True)
        # leave the copy as it was (every file restored) and make sure the restore builds
        build(bdir, args.jobs, log)
    finally:
        log.close()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    if problems:
        print("mutate: %d mutation(s) could not be applied or built: %s" % (len(problems), ", ".join(problems)))
    print("mutate: %.0f s in all" % (time.time() - t0))
    print("%d killed, %d survived, %d equivalent" % (killed, survived, equivalent))
    sys.exit(1 if survived or problems else 0)


if __name__ == "__main__":
    main()
