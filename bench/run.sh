#!/bin/sh
# run.sh BINDIR — `make bench`: start daemons on scratch state
# directories, run the benchmarks against them, print `bench:` lines.
#
# 1. Control socket: status round trips and durable empty commits per
#    second (bench_control) on a daemon with only a bootstrap vat.
#
# 2. Ping-pong through the kernel with testworker: a daemon with a
#    bootstrap vat and two pingpong vats, carol and dave.  bench_pingpong
#    queues bootstrap.run([carol.start(@dave, N)]) and drives blocks as a
#    producer does (`run` with a crank budget, `commit`, until idle); the
#    figure is committed cranks / wall time from the first run to the last
#    commit.  Peak RSS is the daemon's VmHWM after that run.
#
# 3. Where a crank's time goes.  The daemon has no timers of its own, so
#    it is measured from outside, without changing it:
#    - bench_pingpong reads the daemon's on-CPU time around the clean run
#      (/proc/PID/task/*/schedstat, ns).  Wall − daemon CPU is time the
#      daemon spends blocked: waiting for a worker's reply or upcall (the
#      ping-pong is serial, so the worker computes while the daemon
#      waits), for the scheduler to wake it, for fsync at commit and for
#      the next control request.  The commits' client-side wall time is
#      charged to LMDB; the rest of the blocked time to pipe round trips.
#    - a second, shorter run of the same daemon under `perf record -g
#      --call-graph dwarf` (software cpu-clock samples) splits the
#      daemon's CPU time: each sample goes to the first "owner" frame
#      from the leaf (perf_split.awk): liblmdb and daemon/store*.c → LMDB;
#      libjansson and the kernel's smallcaps code (protocol/capdata.c) → JSON;
#      libcrypto and hash.c → hashing; libev, workers/*.c and
#      netstring.c → pipe; the rest of daemon/ → kernel logic.  Linux
#      kernel and libc frames are charged to their caller, so the write()
#      to a worker's pipe (with the wake-up of the worker) is pipe, and a
#      malloc inside jansson is JSON.  The sample shares are applied to the
#      clean run's daemon CPU time per crank (perf's own overhead slows
#      the profiled run, but its shares are what we use).
#    - pipe round trips = blocked time + the pipe share of daemon CPU;
#      "other" = µs per crank − every other line (control socket,
#      logging, samples with no owner frame).
#    - `perf stat` over the profiled run counts the daemon's context
#      switches and syscalls per crank; the worker CPU split uses the
#      same buckets on the workers' samples.
#    Without a working perf the CPU/blocked split is printed alone.
#
# 4. The same clean run with daemon.cpuAffinity set to the last CPU (the
#    daemon pins itself; its workers inherit the mask).
#
# 5. Dynamic vat creation: a daemon with a bootstrap vat (parallel
#    script steps), the vatAdmin vat and a named bundle `kid` (testworker
#    `counter` whose startVat writes 50 vatstore keys).  bench_create
#    first creates one vat untimed (boot, the vatAdminService, a warm
#    binary), then queues bootstrap.run([N createVat steps]) and drives
#    blocks as a producer does until idle; the figure is committed
#    creations / wall time from that `queue` to the last commit.  Every
#    created vat keeps its worker process, so N stays modest (500
#    processes, a few fds each, well inside this machine's limits).
#    Each creation is one pseudo-crank (spawn + ready handshake,
#    startVat, root export + newVatCallback + commit) plus the ordinary
#    cranks of createVat, callNow and the callbacks; the per-vat split of
#    the pseudo-crank comes from the daemon's own counters in `status`
#    (daemon.creation: bootWaitUs, startVatUs, commitUs), differenced
#    over the timed part: boot wait = spawn to ready, startVat = ready to
#    its answer (including the kernel executing its syscalls), kernel
#    work after startVat = root export, newVatCallback, transcript and
#    the crank's commit.
#
# 7. The loop while a big heap snapshot is written and restored: an
#    xsnap vat (tests/vats/big/) whose heap holds BENCH_SNAPSHOT_MB MiB
#    (default 100) is snapshotted, then the daemon restarts and restores
#    it, while a second connection asks `status` every 2 ms, open-loop
#    (bench/snapshot_bench.py driving bench_statuslat): p99 and max of
#    the answers' latency during each of the two cranks.
#
# BENCH_PINGPONG_N (default 50000), BENCH_PROFILE_N (20000) and
# BENCH_BLOCK (cranks per block, 1000) tune the ping-pong;
# BENCH_PERF_OUT=DIR keeps perf.data and the full split there.
# BENCH_CREATE_N (vats to create, default 500) and BENCH_CREATE_BLOCK
# (cranks per block, 200) tune the creation run.
set -eu
bin=${1:-bin}
n=${BENCH_PINGPONG_N:-50000}
nprof=${BENCH_PROFILE_N:-20000}
block=${BENCH_BLOCK:-1000}
ncreate=${BENCH_CREATE_N:-500}
cblock=${BENCH_CREATE_BLOCK:-200}
bindir=$(cd "$bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pid=
perfpid=
statpid=
cleanup() {
	[ -z "$perfpid" ] || kill "$perfpid" 2>/dev/null || true
	[ -z "$statpid" ] || kill "$statpid" 2>/dev/null || true
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_daemon NAME VATS-JSON [MORE-JSON]: a daemon on $tmp/NAME, run by
# $launch (a command prefix, or empty); MORE-JSON is more top-level keys
# (`"bundles":{…},`); sets $pid, $sock.
launch=
start_daemon() {
	mkdir -p "$tmp/$1"
	sock="$tmp/$1/control.sock"
	cat >"$tmp/$1/config.json" <<CONF
{"bootstrap":"bootstrap","defaultManagerType":"testworker",
 "vats":{$2},${3:-}
 "daemon":{"stateDir":"$tmp/$1/state","socket":"$sock","logLevel":"warn",
  ${affinity:-}"workers":{"testworker":["$bindir/testworker"]}}}
CONF
	"$bin/swingsetd" --config "$tmp/$1/config.json" 2>"$tmp/$1/log" &
	pid=$!
	i=0
	until "$bin/swingctl" --socket "$sock" status >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 200 ] || { cat "$tmp/$1/log"; exit 1; }
		sleep 0.05
	done
}

stop_daemon() {
	"$bin/swingctl" --socket "$sock" shutdown >/dev/null
	wait "$pid"
	pid=
}

# tw NAME BEHAVIOUR [OPTIONS-JSON]: a vats entry for a testworker vat.
tw() {
	opts=
	[ -z "${3:-}" ] || opts=",\"options\":$3"
	printf '"%s":{"bundle":{"moduleFormat":"testworker","vat":"%s"%s}}' \
	    "$1" "$2" "$opts"
}

# ---- 1. control socket ----------------------------------------------------
start_daemon control "$(tw bootstrap bootstrap)"
"$bin/bench_control" "$sock" 20000
stop_daemon

# ---- 2. ping-pong -----------------------------------------------------------
start_daemon pingpong "$(tw bootstrap bootstrap),$(tw carol pingpong),$(tw dave pingpong)"
"$bin/bench_pingpong" "$sock" "$n" "$block" >"$tmp/clean.out"
grep '^bench:' "$tmp/clean.out"
raw=$(grep '^pingpong-raw:' "$tmp/clean.out")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
anon=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")
echo "bench: daemon peak RSS = $rss kB (ping-pong run; RSS now: anon $anon kB, rest LMDB map and binaries)"

# ---- 3. where a crank's time goes ------------------------------------------
perf_ok=no
if command -v perf >/dev/null 2>&1 &&
    perf record -q -F 99 --call-graph dwarf -o "$tmp/probe.data" -- true \
    >/dev/null 2>&1; then
	perf_ok=yes
fi
split=
if [ $perf_ok = yes ]; then
	wpids=$("$bin/swingctl" --socket "$sock" --json status |
	    tr ',{}' '\n\n\n' | sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' |
	    grep -v "^$pid\$" | tr '\n' ',' | sed 's/,$//')
	perf record -q -F 999 --call-graph dwarf,16384 \
	    -p "$pid${wpids:+,$wpids}" -o "$tmp/perf.data" \
	    >"$tmp/perf.err" 2>&1 &
	perfpid=$!
	perf stat -x, -e context-switches,raw_syscalls:sys_enter -p "$pid" \
	    -o "$tmp/stat.out" >/dev/null 2>&1 &
	statpid=$!
	sleep 0.5
	"$bin/bench_pingpong" "$sock" "$nprof" "$block" profiled \
	    >"$tmp/prof.out"
	kill -INT "$perfpid" "$statpid" 2>/dev/null || true
	wait "$perfpid" || true
	wait "$statpid" || true
	perfpid=
	statpid=
	for b in swingsetd testworker; do
		nm -l --defined-only "$bin/$b" | awk -v b=$b \
		    'NF >= 4 && $2 ~ /^[tT]$/ { f = $4; sub(/:[0-9]+$/, "", f);
		    print b, $3, f }'
	done >"$tmp/syms"
	perf script -i "$tmp/perf.data" -F comm,pid,ip,sym,dso \
	    2>/dev/null >"$tmp/script" || true
	awk -f "$here/perf_split.awk" "$tmp/syms" "$tmp/script" >"$tmp/split"
	[ -s "$tmp/split" ] && grep -q '^daemon total' "$tmp/split" &&
	    split="$tmp/split" || echo "bench: (perf gave no samples: $(cat "$tmp/perf.err"))"
	profcranks=$(sed -n 's/^pingpong-raw: cranks=\([0-9]*\).*/\1/p' "$tmp/prof.out")
	if [ -n "${BENCH_PERF_OUT:-}" ]; then
		mkdir -p "$BENCH_PERF_OUT"
		cp "$tmp/perf.data" "$tmp/split" "$tmp/stat.out" "$tmp/prof.out" \
		    "$BENCH_PERF_OUT/"
	fi
