#!/usr/bin/env bash
# bench/xz_exit.sh — issue 12 point 2: a program whose worker threads block every signal (xz -T2)
# exits under drip without waiting for them. Times `xz -T2 -c -1` on 100 kB of random bytes with no
# tool and under `drip run`, interleaved, and prints the medians. No thresholds.
# usage: bench/xz_exit.sh [--reps N]   (DRIP=path/to/drip to pick another build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DRIP=${DRIP:-$ROOT/build/bin/drip}
REPS=5
[ "${1:-}" = "--reps" ] && REPS=$2
IN=$(mktemp)
trap 'rm -f "$IN"' EXIT
head -c 100000 /dev/urandom > "$IN"
wall() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); python3 -c "print(f'{$e - $s:.3f}')"; }
median() { python3 -c "import sys,statistics;print(f'{statistics.median(float(x) for x in sys.argv[1:]):.2f}')" "$@"; }
plain=() drip=()
for _ in $(seq "$REPS"); do
    plain+=("$(wall xz -T2 -c -1 "$IN")")
    drip+=("$(wall "$DRIP" run --log-path /dev/null -- xz -T2 -c -1 "$IN")")
done
echo "xz -T2 -c -1 (100 kB), median of $REPS, load $(cut -d' ' -f1 /proc/loadavg): no tool $(median "${plain[@]}") s, drip $(median "${drip[@]}") s"
