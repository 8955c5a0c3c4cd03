#!/bin/sh
# Installs the npm tools drip's tests use into ${DRIP_TOOLS:-$HOME/.cache/drip-tools} when they
# are missing: Microsoft's SARIF Multitool (`sarif-multitool validate`, and the SARIF 2.1.0 JSON
# schema it ships) for tests/install's SARIF test. Versions are pinned. Without npm, or when the
# registry cannot be reached, it says so and exits 0: the tests that need a tool then SKIP.
set -u
dir=${DRIP_TOOLS:-$HOME/.cache/drip-tools}
[ -x "$dir/node_modules/.bin/sarif-multitool" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "drip: npm not found: the SARIF Multitool checks will be skipped" >&2
  exit 0
fi
mkdir -p "$dir"
echo "drip: installing @microsoft/sarif-multitool into $dir" >&2
if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --prefix "$dir" \
        @microsoft/sarif-multitool@5.7.0 >/dev/null); then
  echo "drip: npm install @microsoft/sarif-multitool failed: the SARIF Multitool checks will be skipped" >&2
  exit 0
fi
# the package's postinstall (chmod u+x) may not run under npm's install-scripts policy
chmod u+x "$dir"/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool 2>/dev/null
exit 0
