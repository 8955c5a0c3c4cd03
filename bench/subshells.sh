#!/usr/bin/env bash
# bench/subshells.sh — a shell script that runs 100 `$(echo)` subshells (each a fork of the
# shell, with no exec), plain and under drip run with and without --child-silent-after-fork
# (issue #12.10). Prints the median wall and CPU time of each over --reps runs, the ratio to
# plain, the minor page faults of every process of one run (a figure the machine's load does
# not change: GNU time counts every process waited for, the subshells and drip run's symbolizer
# included; "-" without /usr/bin/time), and how many leak reports each run printed.
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
trap 'rm -f "$script" "$script.err" "$script.time"' EXIT
printf '#!/bin/sh\ni=0\nwhile [ $i -lt %d ]; do x=$(echo $i); i=$((i+1)); done\necho $x\n' "$N" > "$script"
chmod +x "$script"

# medians of the wall times and of the CPU times (user + system of every process of the run,
# the symbolizer's included) of REPS runs of "$@", in seconds: "WALL CPU"; the last run's stderr
# in $script.err
median() {
  local walls=() cpus=()
  for _ in $(seq "$REPS"); do
    local t
    t=$( { TIMEFORMAT='%R %U %S'; time "$@" > /dev/null 2> "$script.err"; } 2>&1 )
    walls+=("$(echo "$t" | awk '{print $1}')")
    cpus+=("$(echo "$t" | awk '{print $2 + $3}')")
  done
  local w c
  w=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}')
  c=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}')
  echo "$w $c"
}

# minor page faults of one run of "$@"
faults() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%R' -o "$script.time" "$@" > /dev/null 2>&1 || true
    cat "$script.time"
  else
    echo -
  fi
}

echo "# $N \$(echo) subshells, median of $REPS runs; $(date -u '+%Y-%m-%d %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
echo
echo "| run | wall (s) | vs plain | CPU (s) | page faults | leak reports printed |"
echo "|---|---|---|---|---|---|"
read -r plain plain_cpu <<< "$(median "$script")"
echo "| plain \`sh\` | $plain | 1.00x | $plain_cpu | $(faults "$script") | 0 |"
for args in "" "--child-silent-after-fork"; do
  read -r t cpu <<< "$(median "$DRIP" run $args -- "$script")"
  reports=$(grep -c "drip: leak report for process" "$script.err" || true)
  printf '| drip run %s | %s | %.2fx | %s | %s | %s |\n' "${args:-(defaults)}" "$t" "$(echo "$t / $plain" | bc -l)" "$cpu" \
    "$(faults "$DRIP" run $args -- "$script")" "$reports"
done
echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
