#!/bin/bash
# fuzz/run.sh — runs one of drip's libFuzzer targets (fuzz/fuzz.cmake) in one of two ways:
#   fuzz/run.sh seeded RUNS ARGS    ctest's fuzz_NAME_seeded: seed 1 (DRIP_FUZZ_SEED=N for
#       another), RUNS inputs, address-space randomisation off (setarch -R), new inputs into a
#       scratch directory emptied first. libFuzzer is then deterministic: every run of a build
#       tries the same inputs, so a test run turns red only when the code changed, never by the
#       luck of a random seed. (With randomisation on, the stack-depth feature and the compared
#       values libFuzzer records depend on addresses, and runs part ways after a few thousand
#       inputs; -reload=0, since a corpus re-read happens on a timer.)
#   fuzz/run.sh open SECONDS ARGS   `make fuzz`: a random seed for SECONDS, new inputs kept in
#       build/fuzz-corpus-new/NAME (the next run starts from them too); crashes in
#       build/fuzz-artifacts/NAME-*.
# ARGS is the file fuzz/fuzz.cmake wrote (build/fuzz/NAME.args), one word a line: the target,
# its new-inputs directory, its seed corpus, then libFuzzer flags.
set -u
if [ $# -ne 3 ] || { [ "$1" != seeded ] && [ "$1" != open ]; }; then
    echo "usage: fuzz/run.sh seeded RUNS ARGS | open SECONDS ARGS" >&2
    exit 2
fi
mode=$1 n=$2
mapfile -t a < "$3" || exit 2
exe=${a[0]} new=${a[1]} corpus=${a[2]}
flags=("${a[@]:3}")
if [ "$mode" = open ]; then
    mkdir -p "$new" || exit 2
    exec "$exe" -max_total_time="$n" "${flags[@]}" "$new" "$corpus"
fi
# The seeded run works in a scratch directory emptied first, under names of fixed length (the seed
# corpus and dictionary copied in, the target linked in), with no environment but a pad that
# brings the strings the kernel copies above the stack (the program's path, its arguments, its
# environment) to one total: stack and heap addresses, which libFuzzer's traced comparisons see,
# are then the same whatever the build directory's path and the caller's environment.
scratch=$new.seeded
rm -rf "$scratch" && mkdir -p "$scratch/new" && cp -r "$corpus" "$scratch/seed" && ln -s "$exe" "$scratch/target" || exit 2
artifacts=
args=()
for f in "${flags[@]}"; do
    case $f in
    -dict=*) cp "${f#-dict=}" "$scratch/dict" || exit 2; args+=(-dict=dict);;
    -artifact_prefix=*) artifacts=${f#-artifact_prefix=}; args+=(-artifact_prefix=crash-);;
    *) args+=("$f");;
    esac
done
set -- ./target -seed="${DRIP_FUZZ_SEED:-1}" -runs="$n" -reload=0 "${args[@]}" new seed
total=$(( ${#1} + 1 ))   # AT_EXECFN
for w in "$@"; do total=$(( total + ${#w} + 1 )); done
pad=$(( 8192 - total - 10 ))   # DRIP_PAD=...\0
[ $pad -lt 0 ] && pad=0
padding=$(printf '%*s' $pad '' | tr ' ' x)
cd "$scratch" || exit 2
if setarch -R true 2>/dev/null; then
    setarch -R env -i "DRIP_PAD=$padding" "$@"
else
    echo "note: setarch -R is refused here (a container's seccomp filter?): address-space randomisation stays on and this run may differ from the last"
    env -i "DRIP_PAD=$padding" "$@"
fi
rc=$?
for c in crash-*; do
    [ -e "$c" ] && mv "$c" "$artifacts${c#crash-}" && echo "kept $artifacts${c#crash-}"
done
exit $rc
