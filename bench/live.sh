#!/usr/bin/env bash
# bench/live.sh — the live side's costs (issues 3 and 4), next to the plain tracker, in one run:
#   - sampling mode (sample=512KiB) and full tracking, against no tool, on alloc_bench;
#   - the growth detector and thread registry: drip with growth=0 against the default;
#   - serving /debug/pprof/heap for a heap of 100k distinct stacks (stacks_bench);
#   - alloc_bench's wall time while a client sends 1,000 requests to the endpoint, against none.
# Medians of --reps runs (default 5), interleaved. No thresholds: figures for the README.
# usage: bench/live.sh [--reps N] [--iters N] [--only costs|stacks|endpoint] [--nice N (the endpoint part)]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DRIP=${DRIP:-$ROOT/build/bin/drip}
REPS=5
ITERS=2000000
ONLY=""
NICE=0
while [ $# -gt 0 ]; do
    case $1 in
    --reps) REPS=$2; shift 2 ;;
    --iters) ITERS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --nice) NICE=$2; shift 2 ;;
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

part() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

if part costs; then
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

fi

# serving a profile of 100k distinct stacks
if part stacks; then
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

fi

# Requests back to back for the whole run (over 1,000 of them: the program runs 15x --iters),
# from a C client (bench/http_load.c), 9 in 10 for /metrics and 1 in 10 for a full heap profile.
# The program's throughput is its wall time for a fixed amount of work, against a run without
# requests. Measured over the whole run rather than after the first 1,000 requests, so that a
# fast loop cannot hide in a long quiet tail. The client's CPU is printed too: on 2 CPUs already
# busy with alloc_bench's 4 threads, every CPU-second anyone spends is the program's loss.
if part endpoint; then
gcc -O2 -o "$WORK/http_load" "$ROOT/bench/http_load.c"
python3 - "$DRIP" "$WORK/alloc_fp" "$ITERS" "$REPS" "$WORK/http_load" "$NICE" <<'PY'
import os, re, statistics, subprocess, sys, time
drip, prog, iters, reps, load, nice = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
paths = ["/debug/pprof/heap"] + ["/metrics"] * 9
def server_cpu(pid):
    """CPU seconds of the traced process's thread named "drip-http" (its server)."""
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            if open(f"/proc/{pid}/task/{t}/comm").read().strip() == "drip-http":
                f = open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()
                return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return 0.0
def run(with_load):
    t = time.monotonic()
    p = subprocess.Popen([drip, "run", "--http", "127.0.0.1:0", "--nice", nice, "--log-path", "/dev/null", "--", prog,
                          "--iters", str(15 * int(iters))], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    host, port = re.search(r"serving http://([^:/]+):(\d+)/", p.stderr.readline()).groups()
    served, client_cpu, srv = 0, 0.0, 0.0
    if with_load:
        try:
            child = int(open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()[0])
        except (OSError, IndexError, ValueError):
            child = None
        c = subprocess.Popen([load, host, port, "100000000"] + paths, stdout=subprocess.PIPE, text=True)
        while p.poll() is None and c.poll() is None:   # the server thread's CPU, until the program ends
            srv = server_cpu(child) if child else 0.0
            time.sleep(0.2)
        served, _, client_cpu = c.communicate()[0].split()
        served, client_cpu = int(served), float(client_cpu)
    p.wait()
    return time.monotonic() - t, served, client_cpu, srv
quiet, loaded = [], []
for _ in range(reps):
    quiet.append(run(False)[0])
    loaded.append(run(True))
q = statistics.median(quiet)
l = statistics.median(x[0] for x in loaded)
served = statistics.median(x[1] for x in loaded)
print(f"\nalloc_bench --iters {15 * int(iters)} under drip --http --nice {nice} while a C client sends requests back to back until "
      f"it ends (1 in 10 a heap profile, the rest /metrics): {l:.2f} s against {q:.2f} s without "
      f"({(l/q-1)*100:+.1f}%); {served:.0f} requests served ({served / l:.0f}/s), drip's thread "
      f"{statistics.median(x[3] for x in loaded)*1000:.0f} ms of CPU, the client {statistics.median(x[2] for x in loaded)*1000:.0f} ms")
PY
fi
