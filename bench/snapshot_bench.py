"""snapshot_bench.py BINDIR — how long `status` waits while the daemon
writes or restores a big heap snapshot.

A daemon runs one xsnap vat, tests/vats/big/, with snapshotInitial 2.
Its second delivery, grow(MB), leaves a string of MB MiB (default 100,
BENCH_SNAPSHOT_MB) in its heap, so the snapshot taken in that crank is
about MB MiB: the crank streams it from the worker's fd 7 to a file,
hashes and fsyncs it, and restarts the worker from it (the file streamed
into the new worker's fd 8).  Then the daemon is restarted, and the next
delivery brings the vat back from that snapshot: the file is read and
hashed before the worker starts, then streamed into it.

Meanwhile a second connection sends `status` every 2 ms, open-loop, and
times each answer (BINDIR/bench_statuslat, in C, so that no interpreter
adds its own pauses to the figures).  Prints, as `bench: NAME = VALUE
UNIT` lines, the 99th percentile and the maximum of those latencies
during the snapshot's crank ("during snapshot") and during the crank
that restores it after the restart ("during restore"), the number of
samples, and how long each crank took.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("SWINGSET_BIN", sys.argv[1] if len(sys.argv) > 1
                      else "bin")
from harness import BIN, Daemon, capdata, decode  # noqa: E402
from statuspoll import percentile  # noqa: E402

MB = int(os.environ.get("BENCH_SNAPSHOT_MB", "100"))
BIG = os.path.join(ROOT, "tests", "vats", "big", "big.js")


def config(tmp):
    return {"defaultManagerType": "xsnap",
            "snapshotInitial": 2, "snapshotInterval": 1000,
            "vats": {"big": {"sourceSpec": BIG}},
            "daemon": {"stateDir": os.path.join(tmp, "state"),
                       "socket": os.path.join(tmp, "control.sock"),
                       "logLevel": "info",
                       "deliveryTimeoutMs": 600000,
                       "xsnapDir": os.path.join(ROOT, "workers", "xsnap")}}


def timed_crank(d, method, args):
    """Queue method(args) to the big vat and run it while polling
    status; (its answer, seconds, status round trips)."""
    kpid = d.ok("queue", vat="big", method=method,
                args=capdata(args))["kpid"]
    poller = subprocess.Popen([os.path.join(BIN, "bench_statuslat"),
                               d.socket, "2000"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.05)
    t0 = time.monotonic()
    r = d.ok("run")
    took = time.monotonic() - t0
    out, _ = poller.communicate("", timeout=60)   # stdin closed: stop
    us = [int(x) for x in out.split()]
    if r["halted"] or poller.returncode != 0 or -1 in us:
        raise SystemExit("run: %r, poller %d\n%s" % (
            r, poller.returncode, d.log()[-3000:]))
    samples = [x / 1e6 for x in us]
    p = d.ok("promise", kpid=kpid)
    return decode(p["data"]), took, samples


def report(what, took, samples):
    ms = [s * 1000 for s in samples]
    line("status latency during %s, p99" % what,
         "%.1f" % percentile(ms, 99), "ms")
    line("status latency during %s, max" % what, "%.1f" % max(ms), "ms")
    line("status latency during %s, samples" % what, len(ms), "")
    line("%s crank (%d MiB heap snapshot)" % (what, MB), "%.2f" % took, "s")


def line(name, value, unit):
    print(("bench: %s = %s %s" % (name, value, unit)).rstrip(), flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="swingsetd-bench-snap-")
    d = Daemon(tmp, config(tmp))
    try:
        d.start(wait=False)
        d.wait_ready(timeout=120)
        d.ok("run")                                     # startVat
        n, took, samples = timed_crank(d, "grow", [MB])
        if n != MB << 20:
            raise SystemExit("grow answered %r" % n)
        report("snapshot", took, samples)
        d.ok("commit", height=1)
        d.ok("shutdown")
        d.proc.wait(60)
        d.start(wait=False)
        d.wait_ready(timeout=120)
        answer, took, samples = timed_crank(d, "ping", [])
        if answer != [1, MB << 20]:
            raise SystemExit("ping answered %r" % answer)
        report("restore", took, samples)
        d.ok("shutdown")
        d.proc.wait(60)
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
