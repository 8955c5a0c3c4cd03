#!/usr/bin/env bash
# bench/live_blocks.sh — drip's cost on a heap of millions of small live blocks (issue 15), next
# to no tool and LeakSanitizer, in one interleaved run.
#
# Builds bench/live_blocks.c with gcc -O2 -fno-omit-frame-pointer, and with clang with and
# without -fsanitize=leak (LSan is compared with the clang build, so the compiler does not count
# against it). For each N, runs every tool round-robin (rotated each repetition) --reps times and
# takes the median wall time (the shell's clock) and peak RSS (/usr/bin/time's %M).
#   none           gcc build, no tool
#   drip-noreport  drip run --no-report            (recording only)
#   drip-growth0   drip run --no-report --growth 0 (recording, growth detector off)
#   drip           drip run --log-path /dev/null --json FILE   (recording, exit scan and report)
#   clang-none     clang build, no tool
#   lsan           clang -fsanitize=leak build, LSAN_OPTIONS=exitcode=0:log_path=...
# The "+B/block" column is (peak RSS - no tool's peak RSS) / N: every block is live at the peak.
# "scan + report" is median(drip) - median(drip-noreport); "exit scan" is the JSON report's
# paused_us: the program stopped, the blocks taken from the live map, marked and classified.
#
# usage: bench/live_blocks.sh [--reps N] [--sizes "1000000 4000000 10000000"] [--skip lsan,growth0] [--out FILE]
# Environment: DRIP (default build/bin/drip), CC (gcc), CLANG (clang), RUN_TIMEOUT (600 s a run).
# LeakSanitizer needs Debian's clang and libclang-rt-14-dev; when they are missing the script
# installs them with apt-get (as root), or skips LSan if it cannot.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DRIP=${DRIP:-$ROOT/build/bin/drip}
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
REPS=3
SIZES="1000000 4000000 10000000"
SKIP=,
OUT=$ROOT/bench/results/live_blocks.md

while [ $# -gt 0 ]; do
    case $1 in
    --reps) REPS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --skip) SKIP=",$2,"; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "live_blocks.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
skipped() { [[ $SKIP == *",$1,"* ]]; }

[ -x "$DRIP" ] || { echo "live_blocks.sh: $DRIP not found; build drip first (make)" >&2; exit 1; }
for t in /usr/bin/time "$CC"; do
    command -v "$t" >/dev/null || { echo "live_blocks.sh: $t is needed" >&2; exit 1; }
done

WORK=$ROOT/build/bench-live-blocks
rm -rf "$WORK"
mkdir -p "$WORK/bin" "$WORK/tmp" "$(dirname "$OUT")"
DATA=$WORK/runs.tsv   # n tool rep wall_s rss_kb paused_us
: > "$DATA"

CFLAGS="-O2 -g -fno-omit-frame-pointer"
# shellcheck disable=SC2086
$CC $CFLAGS -o "$WORK/bin/live_blocks" "$ROOT/bench/live_blocks.c"
if ! skipped lsan; then
    lsan_ok() {
        # shellcheck disable=SC2086
        command -v "$CLANG" >/dev/null &&
            $CLANG $CFLAGS -fsanitize=leak -o "$WORK/bin/live_blocks-lsan" "$ROOT/bench/live_blocks.c" 2>/dev/null
    }
    if ! lsan_ok; then
        echo "live_blocks.sh: no working clang -fsanitize=leak; installing clang libclang-rt-14-dev" >&2
        if [ "$(id -u)" = 0 ]; then
            apt-get install -y -q clang libclang-rt-14-dev >/dev/null 2>&1 || true
        else
            sudo -n apt-get install -y -q clang libclang-rt-14-dev >/dev/null 2>&1 || true
        fi
    fi
    if lsan_ok; then
        # shellcheck disable=SC2086
        $CLANG $CFLAGS -o "$WORK/bin/live_blocks-clang" "$ROOT/bench/live_blocks.c"
    else
        echo "live_blocks.sh: LeakSanitizer unavailable, skipping it" >&2
        SKIP+="lsan,"
    fi
fi

