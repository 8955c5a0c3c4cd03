#!/usr/bin/env bash
# bench/run.sh — drip's cost next to no tool, valgrind memcheck, heaptrack and LeakSanitizer.
#
# Builds bench/alloc_bench.c twice (-O2 -g with and without frame pointers, gcc), plus clang
# builds with and without -fsanitize=leak for LSan, then runs every (build, tool) pair round-robin
# for --reps repetitions and reports the median wall time and peak RSS, each as a ratio to the
# same build with no tool. Also times drip's exit scan: alloc_bench and bench/scan_bench.c
# (~1 GiB in 1M blocks) under drip with report=1 minus report=0.
#
# usage: bench/run.sh [--reps N] [--iters N] [--skip TOOL[,TOOL...]] [--out FILE]
#   --reps N        repetitions of each run, median taken (default 5)
#   --iters N       alloc_bench --iters (per thread; default: the program's own, 5M)
#   --skip LIST     leave out tools: valgrind, heaptrack, lsan, drip-fp, scan, real
#   --out FILE      where the markdown goes (default bench/results/latest.md)
# Environment: DRIP (default build/bin/drip), CC (gcc), CLANG (clang), RUN_TIMEOUT (600 s a run).
#
# valgrind runs alloc_bench --quick (1/10 of the iterations) and is compared with the no-tool
# run of the same --quick workload. heaptrack runs with -r (record only, see README.md).
# Two real programs run too, unmodified, under drip, heaptrack and valgrind (LSan would need
# them rebuilt): /usr/bin/python3 on bench/real/json_index.py and sqlite3 on
# bench/real/inserts.sql (skip them with --skip real).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DRIP=${DRIP:-$ROOT/build/bin/drip}
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
REPS=5
ITERS=
SKIP=,
OUT=$ROOT/bench/results/latest.md

while [ $# -gt 0 ]; do
    case $1 in
    --reps) REPS=$2; shift 2 ;;
    --iters) ITERS=$2; shift 2 ;;
    --skip) SKIP=",$2,"; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
skipped() { [[ $SKIP == *",$1,"* ]]; }

[ -x "$DRIP" ] || { echo "run.sh: $DRIP not found; build drip first (make)" >&2; exit 1; }
for t in /usr/bin/time "$CC"; do
    command -v "$t" >/dev/null || { echo "run.sh: $t is needed" >&2; exit 1; }
done
if ! skipped valgrind && ! command -v valgrind >/dev/null; then echo "run.sh: no valgrind, skipping it" >&2; SKIP+="valgrind,"; fi
if ! skipped heaptrack && ! command -v heaptrack >/dev/null; then echo "run.sh: no heaptrack, skipping it" >&2; SKIP+="heaptrack,"; fi
if ! skipped lsan && ! command -v "$CLANG" >/dev/null; then echo "run.sh: no $CLANG, skipping LSan" >&2; SKIP+="lsan,"; fi

WORK=$ROOT/build/bench-run
rm -rf "$WORK"
mkdir -p "$WORK/bin" "$WORK/tmp" "$(dirname "$OUT")"
DATA=$WORK/runs.tsv   # build tool rep wall_s rss_kb
: > "$DATA"

# ---- build ------------------------------------------------------------------------------------
declare -A CFLAGS=([fp]="-O2 -g -fno-omit-frame-pointer" [nofp]="-O2 -g -fomit-frame-pointer")
BUILDS=(fp nofp)
REAL=()
if ! skipped real; then
    for p in /usr/bin/python3 sqlite3; do
        command -v "$p" >/dev/null && REAL+=("$(basename "$p")") || echo "run.sh: no $p, skipping it" >&2
    done
fi
echo "building into $WORK/bin" >&2
for b in "${BUILDS[@]}"; do
    # shellcheck disable=SC2086
    $CC ${CFLAGS[$b]} -pthread -o "$WORK/bin/alloc_bench-$b" "$ROOT/bench/alloc_bench.c"
    if ! skipped lsan; then
        # shellcheck disable=SC2086
        $CLANG ${CFLAGS[$b]} -pthread -o "$WORK/bin/alloc_bench-clang-$b" "$ROOT/bench/alloc_bench.c"
        # shellcheck disable=SC2086
        $CLANG ${CFLAGS[$b]} -fsanitize=leak -pthread -o "$WORK/bin/alloc_bench-lsan-$b" "$ROOT/bench/alloc_bench.c"
    fi
done
$CC -O2 -g -fno-omit-frame-pointer -o "$WORK/bin/scan_bench" "$ROOT/bench/scan_bench.c"

IARGS=()
[ -n "$ITERS" ] && IARGS=(--iters "$ITERS")

