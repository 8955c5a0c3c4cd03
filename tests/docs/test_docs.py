"""The documentation keeps up with the code (issue #17): docs/internals.md names every file under
src/, every option, endpoint and JSON report field; the README stays a front door whose commands
run as written; no relative link in the docs is broken. One ctest per case (docs_NAME).
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import driptest as dt  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INTERNALS = os.path.join(ROOT, "docs", "internals.md")


def read(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return f.read()


def section(text, heading):
    """The text under `heading` (a whole heading line) up to the next heading of its level or above."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.split("\n")
    if heading not in lines:
        return None
    out = []
    for line in lines[lines.index(heading) + 1:]:
        m = re.match(r"(#+) ", line)
        if m and len(m.group(1)) <= level:
            break
        out.append(line)
    return "\n".join(out)


def first_column_names(table_text):
    """The backticked names of each table row's first cell."""
    names = set()
    for line in table_text.split("\n"):
        if line.startswith("|") and not line.startswith("|---"):
            cell = line.split("|")[1]
            names.update(re.findall(r"`([^`]+)`", cell))
    return names


def src_files():
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "src")):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, f), os.path.join(ROOT, "src")))
    return sorted(out)


def case_src_files():
    """Every file under src/ has its line in the module map, and every line names a real file."""
    text = read("docs/internals.md")
    files = src_files()
    dt.check(len(files) >= 80, "files under src/: %d" % len(files))
    by_dir = {}
    for f in files:
        top, rest = f.split(os.sep, 1)
        by_dir.setdefault(top, set()).add(rest.replace(os.sep, "/"))
    for top, names in sorted(by_dir.items()):
        sec = ""
        for line in text.split("\n"):   # "### src/preload/ — what it is"
            if line == "### src/%s/" % top or line.startswith("### src/%s/ " % top):
                sec = section(text, line)
                break
        dt.check(bool(sec), "docs/internals.md has a section ### src/%s/" % top)
        listed = first_column_names(sec or "")
        for n in sorted(names):
            dt.check(n in listed, "docs/internals.md names src/%s/%s" % (top, n))
        for n in sorted(listed - names):
            dt.check(False, "docs/internals.md names src/%s/%s, which does not exist" % (top, n))


def option_names():
    names = re.findall(r"^\s*X\((\w+),", read("src/common/options.h"), re.M)
    dt.check(len(names) >= 20, "options in src/common/options.h: %d" % len(names))
    return names


def case_options():
    """Every option of the table: a row of docs/options.md and of internals.md's option map."""
    text = read("docs/internals.md")
    sec = section(text, "## Where each option is read") or ""
    dt.check(bool(sec), "docs/internals.md has the section 'Where each option is read'")
    listed = first_column_names(sec)
    table = read("docs/options.md")
    for n in option_names():
        dt.check(n in listed, "docs/internals.md says where option %s is read" % n)
        dt.check("| `%s` |" % n in table, "docs/options.md has a row for option %s" % n)
    for n in sorted(listed - set(option_names())):
        dt.check(False, "docs/internals.md maps option %s, which the table does not have" % n)


def endpoint_paths():
    paths = set()
    for f in glob.glob(os.path.join(ROOT, "src", "preload", "**", "*.c"), recursive=True):
        with open(f) as fh:
            for m in re.finditer(r'"(/debug/[a-z_/]*|/metrics)"', fh.read()):
                paths.add(m.group(1))
    return sorted(paths)


def case_endpoints():
    """Every path the HTTP server answers: in internals.md's endpoint map and in docs/live.md."""
    paths = endpoint_paths()
    dt.check(len(paths) >= 8, "endpoint paths in src/preload: %d (%s)" % (len(paths), " ".join(paths)))
    sec = section(read("docs/internals.md"), "## Where each endpoint is served") or ""
    dt.check(bool(sec), "docs/internals.md has the section 'Where each endpoint is served'")
    listed = first_column_names(sec)
    live = read("docs/live.md")
    for p in paths:
        dt.check(p in listed, "docs/internals.md says where %s is served" % p)
        if p != "/debug/pprof/":   # the index page, also served at /
            dt.check("`%s`" % p in live, "docs/live.md documents %s" % p)