declare -A REF
run_one() {   # n tool rep -- command...
    local n=$1 tool=$2 rep=$3; shift 4
    local out=$WORK/tmp/out err=$WORK/tmp/err rssf=$WORK/tmp/rss t0 t1 rc=0
    t0=$(date +%s%N)
    timeout "$RUN_TIMEOUT" /usr/bin/time -f '%M' -o "$rssf" "$@" < /dev/null > "$out" 2> "$err" || rc=$?
    t1=$(date +%s%N)
    if [ $rc -ne 0 ]; then
        echo "live_blocks.sh: $tool N=$n failed (status $rc): $*" >&2
        tail -5 "$err" >&2
        return 1
    fi
    local sum
    sum=$(grep -o 'checksum=[0-9a-f]*' "$out" || true)
    if [ -z "${REF[$n]:-}" ]; then
        REF[$n]=$sum
    elif [ "${REF[$n]}" != "$sum" ]; then
        echo "live_blocks.sh: $tool N=$n: output '$sum' differs from '${REF[$n]}'" >&2
        return 1
    fi
    local paused=
    if [ -f "$WORK/tmp/report.json" ]; then
        paused=$(grep -o '"paused_us": [0-9]*' "$WORK/tmp/report.json" | tail -1 | grep -o '[0-9]*$' || true)
        rm -f "$WORK/tmp/report.json"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$tool" "$rep" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')" "$(tail -1 "$rssf")" "$paused" >> "$DATA"
}

tools_for() {   # n
    local P=$WORK/bin/live_blocks
    echo "none|$P $1"
    echo "drip-noreport|$DRIP run --no-report -- $P $1"
    skipped growth0 || echo "drip-growth0|$DRIP run --no-report --growth 0 -- $P $1"
    echo "drip|$DRIP run --log-path /dev/null --json $WORK/tmp/report.json -- $P $1"
    if ! skipped lsan; then
        echo "clang-none|$WORK/bin/live_blocks-clang $1"
        echo "lsan|env LSAN_OPTIONS=exitcode=0:log_path=$WORK/tmp/lsan $WORK/bin/live_blocks-lsan $1"
    fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
echo "load average at start: $LOAD_START" >&2
for rep in $(seq 1 "$REPS"); do
    for n in $SIZES; do
        mapfile -t entries < <(tools_for "$n")
        k=${#entries[@]}
        for i in $(seq 0 $((k - 1))); do
            e=${entries[$(((i + rep) % k))]}
            tool=${e%%|*}
            cmd=${e#*|}
            printf 'rep %d/%d  N=%-9s %-14s' "$rep" "$REPS" "$n" "$tool" >&2
            # shellcheck disable=SC2086
            run_one "$n" "$tool" "$rep" -- $cmd
            tail -1 "$DATA" | awk -F'\t' '{ printf "%8.2f s %8.0f MiB\n", $4, $5 / 1024 }' >&2
            rm -f "$WORK"/tmp/lsan.*
        done
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - START))

median() {   # n tool column(4|5|6)
    awk -F'\t' -v n="$1" -v t="$2" -v c="$3" '$1 == n && $2 == t && $c != "" { print $c }' "$DATA" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.2f", a }'; }
mib() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.0f", a / 1024 }'; }
perblock() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%+.0f", (a - b) * 1024 / n }'; }

{
    echo "# live_blocks: N small live blocks under each tool"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(nproc) CPUs"
    echo "- load average: $LOAD_START at start, $LOAD_END at end; $ELAPSED s for all runs"
    echo "- drip: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
    echo "- median of $REPS runs each, round-robin over tools; ratios to no tool (LSan: to the clang build)"
    echo
    echo "| N | no tool | drip --no-report | drip --no-report --growth 0 | drip | drip peak RSS | drip +B/block | scan + report | exit scan | LSan wall | LSan RSS |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for n in $SIZES; do
        bw=$(median "$n" none 4); br=$(median "$n" none 5)
        cw=$(median "$n" clang-none 4); cr=$(median "$n" clang-none 5)
        w0=$(median "$n" drip-noreport 4); wg=$(median "$n" drip-growth0 4); w1=$(median "$n" drip 4)
        r1=$(median "$n" drip 5)
        echo "| $n | $(secs "$bw") s, $(mib "$br") MiB | $(ratio "$w0" "$bw") | $(ratio "$wg" "$bw") | $(ratio "$w1" "$bw") ($(secs "$w1") s) | $(ratio "$r1" "$br") | $(perblock "$r1" "$br" "$n") | $(awk -v a="$w1" -v b="$w0" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.2f s", a - b }') | $(awk -v a="$(median "$n" drip 6)" 'BEGIN { if (a == "") print "-"; else printf "%.2f s", a / 1e6 }') | $(ratio "$(median "$n" lsan 4)" "$cw") | $(ratio "$(median "$n" lsan 5)" "$cr") |"
    done
    echo
    echo "Raw runs (N, tool, rep, wall s, peak RSS KiB, paused_us): $(dirname "$OUT")/live_blocks-runs.tsv"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cp "$DATA" "$(dirname "$OUT")/live_blocks-runs.tsv"
echo >&2
cat "$OUT"