fi
echo "$raw" | awk -v splitf="$split" -v statf="${split:+$tmp/stat.out}" \
    -v profcranks="${profcranks:-0}" '
{
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		r[kv[1]] = kv[2]
	}
}
END {
	c = r["cranks"]
	wall = r["wall_ns"] / c / 1000
	cpu = r["daemon_cpu_ns"] / c / 1000
	commit = r["commit_ns"] / c / 1000
	blocked = wall - cpu
	printf "bench: pingpong us per crank = %.1f us\n", wall
	printf "bench: pingpong us per crank, daemon on CPU = %.1f us\n", cpu
	printf "bench: pingpong us per crank, daemon blocked = %.1f us " \
	    "(worker CPU %.1f us of it)\n", blocked, r["workers_cpu_ns"] / c / 1000
	if (splitf == "") {
		printf "bench: (perf not usable: no LMDB/JSON split; pipe round " \
		    "trips ~ blocked time, LMDB ~ commits)\n"
		printf "bench: pingpong us per crank, commits = %.1f us\n", commit
		exit
	}
	while ((getline line < splitf) > 0) {
		nf = split(line, f, " ")
		if (f[1] == "daemon" && nf == 3)
			s[f[2]] = f[3]
		if (f[1] == "worker" && nf == 3)
			w[f[2]] = f[3]
	}
	t = s["total"]
	pipe = blocked - commit + cpu * s["pipe"] / t
	lmdb = commit + cpu * s["lmdb"] / t
	json = cpu * s["json"] / t
	hash = cpu * s["hash"] / t
	logic = cpu * s["logic"] / t
	printf "bench: pingpong us per crank, pipe round trips = %.1f us\n", pipe
	printf "bench: pingpong us per crank, LMDB = %.1f us\n", lmdb
	printf "bench: pingpong us per crank, JSON = %.1f us\n", json
	printf "bench: pingpong us per crank, hashing = %.1f us\n", hash
	printf "bench: pingpong us per crank, kernel logic = %.1f us\n", logic
	other = wall - pipe - lmdb - json - hash - logic
	printf "bench: pingpong us per crank, other = %.1f us\n",
	    (other > 0 ? other : 0)
	if (w["total"] > 0)
		printf "bench: pingpong worker CPU split = pipe %.0f%%, JSON " \
		    "%.0f%%, other %.0f%%\n", 100 * w["pipe"] / w["total"],
		    100 * w["json"] / w["total"],
		    100 * (w["total"] - w["pipe"] - w["json"]) / w["total"]
	while (statf != "" && (getline line < statf) > 0) {
		nf = split(line, f, ",")
		if (profcranks > 0 && f[3] ~ /context-switches/)
			printf "bench: pingpong daemon context switches per " \
			    "crank = %.1f\n", f[1] / profcranks
		if (profcranks > 0 && f[3] ~ /sys_enter/)
			printf "bench: pingpong daemon syscalls per crank = " \
			    "%.1f\n", f[1] / profcranks
	}
}'
stop_daemon

