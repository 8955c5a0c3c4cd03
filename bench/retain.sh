#!/usr/bin/env bash
# bench/retain.sh — the cost of retention paths and retained sizes (issue #16) on the exit scan.
#
# Runs bench/scan_bench.c (N blocks: half on 256 linked lists held by a global array, a quarter
# on lost lists, a quarter lost alone) under drip three ways, interleaved, --reps times:
#   off        retain_paths=0: the scan as before issue #16 (no holder recorded)
#   paths      the default: each reached block's first holder recorded (8 bytes a block)
#   retainers  retainers=1: every start pointer recorded too, and the dominator tree
# and prints, per mode, the medians of the time the scan kept the program stopped (the JSON
# report's paused_us: marking, classification, the paths), of the retention summary built after
# the threads resume (the raw report's sum_us; for retainers, the dominator tree), and of their
# sum: the exit scan's whole cost, which issue #16 bounds at +25% over off. Then the `retain`
# lines (dominator time, nodes, edges). No thresholds: figures for bench/README.md. Say the load
# average: the figures are wall times.
# usage: bench/retain.sh [--blocks N] [--avg-size BYTES] [--reps N] [--budget DURATION]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DRIP=${DRIP:-$ROOT/build/bin/drip}
BLOCKS=1000000
AVG=64
REPS=3
BUDGET=60s
while [ $# -gt 0 ]; do
    case $1 in
    --blocks) BLOCKS=$2; shift 2 ;;
    --avg-size) AVG=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    *) echo "retain.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
WORK=$ROOT/build/bench-retain
mkdir -p "$WORK"
gcc -O2 -g -fno-omit-frame-pointer -o "$WORK/scan_bench" "$ROOT/bench/scan_bench.c"
declare -A T S
run() {   # run MODE REP
    local opts="retain_budget=$BUDGET"
    case $1 in
    off) opts="$opts:retain_paths=0" ;;
    retainers) opts="$opts:retainers=1" ;;
    esac
    rm -f "$WORK/$1.raw"
    DRIP_OPTIONS=$opts "$DRIP" run --json "$WORK/$1.json" --raw-out "$WORK/$1.raw" -- \
        "$WORK/scan_bench" --blocks "$BLOCKS" --avg-size "$AVG" >/dev/null 2>&1 || true
    local us sum
    us=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['paused_us'])" "$WORK/$1.json")
    sum=$(grep -o '^retain .*sum_us=[0-9]*' "$WORK/$1.raw" 2>/dev/null | grep -o '[0-9]*$' || true)
    T[$1]="${T[$1]:-} $us"
    S[$1]="${S[$1]:-} ${sum:-0}"
}
for rep in $(seq "$REPS"); do
    for mode in off paths retainers; do run $mode "$rep"; done
done
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
off=$(median "${T[off]}")
echo "scan_bench --blocks $BLOCKS --avg-size $AVG, $REPS runs each, medians (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '  %-10s %12s %14s %12s\n' mode pause "after resume" total
for mode in off paths retainers; do
    m=$(median "${T[$mode]}") u=$(median "${S[$mode]}")
    # the total of each run, then its median
    tot=$(paste -d+ <(tr ' ' '\n' <<< "${T[$mode]}" | grep .) <(tr ' ' '\n' <<< "${S[$mode]}" | grep .) | bc | tr '\n' ' ')
    t=$(median "$tot")
    awk -v m="$m" -v u="$u" -v t="$t" -v o="$off" -v n="$mode" \
        'BEGIN { printf "  %-10s %9.1f ms %11.1f ms %9.1f ms  (%+.1f%% over off)\n", n, m / 1000, u / 1000, t / 1000, (t - o) * 100 / o }'
done
grep '^retain ' "$WORK/paths.raw" | sed 's/^/  last paths run: /'
grep '^retain ' "$WORK/retainers.raw" | sed 's/^/  last retainers run: /'
