"""test_creation_crash.py — dynamic vat creation survives kill -9 of the
daemon in the middle of a pseudo-crank.

A vat asks vatAdmin to create a vat; the kernel runs each creation as a
pseudo-crank (spawn the worker, ready handshake, startVat and its
syscalls, newVatCallback queued, one crank transaction).  The workers get
`-D SEED:MAXMS`, which delays every ready handshake by a fixed, seeded
time (90..155 ms for the children), so a pseudo-crank lasts long enough
for a kill to land inside it.  A child's startVat makes 1000 vatstore
writes, so that some kills land while its syscalls arrive.

The producer runs blocks (`run` with a seeded budget of a few cranks,
then `commit`).  In the crash run it kills the daemon (SIGKILL) at seeded
points: mostly while a chosen vat is being created (it polls `status`
until that vat is "creating", then watches the new worker in
/proc/PID/wchan and kills while the worker sleeps before its ready
handshake or, for about a third of these kills, just after it, while
startVat runs; the log must show the pseudo-crank begun and not
finished, and at least MIN_LANDED kills must land so), sometimes after a
block ran but before its commit (pseudo-cranks finished, the block not
committed), and after the last block's `queue`.  After each kill it
restarts the daemon, checks that nothing of the lost block is left (the
status, vats included, is the reference's as of that commit; the vat
whose creation was cut short is "queued" again, or gone if its request
was in the lost block too), re-queues what the block had queued and runs
it again.  In the end the activity hash, crank
number, vats and the committed testLog lines (createVat k0 … k7 in
order) are those of an uninterrupted reference run, and the children
answer.

Two scenarios: the bootstrap creates 8 children one after another (each
then gets add(i+1)), and all 8 at once (`parallel`, so several
pseudo-cranks share a block).  KILL_STATS=1 prints the kill points.
"""
import json
import os
import random
import re
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DaemonTest, Daemon, TESTWORKER, capdata, decode,  # noqa: E402
                     default_config, main, testworker_bundle)

SEED = 20261124
# -D SEED:MAXMS for the workers: with 89690:250 the ready delays drawn for
# v1..v10 are 21 12 97 114 129 136 111 92 134 154 ms: quick static vats
# (they are rebuilt after every restart), children that take a while.
READY_DELAY = "89690:250"
KIDS = 8
CREATION_KILLS = 13         # kill attempts inside a pseudo-crank
AFTER_RUN_KILLS = 2         # kills after a block with a creation ran
MIN_LANDED = 10
BUDGETS = (2, 3, 4)         # cranks per block, drawn per block
START_WRITES = 1000         # a child's startVat: 1000 vatstoreSet syscalls
                            # (about 10 ms; 30 ms with the sanitizers)
STARTVAT_KILLS = 0.35       # the share of creation kills aimed at startVat

CREATING = re.compile(r" kernel: (v\d+): creating \(pseudo-crank\)$", re.M)
CREATED = re.compile(r" kernel: (v\d+): created in crank", re.M)
COMMITTED = re.compile(r" ops: committed block (\d+) ", re.M)
STARTED = re.compile(r" main: store .* at height \d+", re.M)
TESTLOG = re.compile(r" vat: (v\d+) testLog: (\[.*\])$", re.M)
STAMP = re.compile(r"^(\S+)Z ")


def stamp_ms(line):
    t = STAMP.match(line).group(1)          # 2026-11-24T13:20:15.863
    hms = t.split("T")[1].split(":")
    return (int(hms[0]) * 3600 + int(hms[1]) * 60 + float(hms[2])) * 1000


def committed_test_logs(log):
    """The testLog lines of committed cranks: for each daemon incarnation,
    the lines before its last `committed block` (the rest belonged to a
    block that a kill threw away).  Replays do not log testLog."""
    starts = [m.start() for m in STARTED.finditer(log)] + [len(log)]
    out = []
    for a, b in zip(starts, starts[1:]):
        seg = log[a:b]
        ends = [m.end() for m in COMMITTED.finditer(seg)]
        if not ends:
            continue
        for m in TESTLOG.finditer(seg[:ends[-1]]):
            out.append((m.group(1), json.loads(m.group(2))[-1]))
    return out


