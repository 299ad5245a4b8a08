#!/bin/sh
# demo.sh BINDIR — `make demo`: run swingsetd on the embedded default
# (conf/demo.json: JavaScript vats from conf/demo/, bundled at start-up,
# on the real xsnap-worker with Agoric's liveslots; the bootstrap creates
# three more through the vat-admin vat; state in ./var, socket
# ./var/control.sock) the way a block producer drives it: status, run
# (watching the vats being created, each in its own pseudo-crank), a
# queued message, a timer wake-up as `run --now` advances the block's
# time (10 x the height), a reap of every vat, commit, status.  State persists in ./var, so each run
# continues at the next height.
set -eu
bin=${1:-bin}
mkdir -p var
sock=./var/control.sock
export SWINGSET_SOCKET=$sock
ctl() { "$bin/swingctl" "$@"; }

echo "== starting swingsetd --config conf/demo.json (log: var/demo.log)"
lines_before=0
[ -f var/demo.log ] && lines_before=$(wc -l < var/demo.log)
"$bin/swingsetd" --config conf/demo.json >>var/demo.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
# the first start bundles conf/demo/ with node first: on a busy machine
# that takes well over ten seconds, so wait up to two minutes (or until
# the daemon exits)
i=0
until ctl status >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 2400 ] || ! kill -0 $pid 2>/dev/null; then
		echo "swingsetd did not come up; last log lines:" >&2
		tail -20 var/demo.log >&2
		if grep -q -e 'does not match the state' -e 'holds state of version' var/demo.log; then
			echo "(./var holds state made with another conf/demo.json or an older swingsetd:" \
			    "remove ./var to start afresh)" >&2
		fi
		exit 1
	fi
	sleep 0.05
done

echo "== swingctl status (before)"
ctl status
height=$(ctl --json status | sed 's/.*"height":\([0-9]*\).*/\1/')
next=$((height + 1))
echo "== swingctl run   (startVat for each vat, then bootstrap(), which"
echo "   creates vats w0, w1, w2: each xsnap worker boots in its pseudo-crank)"
ctl run > var/demo-run.out &
runpid=$!
# while the run goes on, status still answers: show the vats being made
last=
while kill -0 $runpid 2>/dev/null; do
	now=$(ctl status 2>/dev/null | grep -E ' (creating|queued) ' || true)
	if [ -n "$now" ] && [ "$now" != "$last" ]; then
		echo "   status during the run:"
		echo "$now"
		last=$now
	fi
	sleep 0.05
done
wait $runpid
cat var/demo-run.out
echo "   the kernel's crank log:"
tail -n +"$((lines_before + 1))" var/demo.log |
    sed -n 's/.*kernel: \(v[0-9]*: created in crank .*\)/   \1/p'
echo "== swingctl queue --vat bob incr; swingctl run"
kpid=$(ctl --json queue --vat bob incr | sed 's/.*"kpid":"\([^"]*\)".*/\1/')
ctl run
echo "== swingctl promise $kpid"
ctl promise "$kpid"
now=$((next * 10))
echo "== swingctl queue --vat bootstrap wakeMeAt [$now]; swingctl run"
ctl queue --vat bootstrap wakeMeAt "[$now]" >/dev/null
ctl run
echo "== swingctl run --now $now   (the block's time: the timer wakes the vat)"
ctl run --now $now
echo "== swingctl reap; swingctl run   (every vat brings out its dead: SwingSet's"
echo "   reapAllVats; each delivery already left its vat due for one, README \"Reaping\")"
ctl reap
ctl run
tail -n +"$((lines_before + 1))" var/demo.log |
    sed -n 's/.*kernel: \(reapAllVats: .*\)/   \1/p'
echo "== what the vats logged (testLog)"
tail -n +"$((lines_before + 1))" var/demo.log | sed -n 's/.*testLog: /  /p'
echo "== swingctl commit $next"
ctl commit $next
echo "== swingctl status (after)"
ctl status
echo "== swingctl shutdown"
ctl shutdown
rc=0
wait $pid || rc=$?
trap - EXIT
echo "== swingsetd exited $rc; state kept in ./var (run 'make demo' again to"
echo "   see it resume at height $next: workers are rebuilt from heap"
echo "   snapshots and transcripts)"
