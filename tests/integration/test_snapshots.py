"""test_snapshots.py — heap snapshots of xsnap vats, on the real daemon and
the real xsnap-worker: taken every snapshotInitial / snapshotInterval
deliveries, a restart restores from the latest and replays only the tail,
superseded snapshots and covered transcript entries are removed, a broken
snapshot is a clear halt, a kill -9 at any moment leaves a startable state,
and restoring from snapshots (daemon restarts) changes nothing committed.
The snapshot settings are recorded at first start: taking a snapshot
changes later deliveries' computrons, so they are consensus.

The vat is a counter kept both in baggage (durable) and in a plain variable
(heap only), so a worker rebuilt wrongly answers wrongly; each incr()
also leaves garbage (collections it drops), whose collection after a
snapshot shows up in computrons.  Its bundle is
made once per run, from a package written into a temporary folder, with
workers/xsnap/bundle.mjs.  Needs `make xsnap` (part of `make deps`).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DaemonTest, ROOT, TESTWORKER, capdata, decode, main  # noqa: E402
from harness import default_config  # noqa: E402

XSNAP_DIR = os.path.join(ROOT, "workers", "xsnap")
WORKER = os.path.join(XSNAP_DIR, "node_modules", "@agoric", "xsnap",
                      "xsnap-native", "xsnap", "build", "bin", "lin",
                      "release", "xsnap-worker")

COUNTER_JS = """\
import { Far } from '@endo/far';
import { makeScalarBigMapStore } from '@agoric/vat-data';
export const buildRootObject = (_vatPowers, _params, baggage) => {
  if (!baggage.has('count')) baggage.init('count', 0);
  let inHeap = 0;
  return Far('counter', {
    incr() {
      for (let i = 0; i < 5; i += 1) makeScalarBigMapStore('junk');
      inHeap += 1;
      const n = baggage.get('count') + 1;
      baggage.set('count', n);
      return n;
    },
    get() { return [baggage.get('count'), inHeap]; },
  });
};
"""

PACKAGE_JSON = {"name": "swingsetd-snapshot-test-vats", "private": True,
                "type": "module", "dependencies": {"@endo/far": "*",
                                 "@agoric/vat-data": "*"}}

_bundle_dir = None


def counter_bundle():
    """The counter vat's bundle file, made once per run."""
    global _bundle_dir
    if _bundle_dir is None:
        _bundle_dir = tempfile.mkdtemp(prefix="swingsetd-snapvats-")
        with open(os.path.join(_bundle_dir, "package.json"), "w") as f:
            json.dump(PACKAGE_JSON, f)
        with open(os.path.join(_bundle_dir, "counter.js"), "w") as f:
            f.write(COUNTER_JS)
        subprocess.run(["node", os.path.join(XSNAP_DIR, "bundle.mjs"),
                        os.path.join(_bundle_dir, "counter.js"),
                        os.path.join(_bundle_dir, "counter.bundle.json")],
                       check=True, timeout=120)
    return os.path.join(_bundle_dir, "counter.bundle.json")


def tearDownModule():
    if _bundle_dir is not None:
        shutil.rmtree(_bundle_dir, ignore_errors=True)


def config(tmp, initial, interval, state="state"):
    return {
        "defaultManagerType": "xsnap",
        # transcript positions are counted here; reaping is test_reap's
        "defaultReapInterval": "never",
        "snapshotInitial": initial,
        "snapshotInterval": interval,
        "vats": {"counter": {"bundleSpec": counter_bundle()}},
        "daemon": {
            "stateDir": os.path.join(tmp, state),
            "socket": os.path.join(tmp, state + ".sock"),
            "logLevel": "info",
            "xsnapDir": XSNAP_DIR,
        },
    }


def transcript_keys(state_dir, vat="v2"):
    """The vat's transcript entry positions on disk (committed state)."""
    p = subprocess.run(["mdb_dump", "-p", "-s", "transcripts", state_dir],
                       capture_output=True, text=True, check=True)
    return sorted(int(m.group(1)) for m in re.finditer(
        r"^ %s\.(\d{16})$" % vat, p.stdout, re.M))


