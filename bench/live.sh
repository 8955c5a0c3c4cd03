#!/usr/bin/env bash
# bench/live.sh — the live side's costs (issues 3 and 4), next to the plain tracker, in one run:
#   - sampling mode (sample=512KiB) and full tracking, against no tool, on alloc_bench;
#   - the growth detector and thread registry: drip with growth=0 against the default;
#   - serving /debug/pprof/heap for a heap of 100k distinct stacks (stacks_bench);
#   - alloc_bench's wall time while a client sends 1,000 requests to the endpoint, against none.
# Medians of --reps runs (default 5), interleaved. No thresholds: figures for the README.
# usage: bench/live.sh [--reps N] [--iters N]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DRIP=${DRIP:-$ROOT/build/bin/drip}
REPS=5
ITERS=2000000
while [ $# -gt 0 ]; do
    case $1 in
    --reps) REPS=$2; shift 2 ;;
    --iters) ITERS=$2; shift 2 ;;
    *) echo "live.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
WORK=$ROOT/build/bench-live
mkdir -p "$WORK"
gcc -O2 -g -fno-omit-frame-pointer -pthread -o "$WORK/alloc_fp" "$ROOT/bench/alloc_bench.c"
gcc -O2 -g -fomit-frame-pointer -pthread -o "$WORK/alloc_nofp" "$ROOT/bench/alloc_bench.c"
gcc -O2 -g -fno-omit-frame-pointer -o "$WORK/stacks" "$ROOT/bench/stacks_bench.c"

wall() { # wall seconds of a command
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    python3 -c "print(f'{$e - $s:.3f}')"
}
median() { python3 -c "import sys,statistics;print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }

declare -A T
configs=(none full sample growth0)
for b in fp nofp; do
    for c in "${configs[@]}"; do T[$b,$c]=""; done
done
for ((r = 0; r < REPS; r++)); do
    for b in fp nofp; do
        P="$WORK/alloc_$b --iters $ITERS"
        T[$b,none]+=" $(wall $P)"
        T[$b,full]+=" $(wall "$DRIP" run --log-path /dev/null -- $P)"
        T[$b,sample]+=" $(wall "$DRIP" run --sample 512KiB --log-path /dev/null -- $P)"
        T[$b,growth0]+=" $(wall "$DRIP" run --growth 0 --log-path /dev/null -- $P)"
    done
done
echo "## Live-side costs ($(date -u +%Y-%m-%d), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| build | no tool (s) | drip, every allocation | drip --sample 512KiB | drip --growth 0 (no detector) | detector's share |"
echo "|---|---|---|---|---|---|"
for b in fp nofp; do
    n=$(median ${T[$b,none]}); f=$(median ${T[$b,full]}); s=$(median ${T[$b,sample]}); g=$(median ${T[$b,growth0]})
    python3 -c "n,f,s,g=$n,$f,$s,$g;print(f'| {\"$b\"} | {n:.2f} | {f/n:.2f}x | {s/n:.2f}x | {g/n:.2f}x | {(f-g)/g*100:+.1f}% |')"
done

# serving a profile of 100k distinct stacks
python3 - "$DRIP" "$WORK/stacks" "$REPS" <<'PY'
import re, statistics, subprocess, sys, time, urllib.request
drip, prog, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = subprocess.Popen([drip, "run", "--http", "127.0.0.1:0", "--log-path", "/dev/null", "--", prog, "100000"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
base = re.search(r"serving (http://[^/]+)/", p.stderr.readline()).group(1)
p.stdout.readline()
times, size = [], 0
for _ in range(reps):
    t = time.monotonic()
    body = urllib.request.urlopen(base + "/debug/pprof/heap", timeout=120).read()
    times.append(time.monotonic() - t)
    size = len(body)
p.communicate(input="", timeout=120)
print(f"\n/debug/pprof/heap for 100,000 distinct stacks: median {statistics.median(times):.2f} s "
      f"(first {times[0]:.2f} s, symbolizing from cold), {size/1e6:.1f} MB gzipped")
PY

# 1,000 requests while the program works
python3 - "$DRIP" "$WORK/alloc_fp" "$ITERS" "$REPS" <<'PY'
import re, statistics, subprocess, sys, threading, time, urllib.request
drip, prog, iters, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def run(load):
    t = time.monotonic()
    p = subprocess.Popen([drip, "run", "--http", "127.0.0.1:0", "--log-path", "/dev/null", "--", prog, "--iters", iters],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = re.search(r"serving (http://[^/]+)/", p.stderr.readline()).group(1)
    done = [0]
    def client():
        for i in range(1000):
            if p.poll() is not None:
                break
            path = "/debug/pprof/heap" if i % 10 == 0 else "/metrics"
            try:
                urllib.request.urlopen(base + path, timeout=30).read()
                done[0] += 1
            except Exception:
                break
    th = threading.Thread(target=client)
    if load:
        th.start()
    p.wait()
    elapsed = time.monotonic() - t
    if load:
        th.join()
    return elapsed, done[0]
quiet, loaded, served = [], [], []
for _ in range(reps):
    quiet.append(run(False)[0])
    e, n = run(True)
    loaded.append(e)
    served.append(n)
q, l = statistics.median(quiet), statistics.median(loaded)
print(f"\nalloc_bench under drip --http, with a client sending requests (1 in 10 a heap profile, the rest /metrics) "
      f"until it ends: {l:.2f} s against {q:.2f} s without ({(l/q-1)*100:+.1f}%), {statistics.median(served):.0f} requests served")
PY
