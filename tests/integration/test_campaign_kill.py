"""test_campaign_kill.py — the kill -9 campaign (issue 11, "Reliability"):
SIGKILL the daemon at random moments across everything that writes —
runs, commits, dynamic vat creations, heap snapshot writes, bundle
installs, and the daemon's own start — and check, after each restart and
after the producer re-sends the lost block, that every committed block has
the activity hash of an uninterrupted run and that no committed height is
ever lost.

The producer's script, block by block (BLOCKS of them):

- block 1 first installs (`installBundle`) its testworker bundle and
  Agoric's counter vat as an endoZipBase64 bundle;
- `queue` bootstrap.run(script): create a testworker vat from the
  block's bundle (a counter, padded to PAD bytes so that an install
  takes a while) through the vat-admin vat and the vatAdmin device, and
  call it; every third block also create an xsnap vat from the endo
  bundle; incr() on the static xsnap counter and on every xsnap child;
  echo on alice; and two more incr() to the static counter queued
  directly.  snapshotInitial 2 and snapshotInterval 3 make the xsnap vats
  write a heap snapshot in most blocks;
- `run` to idle;
- in blocks 3 and 6, `terminateVat` a child (its own testworker child;
  the xsnap child of block 4, which later scripts still call);
- inside the open block, install the next block's bundle, and the endo
  bundle again (already there: the same ID, nothing done);
- `commit`.

An install is a crank of the open block (issue 11 defect 3): a kill
before the commit loses it with the block, and the re-sent block
installs it again.

A reference run without kills records every block's commit hash, its
status (crank number, vats, deliveries, snapshot positions) and the
answer of its run(script).  Then the crash run: for each planned kill
(seeded: CAMPAIGN_SEED), at a random moment of its phase —

  run       a random delay into the block's `run` (up to 1.1 times the
            reference run's duration)
  creation  once `status` shows a vat "creating", up to 4 ms more
  snapshot  once `status` shows a vat "snapshotting", up to 50 ms more
  commit    a random delay after sending `commit` (up to 0.9 times the
            reference commit's duration)
  install   a random delay after sending one of the block's
            `installBundle`s (up to 0.9 times the reference's duration)
  committed just after `commit` answered
  startup   between blocks, then again while it starts (up to 0.9 times
            the median time a restart takes to serve)

— the daemon is killed with SIGKILL and started again; its committed
height must be the last one answered (or the next one, for a kill during
`commit`), with the reference's hash; the producer then re-sends every
block after it (re-installing its bundles).  A kill "lands" when the
operation it aims at had not answered yet; most must.  In the end the
status and every block's answer are the reference's, and no worker is
left behind.

CAMPAIGN_KILLS sets the number of kill points (default 20, `make check`;
`make check-long` runs 100).  The output has `kill points: N` and the
seed.
"""
import hashlib
import json
import os
import random
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, Daemon, DaemonTest, TESTWORKER, capdata,  # noqa
                     default_config, main, testworker_bundle)
from test_snapshots import XSNAP_DIR, WORKER, counter_bundle  # noqa: E402
import unittest  # noqa: E402

KILLS = int(os.environ.get("CAMPAIGN_KILLS", "20"))
SEED = int(os.environ.get("CAMPAIGN_SEED", "20261203"))
BLOCKS = int(os.environ.get("CAMPAIGN_BLOCKS", "8"))
PAD = 1 << 20
PHASES = (("run", 30), ("creation", 15), ("snapshot", 20), ("commit", 12),
          ("install", 13), ("committed", 5), ("startup", 5))
MIN_LANDED = 0.6        # share of kills that must land inside their phase
TIMEOUT = 120           # seconds: any single wait


def block_bundle(h):
    """Block h's testworker bundle (padded so an install takes time)."""
    return {"moduleFormat": "testworker", "vat": "counter",
            "options": {"startWrites": 20, "block": h, "pad": "x" * PAD}}


def b0_id(bundle):
    text = json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    return "b0-" + hashlib.sha256(text.encode()).hexdigest()


def status_facts(st):
    """What a re-sent history must reproduce: state, not process facts."""
    vats = [(v["vatID"], v["name"], v["deliveries"], v["snapshotPos"],
             v["state"] == "terminated") for v in st["vats"]]
    return {k: st[k] for k in ("height", "crankNumber", "activityHash",
                               "committedActivityHash", "runQueueLength",
                               "creationQueueLength", "halted")} | {
        "vats": vats}


