#!/usr/bin/env python3
"""bench/pause.py — how long GET /debug/drip/leaks stops a program holding a large heap.

Runs bench/pause_bench.c under `drip run --http 127.0.0.1:0`; for each of --reps checks, measures
the longest gap the program's own clock-reading thread saw during the check (the pause), and the
check's wall time as the client sees it; a window of the same length without a check gives the
scheduler's noise. Prints medians. No thresholds: figures for the README.
Usage: bench/pause.py [--reps N] [--blocks N] [--size BYTES] [--drip PATH]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("--blocks", type=int, default=5000000)
ap.add_argument("--size", type=int, default=56)
ap.add_argument("--drip", default=os.environ.get("DRIP", os.path.join(ROOT, "build", "bin", "drip")))
a = ap.parse_args()
exe = os.path.join(ROOT, "build", "bench-pause", "pause_bench")
os.makedirs(os.path.dirname(exe), exist_ok=True)
subprocess.run(["gcc", "-O2", "-g", "-pthread", "-o", exe, os.path.join(ROOT, "bench", "pause_bench.c")], check=True)
# --http-leaks-interval 0: the checks follow each other at once (the default 5 s would refuse them)
p = subprocess.Popen([a.drip, "run", "--log-path", "/dev/null", "--http", "127.0.0.1:0", "--http-leaks-interval", "0", "--", exe,
                      "--blocks", str(a.blocks), "--size", str(a.size)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
base = None
while base is None:
    m = re.search(r"serving (http://[^/]+)/", p.stderr.readline())
    base = m.group(1) if m else None
print(p.stdout.readline().strip())


def window(fn):
    p.stdin.write("\n")
    p.stdin.flush()
    p.stdout.readline()
    t0 = time.time()
    fn()
    took = time.time() - t0
    p.stdin.write("\n")
    p.stdin.flush()
    return int(p.stdout.readline()) / 1000.0, took


pauses, walls, noise, drip_paused = [], [], [], []
for _ in range(a.reps):
    body = []
    pause, took = window(lambda: body.append(urllib.request.urlopen(base + "/debug/drip/leaks", timeout=600).read()))
    pauses.append(pause)
    walls.append(took)
    drip_paused.append(json.loads(body[0]).get("paused_us", 0) / 1000.0)
    noise.append(window(lambda: time.sleep(took))[0])
p.stdin.close()
p.wait()
heap = a.blocks * a.size / 2**30
med = statistics.median(pauses)
print("live check on %d blocks of %d bytes (%.2f GiB of blocks), %d reps, load %s" %
      (a.blocks, a.size, heap, a.reps, open("/proc/loadavg").read().split()[0]))
print("program stopped: median %.1f ms (max %.1f) = %.1f ms per GiB; same window without a check: median %.1f ms"
      % (med, max(pauses), med / heap, statistics.median(noise)))
print("drip's own count (paused_us in the answer): median %.1f ms = %.1f ms per GiB" %
      (statistics.median(drip_paused), statistics.median(drip_paused) / heap))
print("check's wall time (client): median %.2f s" % statistics.median(walls))
