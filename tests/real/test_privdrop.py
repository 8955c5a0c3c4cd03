"""A process that gives up its rights before it exits still writes its report (privdrop.c).

Usage: test_privdrop.py CASE   (needs root: SKIP 77 otherwise)
  setuid    a forked worker drops to nobody (setgid + setuid, as nginx's www-data workers do) in a
            report directory only root may write: its FILE.<pid> text and JSON are written, whole,
            with its 77-byte leak; no "cannot write report" line; the output is the program's
  seccomp   the worker stays root but installs a seccomp filter that forbids opening files for
            writing and memfd_create, as man-db's sandbox does: the same
  writable  the same worker in a directory everybody may write: the report goes through the
            usual temporary file and rename, and no other file is left beside it
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

PROG = os.path.join(dt.PROGS, "privdrop")


def run(how, mode):
    if os.geteuid() != 0:
        dt.skip("needs root: the workers drop root for nobody")
    base = tempfile.mkdtemp(prefix="drip-privdrop-")
    try:
        out = os.path.join(base, "out")
        os.makedirs(out)
        os.chmod(out, mode)
        arg = how
        if how == "chroot":
            jail = os.path.join(base, "jail")
            os.makedirs(jail)
            arg = "chroot:" + jail
        J, L = os.path.join(out, "r.json"), os.path.join(out, "r.txt")
        plain = subprocess.run([PROG, arg], capture_output=True, text=True, timeout=60)
        p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--", PROG, arg],
                           capture_output=True, text=True, timeout=120)
        dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr),
              how + ": status, stdout and stderr as without drip (%r)" % p.stderr)
        dt.check("status 0" in p.stdout, how + ": the worker ran")
        files = sorted(os.listdir(out))
        kids = [f for f in files if f.startswith("r.json.")]
        dt.eq(len(kids), 1, how + ": the worker's JSON report r.json.<pid> (files: %r)" % files)
        dt.eq(sorted(files), sorted(["r.json", "r.txt"] + kids + ["r.txt." + k.split(".")[-1] for k in kids]),
              how + ": the reports and nothing else (no temporary file left)")
        for k in kids:
            with open(os.path.join(out, k)) as f:
                r = json.load(f)
            dt.check(r.get("complete") is True, how + ": the worker's JSON is complete")
            dt.eq(dt.summary(r, "definite"), (77, 1), how + ": the worker's 77 bytes definitely lost")
            pid = k.split(".")[-1]
            with open(os.path.join(out, "r.txt." + pid)) as f:
                text = f.read()
            dt.check(text.startswith("==%s== drip: leak report for process %s" % (pid, pid)) and
                     "SUMMARY: drip: 77 bytes leaked in 1 blocks" in text.splitlines()[-1],
                     how + ": the worker's text report is whole")
        with open(J) as f:
            dt.eq(dt.summary(json.load(f), "definite"), (0, 0), how + ": the parent's report: nothing lost")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def case_setuid():
    run("setuid", 0o700)


def case_seccomp():
    run("seccomp", 0o755)


def case_writable():
    run("setuid", 0o777)


if __name__ == "__main__":
    dt.main(globals())