def ready_delay(vid):
    """The ready delay (seconds) that `-D READY_DELAY` gives vid: the
    testworker's draw (workers/testworker/supervisor.c), splitmix64's
    finaliser of FNV-1a(vid) ^ mix(seed), mod MAXMS + 1."""
    mask = (1 << 64) - 1

    def mix(x):
        x = (x + 0x9e3779b97f4a7c15) & mask
        x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & mask
        x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & mask
        return x ^ (x >> 31)
    seed, maxms = (int(x) for x in READY_DELAY.split(":"))
    h = 0xcbf29ce484222325
    for ch in vid.encode():
        h = ((h ^ ch) * 0x100000001b3) & mask
    return mix(h ^ mix(seed)) % (maxms + 1) / 1000


def wchan(pid):
    """Where process pid waits in the kernel ("" if gone or unknown)."""
    try:
        with open("/proc/%d/wchan" % pid) as f:
            return f.read()
    except (OSError, TypeError):
        return ""


def snapshot(st):
    """What a restart must reproduce: state, not process facts.  A live
    vat is "ready" in the reference and "offline" after a restart."""
    vats = [(v["vatID"], v["name"], v["deliveries"],
             v["state"] if v["state"] in ("queued", "terminated") else "live")
            for v in st["vats"]]
    return {k: st[k] for k in ("height", "crankNumber", "activityHash",
                               "committedActivityHash", "runQueueLength",
                               "creationQueueLength", "halted")} | {"vats": vats}