# ---- 4. the same ping-pong with daemon.cpuAffinity ---------------------------
# The ping-pong is serial (the daemon waits for the worker and back), so
# one CPU loses no parallelism and saves the cross-CPU wake-ups; the
# daemon pins itself and its workers inherit the mask.
cpu=$(($(nproc) - 1))
affinity="\"cpuAffinity\":$cpu,"
start_daemon pinned "$(tw bootstrap bootstrap),$(tw carol pingpong),$(tw dave pingpong)"
"$bin/bench_pingpong" "$sock" "$n" "$block" \
    "pingpong with cpuAffinity $cpu" | grep '^bench:'
stop_daemon
affinity=

# ---- 5. dynamic vat creation ------------------------------------------------
kid='{"moduleFormat":"testworker","vat":"counter","options":{"startWrites":50}}'
start_daemon create \
    "$(tw bootstrap bootstrap '{"parallel":true}'),$(tw vatAdmin vatAdmin)" \
    "\"bundles\":{\"kid\":{\"bundle\":$kid}},"
"$bin/bench_create" "$sock" "$ncreate" "$cblock"
stop_daemon

# ---- 6. JavaScript vats on xsnap: swingsetd beside the JavaScript kernel ------
# bench/vats/ on both kernels, same xsnap-worker and bundles, in one run
# (bench/xsnap_bench.py; the JavaScript kernel needs `make jskernel`).
SWINGSET_BIN="$bin" python3 "$here/xsnap_bench.py" "$bin"

# ---- 7. status latency during a big heap snapshot ------------------------------
SWINGSET_BIN="$bin" python3 "$here/snapshot_bench.py" "$bin"

# 8. Garbage collection at scale (bench/gc_bench.py): 10,000 objects and
#    1,000 promises churned between two xsnap vats in five batches, each
#    followed by reapAllVats: kernel objects after reap (= the baseline)
#    and the growth of the kv table (0).
SWINGSET_BIN="$bin" python3 "$here/gc_bench.py" "$bin"
