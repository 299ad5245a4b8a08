"""test_loop.py — the event loop keeps answering while the daemon does
slow things (issue 11, defect 10): `status`, asked every 2 ms from a
second connection (open-loop: tests/integration/statuspoll.py), is
answered within LIMIT while a big heap snapshot is written, fsynced and
restarted from, and while a restarted daemon restores a vat from it
(its file read and hashed first); when the daemon's stderr is a pipe
nobody reads, workers flooding their stderr make the daemon drop log
lines, and count them, rather than stop; a worker whose program cannot
be executed fails through the worker's failure path.

LIMIT is generous (a loaded 2-core machine); the 10 ms the loop aims
for is measured by `make bench` (bench/snapshot_bench.py).  The big vat
is tests/vats/big/ (a string of SNAP_MB MiB in its heap), bundled by
the daemon from its sourceSpec; needs `make xsnap`.
"""
import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, DaemonTest, ROOT, SWINGSETD, TESTWORKER,  # noqa: E402
                     capdata, decode, default_config, main)
from statuspoll import StatusPoller, percentile  # noqa: E402

LIMIT = 0.100           # seconds: every status answer within this
SNAP_MB = 128           # the big vat's heap, MiB: a snapshot of ~130 MB
XSNAP_DIR = os.path.join(ROOT, "workers", "xsnap")
WORKER = os.path.join(XSNAP_DIR, "node_modules", "@agoric", "xsnap",
                      "xsnap-native", "xsnap", "build", "bin", "lin",
                      "release", "xsnap-worker")
BIG = os.path.join(ROOT, "tests", "vats", "big", "big.js")


def big_config(tmp):
    # no reaping: bringOutYourDead would collect the heap to snapshot
    return {"defaultManagerType": "xsnap", "defaultReapInterval": "never",
            "snapshotInitial": 2, "snapshotInterval": 1000,
            "vats": {"big": {"sourceSpec": BIG}},
            "daemon": {"stateDir": os.path.join(tmp, "state"),
                       "socket": os.path.join(tmp, "control.sock"),
                       "logLevel": "info",
                       "xsnapDir": XSNAP_DIR}}


def summary(samples):
    ms = sorted(s * 1000 for s in samples)
    return "%d answers, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
        len(ms), percentile(ms, 50), percentile(ms, 99), ms[-1])


@unittest.skipUnless(os.path.exists(WORKER), "needs make xsnap")
class BigSnapshot(DaemonTest):

    def start(self):
        d = self.daemon(big_config(self.tmp), start=False)
        d.start(wait=False)
        d.wait_ready(timeout=120)   # bundles big.js at first start
        return d

    def polled_run(self, d, method, args):
        """method(args) to the big vat, run while status is polled; the
        answer and the status round trips."""
        c = d.client()
        try:
            kpid = c.ok("queue", vat="big", method=method,
                        args=capdata(args))["kpid"]
            poller = StatusPoller(d.socket).start()
            try:
                r = c.ok("run")
            finally:
                samples = poller.stop()
            self.assertEqual(poller.errors, [])
            self.assertTrue(r["idle"] and r["halted"] is None,
                            (r, d.log()[-3000:]))
            return decode(c.ok("promise", kpid=kpid)["data"]), samples
        finally:
            c.close()

    def assert_answered_in_time(self, samples, what):
        self.assertGreater(len(samples), 20, what)
        self.assertLess(max(samples), LIMIT, "status during %s: %s" % (
            what, summary(samples)))

    def test_status_answers_while_a_snapshot_is_written(self):
        d = self.start()
        self.assertIsNone(d.ok("run")["halted"])                # startVat
        n, samples = self.polled_run(d, "grow", [SNAP_MB])
        self.assertEqual(n, SNAP_MB << 20)
        # delivery 3: the bringOutYourDead before the snapshot
        m = re.search(r"v2: heap snapshot [0-9a-f]{12} at delivery 3 "
                      r"\((\d+) bytes", d.log())
        self.assertIsNotNone(m, d.log()[-3000:])
        self.assertGreater(int(m.group(1)), SNAP_MB << 20)
        self.assertIn("v2: restored from snapshot", d.log())
        self.assertEqual(d.vat("big")["snapshotPos"], 3)
        self.assert_answered_in_time(samples, "a %s-byte snapshot" %
                                     m.group(1))

    def test_status_answers_while_a_restart_restores_it(self):
        d = self.start()
        d.ok("run")
        self.polled_run(d, "grow", [SNAP_MB])
        d.ok("commit", height=1)
        self.assertEqual(d.stop(), 0, d.log()[-3000:])
        d.start(wait=False)
        d.wait_ready(timeout=60)
        answer, samples = self.polled_run(d, "ping", [])
        self.assertEqual(answer, [1, SNAP_MB << 20])
        self.assertRegex(d.log(), r"v2: restored from snapshot [0-9a-f]{12} "
                                  r"at delivery 3, replayed 0 deliveries")
        self.assert_answered_in_time(samples, "the restore")