class CreationCrash(DaemonTest):
    def new_daemon(self, sub, parallel):
        tmp = os.path.join(self.tmp, sub)
        os.makedirs(tmp)
        script = []
        for i in range(KIDS):
            script.append({"createVat": "@kid", "options": {"name": "k%d" % i},
                           "log": True})
            if not parallel:
                script.append({"send": "@child:k%d" % i, "method": "add",
                               "args": [i + 1], "log": True})
        cfg = default_config(tmp, {
            "bootstrap": testworker_bundle("bootstrap", script=script,
                                           parallel=parallel),
            "vatAdmin": testworker_bundle("vatAdmin")})
        cfg["bundles"] = {"kid": {"bundle": testworker_bundle(
            "counter", startWrites=START_WRITES)}}
        cfg["daemon"]["logLevel"] = "info"
        cfg["daemon"]["workers"] = {
            "testworker": [TESTWORKER, "-D", READY_DELAY]}
        d = Daemon(tmp, cfg)
        self.daemons.append(d)
        return self.start(d)

    def start(self, d):
        d.log_mark = len(d.log()) if os.path.exists(d.log_path) else 0
        return d.start()

    # -- the producer's blocks -------------------------------------------

    def final_queue(self, c):
        """The last block's input: every child adds 10 * (i + 1), through
        the bootstrap vat's run(script)."""
        script = [{"send": "@child:k%d" % i, "method": "add",
                   "args": [10 * (i + 1)], "log": True} for i in range(KIDS)]
        return c.ok("queue", vat="bootstrap", method="run",
                    args=capdata([script]))["kpid"]

    def block(self, d, h, spec, kill=None):
        """Run block h (spec: {"budget", "final"}); with kill, kill -9 the
        daemon at that point and return None, else the commit's activity
        hash and whether the run went idle."""
        c = d.client()
        try:
            if spec["final"]:
                self.kpid = self.final_queue(c)
                if kill and kill[0] == "after_queue":
                    return None
            budget = {"cranks": spec["budget"]} if spec["budget"] else {}
            if kill and kill[0] == "creating":
                self.kill_in_creation(d, c, budget, *kill[1:])
                return None
            r = c.ok("run", budget=budget)
            self.assertIsNone(r["halted"], d.log()[-3000:])
            if kill:
                self.assertEqual(kill[0], "after_run")
                return None
            cm = c.ok("commit", height=h)
            self.assertEqual(cm["activityHash"], r["activityHash"])
            return cm["activityHash"], r["idle"]
        finally:
            c.close()

    def kill_in_creation(self, d, c, budget, vid, aim, frac):
        """Start the run, wait until vid is being created, then kill: aim
        "boot": at frac of the first 90% of its worker's ready delay;
        aim "startVat": once that worker has answered the ready handshake,
        at frac of the first half of startVat (at most 5 ms).  The
        worker's place is read in /proc/PID/wchan.  Counts the kill in
        self.landed if the log shows vid's pseudo-crank begun and not
        finished."""
        c.send_raw(json.dumps({"id": "run", "op": "run", "budget": budget})
                   .encode() + b"\n")

        def answered():
            return b"\n" in c.buf or select.select([c.sock], [], [], 0)[0]

        def wait(cond, limit=5.0):
            deadline = time.time() + limit
            while not cond():
                if answered() or time.time() > deadline:
                    return False
                time.sleep(0.0005)
            return True

        poll = d.client()
        seen = None                 # the worker's pid once vid is creating
        try:
            while seen is None and not answered():
                for v in poll.ok("status")["vats"]:
                    if v["vatID"] == vid and v["state"] == "creating":
                        seen = v["pid"]
                time.sleep(0.001)
        finally:
            poll.close()
        delay = self.delays.get(vid, 0)
        if seen is None:
            pass
        elif wait(lambda: "nanosleep" in wchan(seen), 0.5 * delay):
            if aim == "boot":
                time.sleep(frac * 0.9 * delay)
            elif wait(lambda: "nanosleep" not in wchan(seen)):
                time.sleep(frac * 0.5 * min(self.start_vat, 0.010))
        else:           # no wchan to read: still within the ready delay
            time.sleep(frac * 0.4 * delay)
        # where the new vat's worker is, for the statistics: asleep before
        # its ready handshake, or (running or waiting on its pipe) in
        # startVat
        w = wchan(seen)
        phase = "?" if not w else "boot" if "nanosleep" in w else "startVat"
        d.kill9()
        seg = d.log()[d.log_mark:]
        starts = [m.start() for m in CREATING.finditer(seg)
                  if m.group(1) == vid]
        landed = seen is not None and starts and not any(
            m.group(1) == vid and m.start() > starts[-1]
            for m in CREATED.finditer(seg))
        self.kill_log.append((vid, aim, round(frac, 2), seen is not None,
                              bool(landed), phase))
        if landed:
            self.landed += 1
            self.last_landed = vid
            self.phases[phase] = self.phases.get(phase, 0) + 1

    # -- the two runs -----------------------------------------------------

    def reference(self, parallel):
        """The uninterrupted run: the blocks, the expected hash and status
        after each commit, the vats each block created and how long each
        creation took."""
        d = self.new_daemon("reference", parallel)
        rng = random.Random(SEED)
        blocks, expected = [], {0: snapshot(d.status())}
        h = 0
        while True:
            h += 1
            spec = {"budget": rng.choice(BUDGETS), "final": False}
            got, idle = self.block(d, h, spec)
            blocks.append(spec)
            expected[h] = snapshot(d.status())
            self.assertEqual(expected[h]["activityHash"], got)
            if idle:
                break
        h += 1
        spec = {"budget": None, "final": True}
        got, idle = self.block(d, h, spec)
        self.assertTrue(idle)
        blocks.append(spec)
        expected[h] = snapshot(d.status())
        result = d.ok("promise", kpid=self.kpid)
        log = d.log()
        # which block created which vat, and how long each took (ms)
        created_in, durations, t0 = {}, {}, {}
        height = 1
        for line in log.splitlines():
            m = COMMITTED.search(line)
            if m:
                height = int(m.group(1)) + 1
            m = CREATING.search(line)
            if m:
                t0[m.group(1)] = stamp_ms(line)
                created_in[m.group(1)] = height
            m = CREATED.search(line)
            if m:
                vid = m.group(1)
                durations[vid] = (stamp_ms(line) - t0[vid]) / 1000
        self.assertEqual(len(created_in), KIDS, log[-3000:])
        # each creation waited for its worker's ready delay
        for vid, t in durations.items():
            self.assertGreaterEqual(t + 0.002, ready_delay(vid), durations)
        logs = d.test_logs()
        self.assertEqual(committed_test_logs(log), logs)
        cs = d.status()["daemon"]["creation"]
        self.assertEqual(cs["created"], KIDS)
        self.start_vat = cs["startVatUs"] / KIDS / 1e6      # seconds, mean
        d.stop()
        return blocks, expected, result, created_in, durations, logs

    def check(self, parallel):
        t_start = time.time()
        blocks, expected, result, created_in, durations, ref_logs = \
            self.reference(parallel)
        self.delays = {v: ready_delay(v) for v in created_in}
        t_ref = time.time() - t_start
        nblocks = len(blocks)
        self.assertEqual(blocks[-1]["final"], True)

        # the kill plan: block -> kill attempts, in order
        rng = random.Random(SEED + 1)
        kids = sorted(created_in, key=lambda v: int(v[1:]))
        plan = {}
        for _ in range(CREATION_KILLS):
            vid = rng.choice(kids)
            aim = "startVat" if rng.random() < STARTVAT_KILLS else "boot"
            plan.setdefault(created_in[vid], []).append(
                ("creating", vid, aim, rng.random()))
        for _ in range(AFTER_RUN_KILLS):
            plan.setdefault(created_in[rng.choice(kids)], []).append(
                ("after_run",))
        plan.setdefault(nblocks, []).extend([("after_queue",), ("after_run",)])
        for attempts in plan.values():
            rng.shuffle(attempts)
        kills = sum(len(a) for a in plan.values())

        self.landed, self.kill_log, self.phases = 0, [], {}
        d = self.new_daemon("crashed", parallel)
        self.assertEqual(snapshot(d.status()), expected[0])
        height, restarts = 0, 0
        while height < nblocks:
            h = height + 1
            kill = plan[h].pop(0) if plan.get(h) else None
            self.last_landed = None
            got = self.block(d, h, blocks[h - 1], kill)
            if kill is None:
                self.assertEqual(got[0], expected[h]["activityHash"],
                                 "block %d" % h)
                self.assertEqual(snapshot(d.status()), expected[h],
                                 "block %d" % h)
                height = h
                continue
            if d.alive():
                d.kill9()
            restarts += 1
            self.start(d)
            # nothing of the lost block is left, the killed pseudo-crank
            # included: the vats, crank number and hashes of the commit
            st = d.status()
            self.assertEqual(snapshot(st), expected[h - 1], (h, kill))
            self.assertEqual(st["blockOpen"], h == 1, st)
            for v in st["vats"]:
                self.assertNotIn(v["state"], ("creating", "ready"), v)
                # the vat whose creation was cut short is back in the
                # creation queue, or not there at all if its request
                # came in the lost block
                if v["vatID"] == self.last_landed:
                    self.assertEqual(v["state"], "queued", v)
        self.assertEqual(restarts, kills)

        st = d.status()
        final = expected[nblocks]
        self.assertEqual(snapshot(st), final)
        self.assertEqual(st["height"], nblocks)
        self.assertEqual(st["creationQueueLength"], 0)
        r = d.ok("run")
        self.assertEqual((r["cranks"], r["idle"]), (0, True), r)
        # the children work: every one answered the last block's add
        self.assertEqual(d.ok("promise", kpid=self.kpid), result)
        sums = [(i + 1) * (11 if not parallel else 10) for i in range(KIDS)]
        self.assertEqual(decode(result["data"]), sums)
        # the committed testLog lines, in order, are the reference's
        ref_create = [t for _, t in ref_logs if t.startswith("createVat ")]
        self.assertEqual(ref_create, [
            'createVat k%d -> {"adminNode":"$0.Alleged: adminNode",'
            '"root":"$1.Alleged: undefined"}' % i for i in range(KIDS)])
        self.assertEqual(committed_test_logs(d.log()), ref_logs)
        for name in ["k%d" % i for i in range(KIDS)]:
            v = d.vat(name)
            self.assertEqual(v["state"], "ready", v)
        self.assertIsNone(st["halted"])

        if os.environ.get("KILL_STATS"):
            print("\n%s: reference %.1fs, crash run %.1fs, %d blocks, %d kills, "
                  "%d landed in a creation" % (
                      "parallel" if parallel else "sequential", t_ref,
                      time.time() - t_start - t_ref, nblocks, kills,
                      self.landed), file=sys.stderr)
            print("landed, by where the new worker was:", self.phases,
                  "; mean startVat %.1f ms" % (self.start_vat * 1000),
                  file=sys.stderr)
            print("creation kills (vat, aim, frac, seen creating, landed, "
                  "phase):", file=sys.stderr)
            for k in self.kill_log:
                print("   ", k, file=sys.stderr)
        self.assertGreaterEqual(self.landed, MIN_LANDED, self.kill_log)

    def test_kill_during_sequential_creations(self):
        self.check(parallel=False)

    def test_kill_during_parallel_creations(self):
        self.check(parallel=True)


if __name__ == "__main__":
    main()
