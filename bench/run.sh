#!/bin/sh
# run.sh BINDIR — `make bench`: start a daemon on a scratch state
# directory, run the benchmarks against it, print `bench:` lines, and
# report the daemon's peak RSS.
set -eu
bin=${1:-bin}
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
cat >"$tmp/config.json" <<CONF
{"bootstrap":"bootstrap","defaultManagerType":"testworker",
 "vats":{"bootstrap":{"bundle":{"moduleFormat":"testworker","vat":"bootstrap"}}},
 "daemon":{"stateDir":"$tmp/state","socket":"$tmp/control.sock","logLevel":"warn"}}
CONF
"$bin/swingsetd" --config "$tmp/config.json" 2>"$tmp/log" &
pid=$!
i=0
until "$bin/swingctl" --socket "$tmp/control.sock" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$tmp/log"; exit 1; }
	sleep 0.05
done
"$bin/bench_control" "$tmp/control.sock" 20000
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "bench: daemon peak RSS = $rss kB"
"$bin/swingctl" --socket "$tmp/control.sock" shutdown >/dev/null
wait $pid
