#!/usr/bin/env bash
# bench/threads.sh — drip's cost per thread of the program (issue #15: a cost that grows with the
# number of threads is a defect). threads_bench (bench/threads_bench.c) run plain and with
# libdrip.so preloaded (report=0: the exit report is measured elsewhere), interleaved, --reps
# times at each size; medians of peak RSS (GNU time's %M, the program's own) and of CPU time
# (user + system; GNU time counts it in 10 ms steps, so only the largest churn says much). "alive N": N threads alive at once, 10 blocks each: the added RSS / N is
# drip's memory per live thread. "churn N": N threads made and joined one after another, 100
# blocks each: the added CPU / N is drip's cost of a thread's life.
# usage: bench/threads.sh [--reps N]
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=${LIB:-build/lib/libdrip.so}
REPS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    *) echo "threads.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -f "$LIB" ] || { echo "threads.sh: $LIB not found; build drip first (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "threads.sh: needs GNU time (/usr/bin/time: apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -g -pthread bench/threads_bench.c -o "$tmp/threads_bench"

# one run: "RSS_KB CPU_S"
one() {
  local pre=$1; shift
  if [ "$pre" = none ]; then
    /usr/bin/time -f '%M %U %S' -o "$tmp/t" "$tmp/threads_bench" "$@" > /dev/null
  else
    # follow_exec: time itself is the process the preload starts in; the program is its child
    LD_PRELOAD=$(realpath "$LIB") DRIP_OPTIONS=report=0:follow_exec=1 /usr/bin/time -f '%M %U %S' -o "$tmp/t" \
      "$tmp/threads_bench" "$@" > /dev/null
  fi
  awk '{printf "%d %.3f\n", $1, $2 + $3}' "$tmp/t"
}
med() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "# threads_bench, median of $REPS interleaved runs; $(date -u '+%Y-%m-%d %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
echo
echo "| run | plain: peak RSS, CPU | drip: peak RSS, CPU | drip added, per thread |"
echo "|---|---|---|---|"
for spec in "alive 10 10" "alive 100 10" "alive 1000 10" "churn 100 100" "churn 1000 100" "churn 10000 100"; do
  read -r mode n k <<< "$spec"
  : > "$tmp/none"; : > "$tmp/drip"
  for _ in $(seq "$REPS"); do
    one none "$mode" "$n" "$k" >> "$tmp/none"
    one drip "$mode" "$n" "$k" >> "$tmp/drip"
  done
  r0=$(awk '{print $1}' "$tmp/none" | med); c0=$(awk '{print $2}' "$tmp/none" | med)
  r1=$(awk '{print $1}' "$tmp/drip" | med); c1=$(awk '{print $2}' "$tmp/drip" | med)
  per=$(awk -v r0="$r0" -v r1="$r1" -v c0="$c0" -v c1="$c1" -v n="$n" \
    'BEGIN {printf "%+.1f KiB, %+.1f us", (r1 - r0) / n, (c1 - c0) * 1e6 / n}')
  echo "| $mode $n threads, $k blocks each | $r0 KiB, $c0 s | $r1 KiB, $c1 s | $per |"
done