class Plan:
    """The producer's input, block by block."""

    def __init__(self, endo):
        self.endo = endo
        self.endo_id = None             # learnt from the first install
        self.blocks = {}
        xkids = []
        for h in range(1, BLOCKS + 1):
            tw = block_bundle(h)
            script = [{"createVat": b0_id(tw), "options": {"name": "g%d" % h},
                       "log": True},
                      {"send": "@child:g%d" % h, "method": "add",
                       "args": [h], "log": True}]
            if h % 3 == 1:
                xkids.append("x%d" % h)
                script.append({"createVat": "@endo", "options": {
                    "name": "x%d" % h, "managerType": "xsnap"},
                    "log": True})
            script += [{"send": "@child:" + x, "method": "incr", "log": True}
                       for x in xkids]
            script += [{"send": "counter", "method": "incr", "log": True},
                       {"send": "alice", "method": "echo", "args": [h],
                        "log": True}]
            self.blocks[h] = {
                "before": [tw, endo] if h == 1 else [],
                "after": ([block_bundle(h + 1)] if h < BLOCKS else []) +
                [endo],
                "script": script}

    def script(self, h):
        """Block h's script with the endo bundle's ID filled in."""
        out = []
        for step in self.blocks[h]["script"]:
            step = dict(step)
            if step.get("createVat") == "@endo":
                step["createVat"] = self.endo_id
            out.append(step)
        return out


class Killed(Exception):
    pass


