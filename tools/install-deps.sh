#!/bin/sh
# install-deps.sh PKG… — make sure the Debian packages swingsetd builds and
# tests with are installed.  As root, install what is missing with apt-get;
# otherwise print the exact command and fail.  python3 counts as present
# when any python3 is on PATH (the integration tests need only its stdlib).
set -eu
missing=""
for p in "$@"; do
	if [ "$p" = python3 ] && command -v python3 >/dev/null 2>&1; then
		continue
	fi
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "make deps: missing Debian packages:$missing" >&2
	echo "run as root:  apt-get update && $cmd" >&2
	exit 1
fi
echo "make deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
