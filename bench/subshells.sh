#!/usr/bin/env bash
# bench/subshells.sh — a shell script that runs 100 `$(echo)` subshells (each a fork of the
# shell, with no exec), plain and under drip run with and without --child-silent-after-fork
# (issue #12.10). Prints the median wall time of each over --reps runs, the ratio to plain, and
# how many leak reports each run printed.
# usage: bench/subshells.sh [--reps N] [--n SUBSHELLS]
set -euo pipefail
cd "$(dirname "$0")/.."
DRIP=${DRIP:-build/bin/drip}
REPS=5
N=100
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --n) N=$2; shift 2 ;;
    *) echo "subshells.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$DRIP" ] || { echo "subshells.sh: $DRIP not found; build drip first (make)" >&2; exit 1; }
script=$(mktemp)
trap 'rm -f "$script" "$script.err"' EXIT
printf '#!/bin/sh\ni=0\nwhile [ $i -lt %d ]; do x=$(echo $i); i=$((i+1)); done\necho $x\n' "$N" > "$script"
chmod +x "$script"

# median of the wall times (seconds) of REPS runs of "$@"; the last run's stderr in $script.err
median() {
  local times=()
  for _ in $(seq "$REPS"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null 2> "$script.err"
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

echo "# $N \$(echo) subshells, median of $REPS runs; $(date -u '+%Y-%m-%d %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
echo
echo "| run | wall (s) | vs plain | leak reports printed |"
echo "|---|---|---|---|"
plain=$(median "$script")
echo "| plain \`sh\` | $plain | 1.00x | 0 |"
for args in "" "--child-silent-after-fork"; do
  t=$(median "$DRIP" run $args -- "$script")
  reports=$(grep -c "drip: leak report for process" "$script.err" || true)
  printf '| drip run %s | %s | %.2fx | %s |\n' "${args:-(defaults)}" "$t" "$(echo "$t / $plain" | bc -l)" "$reports"
done
