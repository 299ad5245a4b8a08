"""test_reap.py — bringing out the dead (kernel-semantics.md §9.5, §9.7;
README "Reaping") on the real daemon and the test worker.

With SwingSet's default (defaultReapInterval 1) every delivery that ends
well leaves dirt and puts its vat on the reap queue, and the next crank
after the GC actions is that vat's bringOutYourDead (unmetered; it
clears the dirt).  A vat's own reapInterval stretches that, neverReap
stops it (no dirt is kept).  The test worker's liveslots then makes the
GC syscalls: a holder vat that lets go of an import it held drops and
retires it at its bringOutYourDead, and the kernel removes its c-list
entry and its count.  reapAllVats (the control op, `swingctl reap`)
queues every live vat.  Worker delays change nothing; a daemon killed
with SIGKILL after the reaping cranks replays to the same hash.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, TESTWORKER, Daemon, DaemonTest,  # noqa: E402
                     default_config, kv_table, main, testworker_bundle)

# bob holds alice's root; the host later tells bob to let go of it
SCRIPT = [{"send": "bob", "method": "hold", "args": ["@alice"],
           "log": True}]


class Reaping(DaemonTest):

    def config(self, sub, reap=1, seed=None, vat_options=None):
        tmp = os.path.join(self.tmp, sub)
        os.makedirs(tmp)
        cfg = default_config(tmp, {
            "bootstrap": testworker_bundle("bootstrap", script=SCRIPT),
            "alice": testworker_bundle("echo"),
            "bob": testworker_bundle("holder")})
        cfg["defaultReapInterval"] = reap
        for name, opts in (vat_options or {}).items():
            cfg["vats"][name]["creationOptions"] = opts
        if seed is not None:
            cfg["daemon"]["workers"] = {
                "testworker": [TESTWORKER, "-D", "%d:120" % seed]}
        return tmp, cfg

    def start(self, tmp, cfg):
        d = Daemon(tmp, cfg)
        self.daemons.append(d)
        d.start()
        return d

    def boot(self, sub, **kw):
        tmp, cfg = self.config(sub, **kw)
        d = self.start(tmp, cfg)
        r = d.ok("run")
        self.assertTrue(r["idle"] and r["halted"] is None, r)
        return d, r

    def deliveries(self, d):
        return {v["name"]: v["deliveries"] for v in d.status()["vats"]}

    def kv(self, d, regex=None):
        """The committed kv table (the open block committed first)."""
        st = d.status()
        if st["blockOpen"]:
            d.ok("commit", height=st["height"] + 1)
        d.stop()
        return kv_table(d.config["daemon"]["stateDir"], regex)

    def test_a_boyd_after_every_delivery(self):
        never, _ = self.boot("never", reap="never")
        each, _ = self.boot("each")
        n, e = self.deliveries(never), self.deliveries(each)
        # every delivery that ended well got one bringOutYourDead
        for name in ("bootstrap", "alice", "bob"):
            self.assertEqual(e[name], 2 * n[name], (n, e))
        st = each.status()
        self.assertEqual((st["reapQueueLength"], st["gcActionsLength"]),
                         (0, 0))
        kv = self.kv(each, r"^(v\d+\.reapDirt|reapQueue|"
                     r"kernel\.defaultReapDirtThreshold)$")
        self.assertEqual(json.loads(kv["kernel.defaultReapDirtThreshold"]),
                         {"deliveries": 1, "gcKrefs": 20,
                          "computrons": "never"})
        self.assertEqual(json.loads(kv["reapQueue"]), [])
        for vid in ("v1", "v2", "v3"):
            self.assertEqual(json.loads(kv[vid + ".reapDirt"]), {}, kv)
        kv = self.kv(never, r"^v\d+\.reapDirt$")
        for vid in ("v1", "v2", "v3"):
            self.assertEqual(json.loads(kv[vid + ".reapDirt"]), {}, kv)

    def test_reap_interval_and_never_reap(self):
        never, _ = self.boot("never", reap="never")
        d, _ = self.boot("own", vat_options={
            "alice": {"neverReap": True}, "bob": {"reapInterval": 3}})
        n, o = self.deliveries(never), self.deliveries(d)
        self.assertEqual(o["alice"], n["alice"])
        self.assertEqual(o["bob"], n["bob"] + n["bob"] // 3, (n, o))
        kv = self.kv(d, r"^v\d+\.reapDirt$")
        self.assertEqual(kv["v2.reapDirt"], "{}")   # neverReap keeps none
        self.assertEqual(json.loads(kv["v3.reapDirt"]),
                         {"deliveries": n["bob"] % 3} if n["bob"] % 3
                         else {}, kv)

    def test_dropped_import_is_retired(self):
        d, _ = self.boot("drop")
        d.ok("commit", height=1)
        d.stop()
        before = kv_table(d.config["daemon"]["stateDir"])
        root = before["v2.c.o+0"]
        self.assertIn("v3.c." + root, before)        # bob imports it
        d.start()
        self.assertEqual(d.ok("queue", vat="bob", method="dropAll")
                         ["kpid"][:2], "kp")
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        d.ok("commit", height=2)
        after = self.kv(d)
        # bob's bringOutYourDead: dropImports then retireImports; its
        # entries are gone and alice's root counts one importer less
        self.assertNotIn("v3.c." + root, after)
        vref = before["v3.c." + root].split(" ")[1]
        self.assertNotIn("v3.c." + vref, after)
        r0, c0 = (int(x) for x in before[root + ".refCount"].split(","))
        r1, c1 = (int(x) for x in after[root + ".refCount"].split(","))
        self.assertEqual((r1, c1), (r0 - 1, c0 - 1), (before, after))

    def test_reap_all_vats(self):
        d, _ = self.boot("all", reap="never")
        n = self.deliveries(d)
        r = d.ok("reapAllVats")
        self.assertEqual(r["scheduled"], ["v1", "v2", "v3"])
        self.assertEqual(d.status()["reapQueueLength"], 3)
        d.ok("run")
        self.assertEqual(self.deliveries(d),
                         {k: v + 1 for k, v in n.items()})
        out = subprocess.run([os.path.join(BIN, "swingctl"), "--socket",
                              d.socket, "reap"], capture_output=True,
                             text=True, check=True).stdout
        self.assertIn("bringOutYourDead queued for 3 vats: v1 v2 v3", out)
        out = subprocess.run([os.path.join(BIN, "swingctl"), "--socket",
                              d.socket, "status"], capture_output=True,
                             text=True, check=True).stdout
        self.assertRegex(out, r"reap queue\s+3")

    def shape(self, d, r):
        st = d.status()
        return (r["activityHash"], st["crankNumber"],
                [(v["vatID"], v["deliveries"]) for v in st["vats"]])

    def drop_block(self, d):
        d.ok("queue", vat="bob", method="dropAll")
        return d.ok("run")

    def test_worker_delays_do_not_change_reaping(self):
        runs = []
        for seed in (1, 2, 3, 4, 5):
            d, _ = self.boot("seed%d" % seed, seed=seed)
            runs.append(self.shape(d, self.drop_block(d)))
            d.stop()
        self.assertTrue(all(run == runs[0] for run in runs), runs)

    def test_kill9_after_reaping_replays(self):
        whole, _ = self.boot("whole")
        want = self.shape(whole, self.drop_block(whole))
        whole.stop()
        d, _ = self.boot("killed")
        self.assertEqual(self.shape(d, self.drop_block(d)), want)
        d.kill9()                       # the reaping cranks, uncommitted
        d.start()
        self.assertEqual(d.status()["height"], 0)
        d.ok("run")
        self.assertEqual(self.shape(d, self.drop_block(d)), want)
        d.ok("commit", height=1)


if __name__ == "__main__":
    main()