# ---- one timed run ------------------------------------------------------------------------------
# Wall time from the shell's clock (ns), peak RSS from /usr/bin/time's %M (KiB; for a process tree
# it is the largest single process, not the sum). The program's checksum line is compared with the
# no-tool run's, so a tool that changed what the program computed is caught.
declare -A REF
run_one() {   # build tool rep -- command...
    local b=$1 tool=$2 rep=$3; shift 4
    local out=$WORK/tmp/out err=$WORK/tmp/err rssf=$WORK/tmp/rss t0 t1 rc=0
    t0=$(date +%s%N)
    timeout "$RUN_TIMEOUT" /usr/bin/time -f '%M' -o "$rssf" "$@" < /dev/null > "$out" 2> "$err" || rc=$?
    t1=$(date +%s%N)
    if [ $rc -ne 0 ]; then
        echo "run.sh: $tool/$b failed (status $rc): $*" >&2
        tail -5 "$err" >&2
        return 1
    fi
    local sum key
    sum=$(grep -o 'checksum=[0-9a-f]*\|blocks=[0-9]* bytes=[0-9]*\|^result|.*' "$out" || true)
    key=$b/$(grep -q -- --quick <<< "$*" && echo quick || echo full)/$(grep -q scan_bench <<< "$*" && echo scan || echo alloc)
    if [ -z "${REF[$key]:-}" ]; then
        REF[$key]=$sum
    elif [ "${REF[$key]}" != "$sum" ]; then
        echo "run.sh: $tool/$b: output '$sum' differs from '${REF[$key]}'" >&2
        return 1
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$b" "$tool" "$rep" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')" \
        "$(tail -1 "$rssf")" >> "$DATA"
}

# The (tool, command) pairs for one build. Each entry: tool|command (the program is $P, $L, $C).
tools_for() {   # build
    local b=$1
    case $b in
    python3|sqlite3)
        local P="/usr/bin/python3 $ROOT/bench/real/json_index.py"
        [ "$b" = sqlite3 ] && P="sqlite3 -init $ROOT/bench/real/inserts.sql :memory: .quit"
        echo "none|$P"
        echo "drip|$DRIP run --log-path /dev/null -- $P"
        skipped valgrind || echo "valgrind|valgrind --tool=memcheck --leak-check=full --num-callers=40 --log-file=/dev/null $P"
        skipped heaptrack || echo "heaptrack|heaptrack -r -o $WORK/tmp/heaptrack-$b $P"
        return ;;
    esac
    local P=$WORK/bin/alloc_bench-$b
    echo "none|$P ${IARGS[*]}"
    echo "drip|$DRIP run --log-path /dev/null -- $P ${IARGS[*]}"
    echo "drip-noreport|$DRIP run --no-report -- $P ${IARGS[*]}"
    if [ "$b" = fp ] && ! skipped drip-fp; then
        echo "drip-unwind-fp|$DRIP run --unwind fp --log-path /dev/null -- $P ${IARGS[*]}"
    fi
    if ! skipped valgrind; then
        echo "none-quick|$P ${IARGS[*]} --quick"
        echo "valgrind|valgrind --tool=memcheck --leak-check=full --num-callers=40 --log-file=/dev/null $P ${IARGS[*]} --quick"
    fi
    if ! skipped heaptrack; then
        echo "heaptrack|heaptrack -r -o $WORK/tmp/heaptrack-$b $P ${IARGS[*]}"
    fi
    if ! skipped lsan; then
        echo "clang-none|$WORK/bin/alloc_bench-clang-$b ${IARGS[*]}"
        echo "lsan|env LSAN_OPTIONS=exitcode=0:log_path=$WORK/tmp/lsan $WORK/bin/alloc_bench-lsan-$b ${IARGS[*]}"
    fi
    if [ "$b" = fp ] && ! skipped scan; then
        local S=$WORK/bin/scan_bench
        echo "scan-none|$S"
        echo "scan-drip|$DRIP run --log-path /dev/null -- $S"
        echo "scan-drip-noreport|$DRIP run --no-report -- $S"
    fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
echo "load average at start: $LOAD_START" >&2
for rep in $(seq 1 "$REPS"); do
    for b in "${BUILDS[@]}" "${REAL[@]}"; do
        mapfile -t entries < <(tools_for "$b")
        n=${#entries[@]}
        # round-robin, rotated by the repetition so no tool always runs right after the same one
        for i in $(seq 0 $((n - 1))); do
            e=${entries[$(((i + rep) % n))]}
            tool=${e%%|*}
            cmd=${e#*|}
            printf 'rep %d/%d  %-5s %-20s' "$rep" "$REPS" "$b" "$tool" >&2
            # shellcheck disable=SC2086
            run_one "$b" "$tool" "$rep" -- $cmd
            [ "$b/$tool" = fp/none ] && cp "$WORK/tmp/out" "$WORK/tmp/workload"
            tail -1 "$DATA" | awk -F'\t' '{ printf "%8.2f s %8.0f MiB\n", $4, $5 / 1024 }' >&2
            rm -f "$WORK"/tmp/heaptrack-* "$WORK"/tmp/lsan.*
        done
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - START))

