"""A process that gives up its rights before it exits still writes its report (privdrop.c).

Usage: test_privdrop.py CASE   (needs root: SKIP 77 otherwise)
  setuid    a forked worker drops to nobody (setgid + setuid, as nginx's www-data workers do) in a
            report directory only root may write: its FILE.<pid> text and JSON are written, whole,
            with its 77-byte leak; no "cannot write report" line; the output is the program's
  seccomp   the worker stays root but installs a seccomp filter that forbids opening files for
            writing and memfd_create, as man-db's sandbox does: the same
  exec      the worker drops to nobody, then runs /bin/true (not followed): it can neither write
            a report nor remove a file; its FILE.<pid> JSON and text say there is no report and why
            (complete false); in a directory everybody may write, they are removed instead
  setpriv   the process drip run started drops to nobody and execs sort in place (setpriv
            --reuid): sort's image cannot create the report files in a root-only directory; drip
            run says so in the JSON (complete false, no_report names the file and why) and in
            the log, instead of leaving nothing and no word
  chroot    the worker chroots into an empty directory, then drops to nobody (sshd's privilege
            separation): its report is whole and complete, the scan reading /proc through the
            directory drip kept open before the chroot (it was blind: "out of memory while
            scanning", nothing found)
  silent    --child-silent-after-fork: the worker that drops root leaves no file at all
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


def case_chroot():
    run("chroot", 0o700)


def case_seccomp():
    run("seccomp", 0o755)


def case_exec():
    if os.geteuid() != 0:
        dt.skip("needs root: the workers drop root for nobody")
    for mode in (0o755, 0o777):
        base = tempfile.mkdtemp(prefix="drip-privdrop-")
        try:
            os.chmod(base, 0o755)   # nobody may reach out/
            out = os.path.join(base, "out")
            os.makedirs(out)
            os.chmod(out, mode)
            J, L = os.path.join(out, "r.json"), os.path.join(out, "r.txt")
            plain = subprocess.run([PROG, "exec"], capture_output=True, text=True, timeout=60)
            p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--", PROG, "exec"],
                               capture_output=True, text=True, timeout=120)
            what = "exec, directory %o" % mode
            dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr), what + ": as without drip")
            kids = sorted(f for f in os.listdir(out) if f not in ("r.json", "r.txt"))
            if mode == 0o777:
                dt.eq(kids, [], what + ": the files kept for the worker are removed")
                continue
            dt.eq([k.split(".")[0] for k in kids], ["r", "r"], what + ": r.json.<pid> and r.txt.<pid> (%r)" % kids)
            for k in kids:
                with open(os.path.join(out, k)) as f:
                    text = f.read()
                pid = k.rsplit(".", 1)[1]
                why = "drip: process %s gave up its rights (setuid, chroot or a seccomp filter) and wrote no report" % pid
                if k.startswith("r.json"):
                    r = json.loads(text)
                    dt.eq((r.get("complete"), r.get("summary"), r.get("no_report", "")[:len(why)]), (False, None, why),
                          what + ": the JSON says there is no report, and why")
                else:
                    dt.check(text.startswith(why), what + ": the text says there is no report, and why (%r)" % text)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def case_setpriv():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        dt.skip("needs root and setpriv")
    base = tempfile.mkdtemp(prefix="drip-privdrop-")
    try:
        out = os.path.join(base, "out")
        os.makedirs(out, mode=0o700)
        J, L = os.path.join(out, "r.json"), os.path.join(out, "r.txt")
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sort", "/etc/hostname"]
        plain = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        p = subprocess.run([dt.DRIP, "run", "--json", J, "--log-path", L, "--"] + argv, capture_output=True, text=True,
                           timeout=120)
        dt.eq((p.returncode, p.stdout, p.stderr), (plain.returncode, plain.stdout, plain.stderr), "setpriv: as without drip")
        why = "could not write its report %s: Permission denied" % L
        r = {}
        if os.path.exists(J):
            with open(J) as f:
                r = json.load(f)
        dt.eq((r.get("complete"), why in r.get("no_report", "")), (False, True), "setpriv: the JSON says why there is no report (%r)" % r)
        dt.check(os.path.exists(L) and why in open(L).read(), "setpriv: so does the log")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def case_silent():
    if os.geteuid() != 0:
        dt.skip("needs root: the workers drop root for nobody")
    base = tempfile.mkdtemp(prefix="drip-privdrop-")
    try:
        J, L = os.path.join(base, "r.json"), os.path.join(base, "r.txt")
        p = subprocess.run([dt.DRIP, "run", "--child-silent-after-fork", "--json", J, "--log-path", L, "--", PROG, "setuid"],
                           capture_output=True, text=True, timeout=120)
        dt.eq((p.returncode, p.stderr), (0, ""), "silent: status and stderr")
        dt.eq(sorted(os.listdir(base)), ["r.json", "r.txt"], "silent: the parent's reports only")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def case_writable():
    run("setuid", 0o777)


if __name__ == "__main__":
    dt.main(globals())
