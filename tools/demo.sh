#!/bin/sh
# demo.sh BINDIR — `make demo`: run swingsetd on the embedded default
# (conf/demo.json: state in ./var, socket ./var/control.sock), show its
# status, commit a block, show the status again, and shut it down.  State
# persists in ./var, so each run continues at the next height.
set -eu
bin=${1:-bin}
mkdir -p var
sock=./var/control.sock
export SWINGSET_SOCKET=$sock

echo "== starting swingsetd --config conf/demo.json (log: var/demo.log)"
"$bin/swingsetd" --config conf/demo.json >>var/demo.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
until "$bin/swingctl" status >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
		echo "swingsetd did not come up; last log lines:" >&2
		tail -20 var/demo.log >&2
		exit 1
	fi
	sleep 0.05
done

echo "== swingctl status"
"$bin/swingctl" status
height=$("$bin/swingctl" --json status | sed 's/.*"height":\([0-9]*\).*/\1/')
next=$((height + 1))
echo "== swingctl commit $next"
"$bin/swingctl" commit $next
echo "== swingctl status"
"$bin/swingctl" status
echo "== swingctl shutdown"
"$bin/swingctl" shutdown
rc=0
wait $pid || rc=$?
trap - EXIT
echo "== swingsetd exited $rc; state kept in ./var (run 'make demo' again to"
echo "   see it resume at height $next)"