class PipedDaemon(Daemon):
    """A daemon whose stderr is a pipe the test reads only when it
    chooses to (drain()); what it read is kept in log_path."""

    def start(self, wait=True):
        self.proc = subprocess.Popen(
            [SWINGSETD, "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=dict(os.environ))
        open(self.log_path, "wb").close()
        self.reader = None
        if wait:
            self.wait_ready()
        return self

    def drain(self):
        def copy():
            with open(self.log_path, "ab") as f:
                for chunk in iter(lambda: self.proc.stderr.read1(65536),
                                  b""):
                    f.write(chunk)
                    f.flush()
        self.reader = threading.Thread(target=copy, daemon=True)
        self.reader.start()


class LoopStaysResponsive(DaemonTest):

    FLOOD = 20000   # lines each worker writes to its stderr at start

    def test_log_lines_are_dropped_not_waited_for(self):
        """Three workers write FLOOD lines each to stderr while the
        daemon's own stderr is a pipe nobody reads: the run completes,
        status keeps answering and counts the dropped lines; once the
        pipe is read, "N log lines dropped" lines account for them."""
        cfg = default_config(self.tmp)
        cfg["daemon"]["logLevel"] = "info"
        flood = ("yes 'worker output, line after line, nobody reads it' | "
                 "head -n %d >&2; exec \"$0\" \"$@\"" % self.FLOOD)
        cfg["daemon"]["workers"] = {"testworker": ["/bin/sh", "-c", flood,
                                                   TESTWORKER]}
        d = PipedDaemon(self.tmp, cfg)
        self.daemons.append(d)
        d.start()
        c = d.client()
        c.sock.settimeout(20)       # a daemon stuck on stderr never answers
        try:
            poller = StatusPoller(d.socket, timeout=20).start()
            try:
                r = c.ok("run")
            finally:
                samples = poller.stop()
            self.assertEqual(poller.errors, [])
            self.assertTrue(r["idle"] and r["halted"] is None, r)
            self.assertLess(max(samples), 1.0, summary(samples))
            dropped = c.ok("status")["daemon"]["logDropped"]
            self.assertGreater(dropped, 0)
            d.drain()                   # writing resumes
            # the workers' pipes may still hold lines the daemon reads
            # (and drops) after the run: the count is the latest status's
            deadline = time.time() + 20
            while time.time() < deadline:
                dropped = c.ok("status")["daemon"]["logDropped"]
                said = sum(int(n) for n in re.findall(
                    r" warn log: (\d+) log lines dropped", d.log()))
                if said == dropped:
                    break
                time.sleep(0.05)
            self.assertEqual(said, dropped, d.log()[-2000:])
            c.ok("shutdown")
        finally:
            c.close()
        self.assertEqual(d.proc.wait(20), 0)
        d.reader.join(10)
        d.proc.stderr.close()
        # the lines that were kept are whole lines
        for line in d.log().splitlines():
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT[\d:.]+Z (debug|info|"
                                   r"warn|error) \w+: ")

    def test_a_worker_that_cannot_be_executed_fails_like_a_lost_one(self):
        """The exec verdict is not waited for: a worker whose program is
        missing is a worker lost (a machine fault: retried, then a halt
        with the reason), and status answers meanwhile."""
        cfg = default_config(self.tmp)
        cfg["daemon"]["workers"] = {"testworker": ["/nonexistent/worker"]}
        d = self.daemon(cfg)
        r = d.ok("run")
        self.assertEqual(r["stopped"], "halted", r)
        self.assertIn("cannot execute /nonexistent/worker: No such file or "
                      "directory", r["halted"])
        self.assertIn("machine fault (cannot execute /nonexistent/worker",
                      d.log())
        self.assertIn("halted", json.dumps(d.status()))


if __name__ == "__main__":
    main()