def report_fields():
    keys = set()
    for f in src_files():
        base = os.path.basename(f)
        if f.endswith(".c") and (base.startswith("report") or base == "foreign.c"):
            with open(os.path.join(ROOT, "src", f)) as fh:
                keys.update(re.findall(r'\\"([a-z_]+)\\":', fh.read()))
    return sorted(keys)


def case_report_fields():
    """Every key the JSON leak report can hold is in internals.md's report-field map."""
    keys = report_fields()
    dt.check(len(keys) >= 30, "JSON report keys in src/*/report*.c and foreign.c: %d" % len(keys))
    sec = section(read("docs/internals.md"), "## Where each report field comes from") or ""
    dt.check(bool(sec), "docs/internals.md has the section 'Where each report field comes from'")
    listed = first_column_names(sec)
    for k in keys:
        dt.check(k in listed, "docs/internals.md says where JSON field %s comes from" % k)


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def case_links():
    """No relative link of the README, docs/, tests/, bench/ or examples/ READMEs is broken."""
    files = DOC_FILES + \
        sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    n = 0
    for rel in files:
        text = read(rel)
        for m in re.finditer(r"\]\(([^)\s]+)\)", text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(ROOT, os.path.dirname(rel), path)) if path else os.path.join(ROOT, rel)
            n += 1
            dt.check(os.path.exists(full), "%s: link %s points at an existing file" % (rel, target))
            if anchor and os.path.exists(full) and full.endswith(".md"):
                with open(full) as fh:
                    slugs = {slug(l.lstrip("#")) for l in fh.read().split("\n") if re.match(r"#+ ", l)}
                dt.check(anchor in slugs, "%s: link %s names a heading of %s" % (rel, target, path or rel))
    dt.check(n >= 20, "relative links checked: %d" % n)


DOC_FILES = ["README.md", "tests/README.md", "bench/README.md", "examples/README.md"]
# Paths the docs name that are made by a run, not kept in the tree.
GENERATED = ("bench/results/",)


def case_paths():
    """Every path into the tree that the docs name (src/..., tests/..., docs/...) exists, so a
    moved or renamed file cannot leave the docs pointing at nothing."""
    files = DOC_FILES + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    pat = re.compile(r"(?<![/\w.-])((?:src|tests|bench|fuzz|include|scripts|examples|cmake|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_])")
    n = 0
    for rel in files:
        for p in sorted(set(pat.findall(read(rel)))):
            if p.startswith(GENERATED):
                continue
            n += 1
            dt.check(os.path.exists(os.path.join(ROOT, p)), "%s: the path %s exists" % (rel, p))
    dt.check(n >= 50, "paths checked: %d" % n)
    # internals.md also names files by their name alone (`lock.c`) or from src/ (`cli/run.c`)
    under_src = src_files()
    names = set(re.findall(r"`((?:[a-z]+/)?[A-Za-z0-9_]+\.[ch])`", read("docs/internals.md")))
    dt.check(len(names) >= 80, "file names in docs/internals.md: %d" % len(names))
    for f in sorted(names):
        hit = [p for p in under_src if p == f or p.endswith(os.sep + f)]
        dt.check(bool(hit) or os.path.exists(os.path.join(ROOT, "include", "drip", f)),
                 "docs/internals.md: the file %s exists under src/" % f)


def case_one_case_list():
    """No CMakeLists under tests/ lists a driver's cases by hand: drip_test_cases reads them from
    the driver (issue #17), so a `foreach(case NAME NAME ...)` of literal names is a second list."""
    n = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "**", "CMakeLists.txt"), recursive=True)):
        rel = os.path.relpath(path, ROOT)
        text = read(rel)
        n += len(re.findall(r"drip_test_cases\(", text))
        for m in re.finditer(r"foreach\(case ([^)$]*)\)", text):
            dt.check(False, "%s: foreach(case %s) lists cases by hand (use drip_test_cases)" % (rel, m.group(1)))
    dt.check(n >= 10, "drivers registered through drip_test_cases: %d" % n)