@unittest.skipUnless(os.path.exists(WORKER), "needs make xsnap")
class Snapshots(DaemonTest):

    def incr(self, d, n):
        """n incr deliveries, one run each; the last answer."""
        c = d.client()
        try:
            for _ in range(n):
                kpid = c.ok("queue", vat="counter", method="incr",
                            args=capdata([]))["kpid"]
                r = c.ok("run")
                self.assertTrue(r["idle"], r)
                self.assertIsNone(r["halted"], d.log())
            return decode(c.ok("promise", kpid=kpid)["data"])
        finally:
            c.close()

    def get(self, d):
        kpid = d.ok("queue", vat="counter", method="get",
                    args=capdata([]))["kpid"]
        r = d.ok("run")
        p = d.ok("promise", kpid=kpid)
        return r, p

    def snap_files(self, d):
        return sorted(os.path.basename(p) for p in glob.glob(
            os.path.join(d.config["daemon"]["stateDir"], "snapshots", "*")))

    def snap_files_settled(self, d, n):
        """The snapshot files once n remain: superseded ones are removed
        right after the commit is answered."""
        deadline = time.time() + 10
        while len(self.snap_files(d)) != n and time.time() < deadline:
            time.sleep(0.02)
        files = self.snap_files(d)
        self.assertEqual(len(files), n, files)
        return files

    def counter(self, d):
        return next(v for v in d.status()["vats"] if v["name"] == "counter")

    def named_daemon(self, name, cfg):
        """A daemon with its own config file and log (several per test)."""
        d = self.daemon(cfg, start=False)
        d.config_path = os.path.join(self.tmp, name + ".json")
        with open(d.config_path, "w") as f:
            json.dump(cfg, f)
        d.log_path = os.path.join(self.tmp, name + ".log")
        return d.start()

    def restart(self, d):
        self.assertEqual(d.stop(), 0, d.log())
        d.start()

    def test_restart_restores_from_the_latest_snapshot(self):
        d = self.daemon(config(self.tmp, 3, 4))
        self.assertTrue(d.ok("run")["idle"])          # startVat: delivery 1
        # incr: deliveries 2, 3, then the bringOutYourDead before each
        # snapshot (4, as SwingSet delivers one), 5..8, bringOutYourDead
        # 9, 10, 11
        self.assertEqual(self.incr(d, 8), 8)
        v = self.counter(d)
        self.assertEqual((v["deliveries"], v["snapshotPos"]), (11, 9), v)
        log = d.log()
        self.assertRegex(log, r"v2: heap snapshot [0-9a-f]{12} at delivery 4 ")
        self.assertRegex(log, r"v2: heap snapshot [0-9a-f]{12} at delivery 9 ")
        # restarted on its snapshot at once, as SwingSet does
        self.assertRegex(log, r"v2: restored from snapshot [0-9a-f]{12} at "
                              r"delivery 4, replayed 0 deliveries")
        self.assertEqual(len(self.snap_files(d)), 2)  # the block is open
        d.ok("commit", height=1)
        files = self.snap_files_settled(d, 1)        # the superseded one goes
        self.assertIn("v2: heap snapshot %s at delivery 9 " % files[0][:12],
                      d.log())
        self.assertEqual(transcript_keys(d.config["daemon"]["stateDir"]),
                         [9, 10])
        self.restart(d)
        r, p = self.get(d)
        self.assertEqual(decode(p["data"]), [8, 8], p)  # baggage and heap
        self.assertIn("v2: restored from snapshot %s at delivery 9, replayed 2 "
                      "deliveries" % files[0][:12], d.log())
        self.assertNotIn("deliveries from the start", d.log())
        self.assertEqual(self.counter(d)["snapshotPos"], 9)

    def test_without_snapshots_replays_from_the_start(self):
        d = self.daemon(config(self.tmp, 1000, 1000))
        d.ok("run")
        self.assertEqual(self.incr(d, 4), 4)
        d.ok("commit", height=1)
        self.assertEqual(self.snap_files(d), [])
        self.assertIsNone(self.counter(d)["snapshotPos"])
        self.restart(d)
        r, p = self.get(d)
        self.assertEqual(decode(p["data"]), [4, 4], p)
        self.assertIn("v2: replayed 5 deliveries from the start", d.log())

    def broken_snapshot(self, damage):
        """A committed snapshot at delivery 4 (after the bringOutYourDead
        before it; entries 0-3 pruned), damaged
        while the daemon is down; the restarted kernel's halt reason."""
        d = self.daemon(config(self.tmp, 3, 100))
        d.ok("run")
        self.incr(d, 3)
        d.ok("commit", height=1)
        [name] = self.snap_files(d)
        self.assertEqual(d.stop(), 0)
        damage(os.path.join(d.config["daemon"]["stateDir"], "snapshots",
                            name))
        d.start()
        r, p = self.get(d)
        self.assertEqual(r["stopped"], "halted", r)
        self.assertEqual(p["state"], "unresolved")
        halted = d.status()["halted"]
        self.assertIn("v2: cannot start its worker: heap snapshot %s at "
                      "delivery 4 is unusable" % name, halted)
        self.assertIn("transcript entries before that delivery were pruned",
                      halted)
        return d, name, halted

    def test_missing_snapshot_halts_with_the_reason(self):
        d, name, halted = self.broken_snapshot(os.unlink)
        self.assertIn("missing", halted)
        # already said at start, before anything needs the vat
        self.assertIn("v2: its heap snapshot %s/snapshots/%s is missing" % (
            d.config["daemon"]["stateDir"], name), d.log())

    def test_corrupt_snapshot_halts_with_the_reason(self):
        def flip(path):
            with open(path, "r+b") as f:
                f.seek(5000)
                b = f.read(1)
                f.seek(5000)
                f.write(bytes([b[0] ^ 1]))
        _, _, halted = self.broken_snapshot(flip)
        self.assertIn("its bytes hash to", halted)

    def test_restoring_from_snapshots_changes_nothing(self):
        """The same inputs, block by block, with snapshots every 2-3
        deliveries: with daemon restarts between blocks (so workers are
        restored from snapshots and replay their tails) and without: same
        activity hash, computrons and answers."""
        runs = {}
        for name in ("restarts", "straight"):
            d = self.named_daemon(name, config(self.tmp, 2, 3, state=name))
            out = [d.ok("run")["activityHash"]]
            for height in range(1, 5):
                self.incr(d, 3)
                r, p = self.get(d)
                c = d.ok("commit", height=height)
                out.append((c["activityHash"], c["computrons"],
                            decode(p["data"])))
                if name == "restarts":
                    self.restart(d)
            out.append([(v["vatID"], v["deliveries"], v["snapshotPos"])
                        for v in d.status()["vats"]])
            runs[name] = out
            if name == "restarts":
                self.assertRegex(d.log(), r"restored from snapshot .* "
                                          r"replayed [1-9]\d* deliveries")
        self.assertEqual(runs["restarts"], runs["straight"])

    def test_snapshot_settings_are_recorded(self):
        """snapshotInitial and snapshotInterval decide when workers are
        snapshotted and restarted, which shows in computrons: a restart
        with other values is refused."""
        d = self.named_daemon("a", config(self.tmp, 2, 3))
        d.ok("commit", height=1)
        self.assertEqual(d.stop(), 0, d.log())
        other = self.other_daemon(config(self.tmp, 2, 50), "b", 78)
        self.assertIn("kernel.snapshotInterval", other.log())

    def test_kill9_at_any_moment_leaves_a_startable_state(self):
        """kill -9 while a block holds new snapshots (their files written,
        the records not committed): the restart sweeps the files nothing
        names, restores from the committed snapshot, and the replayed
        block gives the reference run's hash."""
        ref = self.named_daemon("ref", config(self.tmp, 2, 2, state="ref"))
        ref.ok("run")
        self.incr(ref, 3)
        ref.ok("commit", height=1)
        self.incr(ref, 5)
        want = ref.ok("commit", height=2)["activityHash"]
        ref.stop()

        d = self.daemon(config(self.tmp, 2, 2))
        d.ok("run")
        self.incr(d, 3)
        d.ok("commit", height=1)
        committed = self.snap_files_settled(d, 1)
        self.incr(d, 5)                               # new snapshots, open block
        self.assertGreater(len(self.snap_files(d)), len(committed))
        d.kill9()
        d.start()
        self.assertEqual(self.snap_files(d), committed)
        self.assertRegex(d.log(), r"removed .*/snapshots/[0-9a-f]{64} "
                                  r"\(no record names it\)")
        self.assertEqual(self.incr(d, 5), 8)
        self.assertEqual(d.ok("commit", height=2)["activityHash"], want)


class TestworkerHasNoSnapshots(DaemonTest):

    def test_no_snapshot_for_testworker_vats(self):
        cfg = default_config(self.tmp)
        cfg["snapshotInitial"] = 1
        cfg["snapshotInterval"] = 1
        d = self.daemon(cfg)
        r = d.ok("run")
        self.assertIsNone(r["halted"], d.log())
        for v in d.status()["vats"]:
            self.assertGreater(v["deliveries"], 0, v)
            self.assertIsNone(v["snapshotPos"], v)
        self.assertEqual(os.listdir(os.path.join(self.tmp, "state",
                                                 "snapshots")), [])
        self.assertNotIn("heap snapshot", d.log())
        self.assertTrue(os.path.exists(TESTWORKER))


if __name__ == "__main__":
    main()
