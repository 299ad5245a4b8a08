"""test_cleanup.py — slow termination (kernel-semantics.md §10.3; README
"Terminated vats") on the real daemon and the test worker.

A vat with 2,000 vatstore keys and 301 exports (its root and 300 objects
whose kernel objects the host's result still holds) is terminated by the
host.  Its promises are rejected and its objects unreachable through it
at once; its state then goes in cleanup cranks: with a budget of 100 a
run does one cleanup crank and deletes at most 100 of each kind, so the
vat takes many blocks, each bounded, and status says how much is left.
At the end no vN.* key and no transcript entry of it remains, the
objects it exported are ownerless (messages to them are rejected), and
the vat is gone from status.  With cleanup false a run does none; with
no budget one run does it all.  Seeded worker delays change no hash; a
daemon killed with SIGKILL in the middle of a cleanup replays to the
same hash.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (TESTWORKER, Daemon, DaemonTest,  # noqa: E402
                     default_config, kv_table, main, testworker_bundle)

harness.RUN_CLEANUP = None      # runs clean up, as the daemon's default

# make check-long: 100,000 keys and 1,000 objects (tests/run-campaigns.sh)
OBJECTS = int(os.environ.get("CLEANUP_OBJECTS", "300"))
KEYS = int(os.environ.get("CLEANUP_KEYS", "2000"))
BUDGET = int(os.environ.get("CLEANUP_BUDGET", "100"))
VICTIM = "v3"           # bootstrap, then the others by name: alice, victim


class Cleanup(DaemonTest):

    def config(self, sub, seed=None):
        tmp = os.path.join(self.tmp, sub)
        os.makedirs(tmp)
        cfg = default_config(tmp, {
            "bootstrap": testworker_bundle("bootstrap"),
            "alice": testworker_bundle("echo"),
            "victim": testworker_bundle("holder", startWrites=KEYS)})
        if seed is not None:
            cfg["daemon"]["workers"] = {
                "testworker": [TESTWORKER, "-D", "%d:60" % seed]}
        return tmp, cfg

    def boot(self, sub, seed=None):
        """First block: the victim made its objects and was terminated
        (commit at height 1); (daemon, the objects' krefs)."""
        tmp, cfg = self.config(sub, seed)
        d = Daemon(tmp, cfg)
        self.daemons.append(d)
        d.start()
        d.ok("run")
        kp = d.ok("queue", vat="victim", method="makeObjects",
                  args={"body": "#[%d]" % OBJECTS, "slots": []})["kpid"]
        d.ok("run", cleanup=False)
        objs = d.ok("promise", kpid=kp)["data"]["slots"]
        self.assertEqual(len(objs), OBJECTS)
        d.ok("terminateVat", vat="victim",
             reason={"body": '#"gone"', "slots": []})
        r = d.ok("run", cleanup=False)
        self.assertTrue(r["idle"], r)
        d.ok("commit", height=1)
        return d, objs

    def victim(self, d):
        # by ID: a terminated static vat loses its name (and, once its
        # options are deleted, a restarted daemon no longer knows it)
        return next((v for v in d.status()["vats"]
                     if v["vatID"] == VICTIM), None)

    def clean_blocks(self, d, height, budget=BUDGET):
        """Runs with a cleanup budget, one block each, until the victim
        is gone; [(run result, cleanup line)] per block."""
        out = []
        while self.victim(d) is not None:
            r = d.ok("run", cleanup={"default": budget})
            self.assertTrue(r["idle"], r)
            height += 1
            d.ok("commit", height=height)
            out.append(r)
            self.assertLess(len(out), 20 + 3 * (KEYS + OBJECTS) // budget,
                            "cleanup never ends")
        return out, height

    def test_budgeted_cleanup_over_many_blocks(self):
        d, objs = self.boot("budget")
        v = self.victim(d)
        self.assertEqual((v["state"], v["name"]), ("terminated", "victim"))
        # its name went at the termination, as SwingSet's deleteVatID
        names = kv_table(d.config["daemon"]["stateDir"], r"^vat\.name")
        self.assertNotIn("vat.name.victim", names)
        self.assertNotIn("victim", names["vat.names"])
        left = v["cleanup"]
        self.assertEqual(left["exports"], OBJECTS + 1, left)
        self.assertGreaterEqual(left["kv"], min(KEYS, 10000), left)
        self.assertGreater(left["transcripts"], 0, left)
        vid = v["vatID"]
        blocks, height = self.clean_blocks(d, 1)
        # 301 exports, 100 a crank; then 2,000+ keys, 100 a crank
        self.assertGreaterEqual(len(blocks), (OBJECTS + 1) // BUDGET +
                                KEYS // BUDGET, len(blocks))
        lines = re.findall(r"%s: cleanup: (\d+) exports, (\d+) imports, "
                           r"(\d+) promises, (\d+) keys, (\d+) transcript "
                           r"entries; (done|more)" % vid, d.log())
        self.assertEqual(len(lines), len(blocks), lines)
        for line in lines:
            self.assertTrue(all(int(n) <= BUDGET for n in line[:5]), line)
        self.assertEqual(lines[-1][5], "done")
        self.assertTrue(all(line[5] == "more" for line in lines[:-1]))
        self.assertEqual(sum(int(line[0]) for line in lines), OBJECTS + 1)
        # messages to what it exported are rejected: no owner any more
        kp = d.ok("queue", target=objs[0], method="hello")["kpid"]
        d.ok("run")
        self.assertEqual(d.ok("promise", kpid=kp)["state"], "rejected")
        d.ok("commit", height=height + 1)
        d.stop()
        state = d.config["daemon"]["stateDir"]
        kv = kv_table(state)
        self.assertEqual([k for k in kv if k.startswith(vid + ".")], [])
        self.assertNotIn(vid, kv["vats.terminated"])
        self.assertNotIn("vat.name.victim", kv)
        self.assertNotIn("victim", kv["vat.names"])
        for kref in objs:
            self.assertNotIn(kref + ".owner", kv)
        self.assertEqual(kv_table(state, r"^%s\." % vid, "transcripts"), {})
        d.start()                       # restarts without the vat
        self.assertIsNone(self.victim(d))

    def test_cleanup_false_does_none_and_default_does_all(self):
        d, _ = self.boot("none")
        left = self.victim(d)["cleanup"]
        r = d.ok("run", cleanup=False)
        self.assertEqual((r["cranks"], r["idle"]), (0, True), r)
        self.assertEqual(self.victim(d)["cleanup"], left)
        r = d.ok("run")                 # SwingSet's default: all of it
        self.assertEqual(r["cranks"], 1, r)
        self.assertIsNone(self.victim(d))

    def test_a_long_named_static_vat_is_forgotten_and_restarts(self):
        # a name has no length limit: its keys are made to size
        tmp = os.path.join(self.tmp, "long")
        os.makedirs(tmp)
        name = "x" * 150
        cfg = default_config(tmp, {
            "bootstrap": testworker_bundle("bootstrap"),
            name: testworker_bundle("echo")})
        d = Daemon(tmp, cfg)
        self.daemons.append(d)
        d.start()
        d.ok("run")
        d.ok("terminateVat", vat=name, reason={"body": '#"gone"',
                                               "slots": []})
        d.ok("run")
        d.ok("commit", height=1)
        self.assertNotIn(name, [v["name"] for v in d.status()["vats"]])
        d.stop()
        kv = kv_table(cfg["daemon"]["stateDir"], r"^vat\.name")
        self.assertEqual(sorted(kv), ["vat.name.bootstrap", "vat.names"])
        d.start()                       # the configuration is accepted
        self.assertEqual(d.status()["height"], 1)

    def shape(self, d):
        st = d.status()
        return (st["activityHash"], st["crankNumber"], st["height"])

    def test_worker_delays_do_not_change_cleanup(self):
        runs = []
        for seed in (1, 2, 3):
            d, _ = self.boot("seed%d" % seed, seed)
            self.clean_blocks(d, 1, budget=500)
            runs.append(self.shape(d))
            d.stop()
        self.assertTrue(all(r == runs[0] for r in runs), runs)

    def test_kill9_in_the_middle_of_a_cleanup(self):
        whole, _ = self.boot("whole")
        self.clean_blocks(whole, 1, budget=500)
        want = self.shape(whole)
        whole.stop()
        d, _ = self.boot("killed")
        d.ok("run", cleanup={"default": 500})
        d.ok("commit", height=2)
        d.ok("run", cleanup={"default": 500})   # uncommitted
        d.kill9()
        d.start()
        self.assertEqual(d.status()["height"], 2)
        self.clean_blocks(d, 2, budget=500)
        self.assertEqual(self.shape(d), want)


if __name__ == "__main__":
    main()