def case_readme():
    """The README stays a front door: under 200 lines, the two set-up commands, the difference
    from valgrind with a test for each row, and the links to the reference."""
    text = read("README.md")
    lines = text.count("\n")
    dt.check(lines < 200, "README.md has %d lines (under 200)" % lines)
    for cmd in ("make demo", "make test", "drip run", "--http", "drip/drip.h"):
        dt.check(cmd in text, "README.md mentions %s" % cmd)
    sec = text[text.index("Where drip's verdicts differ"):] if "Where drip's verdicts differ" in text else ""
    dt.check(bool(sec), "README.md says where drip's verdicts differ from valgrind memcheck's")
    rows = [l for l in sec.split("\n\n", 2)[1].split("\n")[2:] if l.startswith("|")] if sec else []
    dt.check(len(rows) >= 4, "README.md: %d rows of differences" % len(rows))
    known = subprocess.run(["ctest", "-N"], cwd=dt.BUILD, capture_output=True, text=True).stdout
    for r in rows:
        tests = re.findall(r"`((?:verdict|example|lsan|peers)_[a-z_0-9]+)`", r.split("|")[3])
        dt.check(bool(tests), "README.md difference row names its test: %s" % r[:60])
        for t in tests:
            dt.check(re.search(r": %s$" % t, known, re.M) is not None, "README.md names test %s, which ctest has" % t)


def readme_block(text, after):
    """The first ```sh block after the heading `after`."""
    i = text.index(after)
    m = re.search(r"```sh\n(.*?)```", text[i:], re.S)
    return m.group(1)


def summary_of(err):
    return [l.split("==", 2)[-1] for l in err.split("\n") if "LEAK SUMMARY" in l or re.search(r"(lost|reachable|suppressed): ", l)] + \
           [l for l in err.split("\n") if l.startswith("SUMMARY: drip:")]


def case_readme_commands():
    """The README's drip run commands run verbatim (from a directory where build/ is the build),
    with the status they promise, and the sample report is the one drip writes."""
    text = read("README.md")
    block = readme_block(text, "## drip run")
    d = tempfile.mkdtemp(prefix="drip-readme-")
    try:
        os.symlink(os.path.abspath(dt.BUILD), os.path.join(d, "build"))
        cmds = [l for l in block.split("\n") if l.strip()]
        dt.check(len(cmds) >= 3, "README.md's drip run block: %d commands" % len(cmds))
        first_err = None
        for c in cmds:
            p = subprocess.run(["bash", "-c", c], cwd=d, capture_output=True, text=True, timeout=120)
            want = 23 if "23" in c else 0
            dt.eq(p.returncode, want, "README: `%s`: status" % c)
            dt.check("SUMMARY: drip: 320 bytes leaked in 10 blocks" in p.stderr, "README: `%s`: the report" % c)
            if "json=" in c or "--json" in c:
                dt.check(os.path.exists(os.path.join(d, "report.json")), "README: `%s` writes report.json" % c)
                os.unlink(os.path.join(d, "report.json"))
            if first_err is None:
                first_err = p.stderr
        sample = re.search(r"On stderr:\n\n```\n(.*?)```", text, re.S)
        dt.check(sample is not None, "README.md shows a sample report")
        if sample and first_err:
            dt.eq(summary_of(sample.group(1)), summary_of(first_err), "README's sample report: the summary drip writes")
            strip = lambda s: [re.sub(r"^==\d+== |0x[0-9a-f]+: ", "", l) for l in s.split("\n") if "lost in loss record" in l or " at " in l or " by " in l]
            dt.eq(strip(sample.group(1)), strip(first_err), "README's sample report: its records and frames")
        # a session shown as `$ command` then its output: the command runs, and prints those lines
        sessions = re.findall(r"```\n\$ (build/bin/drip [^\n]*)\n(.*?)```", text, re.S)
        for cmd, shown in sessions:
            p = subprocess.run(["bash", "-c", cmd], cwd=d, capture_output=True, text=True, timeout=120)
            dt.eq(p.returncode, 0, "README: `%s`: status" % cmd)
            got = [re.sub(r"^==\d+==", "", l) for l in p.stderr.split("\n")]
            for line in shown.strip("\n").split("\n"):
                line = re.sub(r"^==\d+==", "", line)
                dt.check(line in got or re.sub(r"\d+ ms\)", "", line) in [re.sub(r"\d+ ms\)", "", g) for g in got],
                         "README: `%s` prints %r" % (cmd, line[:70]))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    dt.main(globals())