@unittest.skipUnless(os.path.exists(WORKER), "needs make xsnap")
class KillCampaign(DaemonTest):

    def new_daemon(self, sub):
        tmp = os.path.join(self.tmp, sub)
        os.makedirs(tmp)
        cfg = {
            "bootstrap": "bootstrap",
            "defaultManagerType": "testworker",
            "snapshotInitial": 2,
            "snapshotInterval": 3,
            "vats": {
                "bootstrap": {"bundle": testworker_bundle("bootstrap")},
                "vatAdmin": {"bundle": testworker_bundle("vatAdmin")},
                "alice": {"bundle": testworker_bundle("echo")},
                "counter": {"bundleSpec": counter_bundle(),
                            "creationOptions": {"managerType": "xsnap"}},
            },
            "daemon": {
                "stateDir": os.path.join(tmp, "state"),
                "socket": os.path.join(tmp, "control.sock"),
                "logLevel": "info",
                "mapSize": 16 << 20,
                "xsnapDir": XSNAP_DIR,
                "workers": {"testworker": [TESTWORKER]},
            },
        }
        d = Daemon(tmp, cfg)
        self.daemons.append(d)
        d.start()
        return d

    def client(self, d):
        c = Client(d.socket, timeout=TIMEOUT)
        self.addCleanup(c.close)
        return c

    # -- one block ---------------------------------------------------------

    def installs(self, d, c, h, which, aim, frac):
        """Block h's installs before or after its run; the kill, if it
        aims at one of them (aim: its index in the block), during it."""
        blk = self.plan.blocks[h]
        first = 0 if which == "before" else len(blk["before"])
        for i, b in enumerate(blk[which], first):
            if aim == i:
                self.kill_during(d, c, {"op": "installBundle", "bundle": b},
                                 frac * 0.9 * self.t_install[h, i])
            t0 = time.time()
            bid = c.ok("installBundle", bundle=b)["bundleID"]
            self.t_install.setdefault((h, i), time.time() - t0)
            if b is self.plan.endo:
                self.plan.endo_id = bid
            else:
                self.assertEqual(bid, b0_id(b))

    def terminations(self, d, c, h):
        """The host terminates vats inside the open block (terminateVat, a
        crank of it): block 3 its own testworker child, block 6 the xsnap
        child of block 4, which later blocks' scripts still call."""
        for name in {3: ["g3"], 6: ["x4"]}.get(h, []):
            vid = [v["vatID"] for v in d.status()["vats"]
                   if v["name"] == name][0]
            c.ok("terminateVat", vatID=vid,
                 reason=capdata({"#error": "campaign", "name": "Error"}))

    def block(self, d, h, kill=None):
        """Send block h; its commit answer and run(script) answer.  With
        kill = (phase, frac), kill -9 the daemon at that moment of the
        block instead and raise Killed."""
        phase, frac = kill if kill else (None, 0.0)
        c = self.client(d)
        try:
            blk = self.plan.blocks[h]
            # an install kill aims at one of the installs, chosen by frac
            aim = int(frac * 1000) % (len(blk["before"]) + len(
                blk["after"])) if phase == "install" else None
            self.installs(d, c, h, "before", aim, frac)
            kpid = c.ok("queue", vat="bootstrap", method="run",
                        args=capdata([self.plan.script(h)]))["kpid"]
            for _ in range(2):
                c.ok("queue", vat="counter", method="incr", args=capdata([]))
            if phase == "run":
                self.kill_during(d, c, {"op": "run"},
                                 frac * 1.1 * self.t_run[h])
            if phase in ("creation", "snapshot"):
                self.kill_in_state(d, c, "creating" if phase == "creation"
                                   else "snapshotting",
                                   frac * (0.004 if phase == "creation"
                                           else 0.05))
            t0 = time.time()
            r = c.ok("run")
            self.t_run.setdefault(h, time.time() - t0)
            self.assertTrue(r["idle"], r)
            self.assertIsNone(r["halted"], d.log()[-3000:])
            self.terminations(d, c, h)
            self.installs(d, c, h, "after", aim, frac)
            if phase == "commit":
                self.kill_during(d, c, {"op": "commit", "height": h},
                                 frac * 0.9 * self.t_commit[h])
            t0 = time.time()
            cm = c.ok("commit", height=h)
            self.t_commit.setdefault(h, time.time() - t0)
            self.acked = h
            p = c.ok("promise", kpid=kpid)
            self.assertEqual(p["state"], "fulfilled", p)
            if phase == "committed":
                self.kill(d, landed=True)
            return cm, p
        finally:
            c.close()

    def answered(self, c):
        return b"\n" in c.buf or bool(select.select([c.sock], [], [], 0)[0])

    def kill_during(self, d, c, req, delay):
        """Send req, wait delay (or until it is answered), kill."""
        c.send_raw(json.dumps(req).encode() + b"\n")
        deadline = time.time() + delay
        while time.time() < deadline and not self.answered(c):
            time.sleep(min(0.0005, max(0, deadline - time.time())))
        self.kill(d, landed=not self.answered(c))

    def kill_in_state(self, d, c, state, delay):
        """Start the run; once status shows a vat in state, wait delay
        more and kill (whether or not the run has ended by then)."""
        c.send_raw(b'{"op":"run"}\n')
        poll = self.client(d)
        seen = False
        deadline = time.time() + TIMEOUT
        try:
            while not seen and not self.answered(c) and \
                    time.time() < deadline:
                seen = any(v["state"] == state
                           for v in poll.ok("status")["vats"])
                if not seen:
                    time.sleep(0.0005)
        finally:
            poll.close()
        if seen:
            time.sleep(delay)
        self.kill(d, landed=seen and not self.answered(c))

    def kill(self, d, landed):
        self.pids |= self.children(d)
        d.kill9()
        self.count_kill(landed)
        raise Killed()

    def count_kill(self, landed):
        self.kills += 1
        self.landed[self.phase] = self.landed.get(self.phase, 0) + landed
        self.kill_log.append((self.block_no, self.phase, landed))

    def children(self, d):
        """The daemon's child processes (its workers), from /proc."""
        try:
            with open("/proc/%d/task/%d/children" % (d.proc.pid,
                                                      d.proc.pid)) as f:
                return {int(p) for p in f.read().split()}
        except OSError:
            return set()

    # -- the two runs --------------------------------------------------------

    def reference(self):
        d = self.new_daemon("reference")

        expected = {0: status_facts(d.status())}
        answers = {}
        for h in range(1, BLOCKS + 1):
            cm, p = self.block(d, h)
            answers[h] = p
            expected[h] = status_facts(d.status())
            self.assertEqual(expected[h]["committedActivityHash"],
                             cm["activityHash"])
        log = d.log()
        self.pids |= self.children(d)
        self.assertEqual(d.stop(), 0, log[-3000:])
        # the run wrote what the campaign means to interrupt
        snaps = log.count(": heap snapshot ")
        created = log.count(": created in crank ")
        self.assertGreaterEqual(snaps, BLOCKS, "snapshots in the reference")
        self.assertEqual(created, BLOCKS + (BLOCKS + 2) // 3)
        return expected, answers, snaps, created

    def restart(self, d):
        """Start d again; record how long it took to serve."""
        t0 = time.time()
        d.start(wait=False)
        while True:
            try:
                Client(d.socket, timeout=1).close()
                break
            except OSError:
                if d.proc.poll() is not None or time.time() > t0 + TIMEOUT:
                    raise AssertionError("swingsetd did not start:\n" +
                                         d.log()[-3000:])
                time.sleep(0.0005)
        self.t_serve.append(time.time() - t0)
        d.wait_ready()

    def serve_time(self):
        """The median time a restart took to serve."""
        ts = sorted(self.t_serve)
        return ts[len(ts) // 2] if ts else 0.05

    def plan_kills(self, rng):
        """KILLS [block, rank, i, phase, frac], in the order they are
        tried: by block, and in a block the kills in or after `commit`
        last (rank), since one that lets the commit land ends the block.
        Kills in or after `commit` are planned before the last block."""
        phases = [p for p, w in PHASES for _ in range(w)]
        rank = {"commit": 1, "committed": 2}
        kills = []
        for i in range(KILLS):
            phase = rng.choice(phases)
            last = BLOCKS - (phase in rank)
            kills.append([rng.randint(1, last), rank.get(phase, 0), i, phase,
                          rng.random()])
        return sorted(kills)

    def next_kill(self, pending, h):
        """The kill to try in block h, if any.  What a commit that landed
        left of an earlier block moves to this one."""
        for k in pending:
            k[0] = max(k[0], h)
        pending.sort()
        if pending and pending[0][0] == h:
            return tuple(pending.pop(0)[3:])
        return None

    def test_kill_campaign(self):
        t_start = time.time()
        self.pids, self.kills, self.landed, self.kill_log = set(), 0, {}, []
        self.t_run, self.t_install, self.t_commit = {}, {}, {}
        self.t_serve = []
        with open(counter_bundle()) as f:
            self.plan = Plan(json.load(f))
        self.phase = None
        expected, answers, snaps, created = self.reference()
        t_ref = time.time() - t_start

        rng = random.Random(SEED)
        pending = self.plan_kills(rng)
        d = self.new_daemon("crashed")
        self.acked = 0
        height = 0
        while height < BLOCKS:
            h = height + 1
            kill = self.next_kill(pending, h)
            self.phase = kill[0] if kill else None
            self.block_no = h
            try:
                if kill and kill[0] == "startup":
                    raise Killed()      # below: killed while starting
                cm, p = self.block(d, h, kill)
                self.assertEqual(cm["activityHash"],
                                 expected[h]["committedActivityHash"],
                                 "block %d" % h)
                self.assertEqual(status_facts(d.status()), expected[h],
                                 "block %d" % h)
                self.assertEqual(p, answers[h], "block %d" % h)
                height = h
                continue
            except Killed:
                pass
            if kill[0] == "startup":
                # killed between blocks, then once more while it starts
                self.pids |= self.children(d)
                d.kill9()
                d.start(wait=False)
                time.sleep(kill[1] * 0.9 * self.serve_time())
                landed = True
                try:
                    Client(d.socket, timeout=0.05).close()
                    landed = False      # it was serving already
                except OSError:
                    pass
                d.kill9()
                self.count_kill(landed)
            self.restart(d)
            st = d.status()
            # no committed height lost; a kill inside `commit` may have
            # let it land
            self.assertGreaterEqual(st["height"], self.acked, (kill, st))
            self.assertLessEqual(st["height"], self.acked +
                                 (kill[0] == "commit"), (kill, st))
            self.assertIsNone(st["halted"], d.log()[-3000:])
            self.assertEqual(st["committedActivityHash"],
                             expected[st["height"]]["committedActivityHash"],
                             (h, kill))
            self.acked = height = st["height"]
            self.assertEqual(status_facts(st), expected[height], (h, kill))
        # what a commit that landed left over: kills of the idle daemon
        # after the last block
        while pending:
            pending.pop(0)
            self.phase = "idle"
            self.pids |= self.children(d)
            d.kill9()
            self.count_kill(True)
            self.restart(d)
            self.assertEqual(status_facts(d.status()), expected[BLOCKS])
        self.assertEqual(self.kills, KILLS)
        st = d.status()
        self.assertEqual(status_facts(st), expected[BLOCKS])
        log = d.log()
        self.pids |= self.children(d)
        self.assertEqual(d.stop(), 0, log[-3000:])
        self.assert_gone(self.pids)
        self.assertIn("restored from snapshot", log)
        swept = log.count("(no record names it)")
        landed = sum(self.landed.values())
        elapsed = time.time() - t_start
        print("\nkill points: %d (seed %d, %d blocks; reference %.1f s with "
              "%d snapshots and %d creations, crash run %.1f s)" % (
                  self.kills, SEED, BLOCKS, t_ref, snaps, created,
                  elapsed - t_ref), file=sys.stderr)
        done = {}
        for _, p, _ in self.kill_log:
            done[p] = done.get(p, 0) + 1
        print("kills by phase (landed/done): " + ", ".join(
            "%s %d/%d" % (p, self.landed.get(p, 0), n)
            for p, n in sorted(done.items())) +
            "; snapshot files of lost blocks swept at restarts: %d" % swept,
            file=sys.stderr)
        if os.environ.get("KILL_STATS"):
            for k in self.kill_log:
                print("    block %d %s %s" % (k[0], k[1], "landed" if k[2]
                                               else "missed"),
                      file=sys.stderr)
        self.assertGreaterEqual(landed, MIN_LANDED * self.kills,
                                (self.landed, done))

    def assert_gone(self, pids):
        deadline = time.time() + 20
        alive = set(pids)
        while alive and time.time() < deadline:
            for pid in list(alive):
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        if f.read().split(") ", 1)[1][:1] == "Z":
                            alive.discard(pid)
                except OSError:
                    alive.discard(pid)
            time.sleep(0.05)
        self.assertEqual(alive, set(), "workers left behind")


class BundleInLostBlock(DaemonTest):
    """A bundle installed inside a block that a crash drops goes with
    the block (issue 11 defect 3), also for vat creation: block 2 asks
    for a vat from bundle B, not installed yet (the creation fails), then
    installs B; the daemon is killed before the commit and the producer
    re-sends block 2 as it was.  When the install was written beside the
    block, B outlived the crash, the replayed creation succeeded and
    block 2 got another hash ({adminNode, root} instead of "Vat Creation
    Error: ... is not installed")."""

    def test_bundle_installed_in_a_lost_block(self):
        bundle = {"moduleFormat": "testworker", "vat": "counter",
                  "options": {"lost": True}}
        script = [{"createVat": b0_id(bundle), "options": {"name": "k"},
                   "log": True}]
        hashes = []
        for sub, crash in (("reference", False), ("crashed", True)):
            tmp = os.path.join(self.tmp, sub)
            os.makedirs(tmp)
            cfg = default_config(tmp, {
                "bootstrap": testworker_bundle("bootstrap"),
                "vatAdmin": testworker_bundle("vatAdmin")})
            cfg["daemon"]["logLevel"] = "info"
            d = Daemon(tmp, cfg)
            self.daemons.append(d)
            d.start()
            self.assertTrue(d.ok("run")["idle"])
            d.ok("commit", height=1)

            def block2():
                kpid = d.ok("queue", vat="bootstrap", method="run",
                            args=capdata([script]))["kpid"]
                self.assertTrue(d.ok("run")["idle"])
                self.assertEqual(d.ok("installBundle", bundle=bundle)[
                    "bundleID"], b0_id(bundle))
                return kpid
            kpid = block2()
            if crash:
                d.kill9()
                d.start()
                self.assertEqual(d.status()["height"], 1)
                kpid = block2()
            p = d.ok("promise", kpid=kpid)
            hashes.append((d.ok("commit", height=2)["activityHash"],
                           p["data"]["body"]))
            self.assertEqual(d.stop(), 0)
        self.assertIn("is not installed", hashes[0][1])
        self.assertEqual(hashes[1], hashes[0])


def tearDownModule():
    import test_snapshots
    test_snapshots.tearDownModule()     # the counter bundle's folder


if __name__ == "__main__":
    main()
