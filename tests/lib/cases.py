"""Lists the cases of a test driver for CMake, so no second list of them is kept by hand.

    python3 tests/lib/cases.py tests/run/test_run.py

prints two lines, each a CMake list (names joined by ';'):
  1. every case of the driver: each top-level `def case_NAME():`, in file order (driptest.main
     runs them by that name);
  2. the cases that need a tool outside the core set (Chromium, Go, Prometheus/promtool): the case
     function, or a function of the same file it calls (transitively), names one of them. CMake
     leaves those out of the `core` label (`ctest -L core`, tests/README.md).
The driver is parsed, never imported: importing would run its module-level set-up.
"""
import ast
import re
import sys

# What marks a function as needing a non-core tool: the executable names as the drivers spell them.
NEEDS = re.compile(r'chromium|"go"|prometheus|promtool')


def cases(path):
    src = open(path).read()
    tree = ast.parse(src, path)
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    direct = {name: bool(NEEDS.search(ast.get_source_segment(src, n))) for name, n in funcs.items()}
    calls = {name: {c.func.id for c in ast.walk(n)
                    if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in funcs}
             for name, n in funcs.items()}

    def needs(name, seen):
        if direct[name]:
            return True
        seen.add(name)
        return any(needs(c, seen) for c in calls[name] if c not in seen)

    names = [n for n in funcs if n.startswith("case_")]
    return [n[5:] for n in names], [n[5:] for n in names if needs(n, set())]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: cases.py DRIVER.py")
    try:
        every, noncore = cases(sys.argv[1])
    except (OSError, SyntaxError) as e:
        sys.exit("cases.py: %s" % e)
    if not every:
        sys.exit("cases.py: %s defines no case_NAME function" % sys.argv[1])
    print(";".join(every))
    print(";".join(noncore))
