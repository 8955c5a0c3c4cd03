#!/bin/sh
# Installs the Debian packages drip needs to build and test (scripts/packages.txt, plus any
# named in DRIP_EXTRA_PKGS) when any is missing. Run as root on Debian 12; does nothing when
# everything is already there.
set -eu
here=$(dirname "$0")
PKGS="$(sed -e 's/#.*//' "$here/packages.txt" | tr '\n' ' ') ${DRIP_EXTRA_PKGS:-}"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# npm tools for the SARIF test (SKIPPED without them); never fails the build
"$here/npm-tools.sh"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "drip: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "drip: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
