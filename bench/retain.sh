#!/usr/bin/env bash
# bench/retain.sh — the cost of retention paths and retained sizes (issue #16) on the exit scan.
#
# Runs bench/scan_bench.c (N blocks: half on 256 linked lists held by a global array, a quarter
# on lost lists, a quarter lost alone) under drip three ways, interleaved, --reps times:
#   off        retain_paths=0: the scan as before issue #16 (no holder recorded)
#   paths      the default: each reached block's first holder recorded (8 bytes a block)
#   retainers  retainers=1: every start pointer recorded too, and the dominator tree
# and prints the median time the scan kept the program stopped (the JSON report's paused_us:
# marking, classification and the retention summary), the slowdown of paths and retainers over
# off, and for retainers the dominator tree's own time, nodes and edges (the raw report's
# `retain` line). No thresholds: figures for bench/README.md. Say whether the machine was loaded.
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
declare -A T
run() {   # run MODE REP
    local opts="retain_budget=$BUDGET"
    case $1 in
    off) opts="$opts:retain_paths=0" ;;
    retainers) opts="$opts:retainers=1" ;;
    esac
    DRIP_OPTIONS=$opts "$DRIP" run --json "$WORK/$1.json" --raw-out "$WORK/$1.raw" -- \
        "$WORK/scan_bench" --blocks "$BLOCKS" --avg-size "$AVG" >/dev/null 2>&1 || true
    local us
    us=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['paused_us'])" "$WORK/$1.json")
    T[$1]="${T[$1]:-} $us"
}
for rep in $(seq "$REPS"); do
    for mode in off paths retainers; do run $mode "$rep"; done
done
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
off=$(median "${T[off]}")
echo "scan_bench --blocks $BLOCKS --avg-size $AVG, $REPS runs each, medians of the exit scan's pause:"
for mode in off paths retainers; do
    m=$(median "${T[$mode]}")
    awk -v m="$m" -v o="$off" -v n="$mode" 'BEGIN { printf "  %-10s %9.1f ms  (%+.1f%% over off)\n", n, m / 1000, (m - o) * 100 / o }'
done
grep '^retain ' "$WORK/paths.raw" | sed 's/^/  last paths run: /'
grep '^retain ' "$WORK/retainers.raw" | sed 's/^/  last retainers run: /'