# ---- table --------------------------------------------------------------------------------------
median() {   # build tool column(4|5)
    awk -F'\t' -v b="$1" -v t="$2" -v c="$3" '$1 == b && $2 == t { print $c }' "$DATA" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.2f", a }'; }
mib() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.0f", a / 1024 }'; }

{
    echo "# drip benchmark: alloc_bench under each tool"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(nproc) CPUs; $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "- load average: $LOAD_START at start, $LOAD_END at end; $ELAPSED s for all runs"
    echo "- drip: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
    echo "- tools: $($CC --version | head -1); $(command -v valgrind >/dev/null && valgrind --version); heaptrack $(command -v heaptrack >/dev/null && heaptrack --version 2>/dev/null | awk '{print $2}'); $($CLANG --version 2>/dev/null | head -1)"
    echo "- workload: $(sed 's/alloc_bench: //' "$WORK/tmp/workload" 2>/dev/null); median of $REPS runs each, round-robin over tools"
    echo
    echo "| tool | build | wall ratio | RSS ratio | median wall (s) | median peak RSS (MiB) | compared with |"
    echo "|---|---|---|---|---|---|---|"
    for b in "${BUILDS[@]}"; do
        base_w=$(median "$b" none 4); base_r=$(median "$b" none 5)
        row() {   # label tool base-tool note
            local w r bw br
            w=$(median "$b" "$2" 4); r=$(median "$b" "$2" 5)
            [ -z "$w" ] && return
            bw=$(median "$b" "$3" 4); br=$(median "$b" "$3" 5)
            echo "| $1 | $b | $(ratio "$w" "$bw") | $(ratio "$r" "$br") | $(secs "$w") | $(mib "$r") | $4 |"
        }
        row "none" none none "gcc, no tool"
        row "drip" drip none "none"
        row "drip report=0" drip-noreport none "none"
        row "drip --unwind fp" drip-unwind-fp none "none"
        row "valgrind memcheck (--quick)" valgrind none-quick "none --quick ($(secs "$(median "$b" none-quick 4)") s)"
        row "heaptrack -r" heaptrack none "none"
        row "LSan (clang)" lsan clang-none "clang, no tool ($(secs "$(median "$b" clang-none 4)") s)"
    done
    if [ ${#REAL[@]} -gt 0 ]; then
        echo
        echo "### Real programs, unmodified (LSan would need them rebuilt)"
        echo
        echo "python3: bench/real/json_index.py; sqlite3: bench/real/inserts.sql. Ratios to the same program with no tool."
        echo
        echo "| program | tool | wall ratio | RSS ratio | median wall (s) | median peak RSS (MiB) |"
        echo "|---|---|---|---|---|---|"
        for b in "${REAL[@]}"; do
            bw=$(median "$b" none 4); br=$(median "$b" none 5)
            for t in none drip heaptrack valgrind; do
                w=$(median "$b" "$t" 4); r=$(median "$b" "$t" 5)
                [ -n "$w" ] && echo "| $b | $t | $(ratio "$w" "$bw") | $(ratio "$r" "$br") | $(secs "$w") | $(mib "$r") |"
            done
        done
    fi
    echo
    echo "### drip's exit scan + report (median wall with report=1 minus report=0)"
    echo
    echo "| program | build | scan + report (s) | drip report=1 (s) | drip report=0 (s) | no tool (s) |"
    echo "|---|---|---|---|---|---|"
    for b in "${BUILDS[@]}"; do
        w1=$(median "$b" drip 4); w0=$(median "$b" drip-noreport 4)
        [ -n "$w1" ] && [ -n "$w0" ] &&
            echo "| alloc_bench (~36k live blocks) | $b | $(awk -v a="$w1" -v b="$w0" 'BEGIN { printf "%.2f", a - b }') | $(secs "$w1") | $(secs "$w0") | $(secs "$(median "$b" none 4)") |"
    done
    w1=$(median fp scan-drip 4); w0=$(median fp scan-drip-noreport 4)
    if [ -n "$w1" ] && [ -n "$w0" ]; then
        echo "| scan_bench (1M blocks, ~1 GiB) | fp | $(awk -v a="$w1" -v b="$w0" 'BEGIN { printf "%.2f", a - b }') | $(secs "$w1") | $(secs "$w0") | $(secs "$(median fp scan-none 4)") |"
    fi
    echo
    echo "Peak RSS: scan_bench $(mib "$(median fp scan-none 5)") MiB with no tool, $(mib "$(median fp scan-drip 5)") MiB under drip."
    echo "Raw runs (build, tool, rep, wall s, peak RSS KiB): $(dirname "$OUT")/latest-runs.tsv"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cp "$DATA" "$(dirname "$OUT")/latest-runs.tsv"
echo >&2
cat "$OUT"
