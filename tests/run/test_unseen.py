"""What a traced program can see of drip (issue #12: the program must behave as without it).

single_threaded: drip starts no thread of its own for a plain `drip run -- prog` (the growth
detector samples on the allocation path), so a single-threaded program stays single-threaded
(/proc/self/task and glibc's __libc_single_threaded); the growth samples are still taken.
program_thread: once the program starts a thread, drip's ticker may start too.

Usage: test_unseen.py CASE   (one ctest per case; `test_unseen.py --list` names them)
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import driptest as dt  # noqa: E402

P = dt.PROGS


def case_single_threaded():
    res = dt.run([P + "/unseen", "tasks"])
    dt.eq((res.rc, res.out), (0, "tasks 1 single 1\n"), "drip run, default options: one task, glibc single-threaded")
    res = dt.run([P + "/unseen", "tasks"], preload=True)
    dt.eq((res.rc, res.out), (0, "tasks 1 single 1\n"), "LD_PRELOAD, default options: the same")
    # options that need a clock of drip's own do start its thread: the ticker, and the monitor's line
    res = dt.run([P + "/unseen", "tasks", "300"], ["--monitor", "100ms"])
    dt.eq(res.out, "tasks 2 single 0\n", "--monitor: drip's ticker is a second task")


def case_program_thread():
    # the program's own thread makes it multi-threaded: drip's ticker joins it (three tasks)
    res = dt.run([P + "/unseen", "thread"])
    dt.eq((res.rc, res.out), (0, "tasks 3\n"), "a program with a thread: its two tasks and drip's ticker")
    res = dt.run([P + "/unseen", "thread"], ["--growth", "0"])
    dt.eq(res.out, "tasks 2\n", "--growth 0: no ticker")


if __name__ == "__main__":
    dt.main(globals())
