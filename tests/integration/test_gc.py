"""test_gc.py — the kernel's garbage collection on the real daemon and the
test worker (kernel-semantics.md §9; README "Reference counts").

Without pinBootstrapRoot, nothing refers to the bootstrap vat's root
once bootstrap() is delivered: the kernel tells the vat dropExports and
then retireExports (two GC cranks, unmetered), deletes the object, and
a queue to the vat's root answers not_found saying why.  With the pin,
neither happens.  The settled result promises nobody holds are deleted;
the host's (bootstrap()'s) is kept.

The same scenario runs with seeded-random worker boot delays (the
worker's -D option) and must give the same activity hashes and
transcripts; and a daemon killed with SIGKILL after the GC cranks ran,
before its commit, replays to the same hash.

test_refcounts.py compares the counts themselves with the JavaScript
kernel's.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (TESTWORKER, Daemon, DaemonTest,  # noqa: E402
                     default_config, kv_table, main, swingctl)

VATS = ("bootstrap", "alice", "bob")
SCRIPT = [
    {"send": "alice", "method": "echo", "args": ["hi"], "log": True},
    {"send": "bob", "method": "incr", "args": [], "log": True},
]


class GarbageCollection(DaemonTest):

    def config(self, sub, pinned, seed=None):
        tmp = os.path.join(self.tmp, sub)
        os.makedirs(tmp)
        cfg = default_config(tmp, VATS, {"bootstrap": {"script": SCRIPT}})
        cfg["pinBootstrapRoot"] = pinned
        if seed is not None:
            cfg["daemon"]["workers"] = {
                "testworker": [TESTWORKER, "-D", "%d:120" % seed]}
        return tmp, cfg

    def start(self, tmp, cfg):
        d = Daemon(tmp, cfg)            # in its own folder
        self.daemons.append(d)
        d.start()
        return d

    def boot(self, sub, pinned, seed=None):
        """Run the scenario's first block and commit it; (daemon, run
        result, status)."""
        tmp, cfg = self.config(sub, pinned, seed)
        d = self.start(tmp, cfg)
        r = d.ok("run")
        self.assertTrue(r["idle"] and r["halted"] is None, r)
        d.ok("commit", height=1)
        return d, r, d.status()

    def v1_deliveries(self, st):
        return next(v["deliveries"] for v in st["vats"]
                    if v["vatID"] == "v1")

    def test_unpinned_root_is_collected(self):
        pinned, _, st_p = self.boot("pinned", True)
        root = pinned.ok("promise", kpid=st_p["bootstrapResult"])
        self.assertEqual(root["state"], "fulfilled", root)
        pinned.ok("queue", vat="bootstrap", method="run",
                  args={"body": "#[[]]", "slots": []})
        pinned.stop()
        kv_p = kv_table(os.path.join(self.tmp, "pinned", "state"))

        d, _, st = self.boot("unpinned", False)
        # two more deliveries to the bootstrap vat: dropExports, then
        # retireExports of its root
        self.assertEqual(self.v1_deliveries(st),
                         self.v1_deliveries(st_p) + 2, (st, st_p))
        self.assertEqual((st["gcActionsLength"], st_p["gcActionsLength"]),
                         (0, 0))
        resp = d.call("queue", vat="bootstrap", method="run",
                      args={"body": "#[[]]", "slots": []})
        self.assertFalse(resp["ok"], resp)
        self.assertEqual(resp["error"]["code"], "not_found", resp)
        self.assertIn("no root object any more", resp["error"]["message"])
        self.assertIn("pinBootstrapRoot", resp["error"]["message"])
        # the host's result is kept, and readable
        self.assertEqual(d.ok("promise", kpid=st["bootstrapResult"])
                         ["state"], "fulfilled")
        d.stop()
        kv = kv_table(os.path.join(self.tmp, "unpinned", "state"))

        root_p = kv_p["v1.c.o+0"]
        self.assertEqual(kv_p["pinnedObjects"].split(",").count(root_p), 1)
        self.assertNotIn("v1.c.o+0", kv)
        self.assertNotIn("v1.c." + root_p, kv)
        self.assertNotIn(root_p + ".owner", kv)
        self.assertNotIn(root_p + ".refCount", kv)
        self.assertEqual(kv.get("gcActions"), "[]")
        for k in (kv, kv_p):
            # the only promise left is bootstrap()'s result (the host's)
            kps = sorted(key for key in k if key.endswith(".state") and
                         key.startswith("kp"))
            self.assertEqual(kps, [st["bootstrapResult"] + ".state"], kps)
            self.assertEqual(k[st["bootstrapResult"] + ".refCount"], "1")
            # every count is well formed, reachable <= recognizable
            for key, val in k.items():
                if key.startswith("ko") and key.endswith(".refCount"):
                    reach, recog = (int(x) for x in val.split(","))
                    self.assertTrue(0 <= reach <= recog, (key, val))

    def test_host_releases_its_results(self):
        d, _, st = self.boot("release", True)
        echo = {"body": '#["hi"]', "slots": []}
        kp = d.ok("queue", vat="alice", method="echo", args=echo)["kpid"]
        d.ok("run")
        p = d.ok("promise", kpid=kp, release=True)
        self.assertEqual((p["state"], p["released"]), ("fulfilled", True))
        # nobody holds it now: deleted by the release's crank
        for release in (False, True):
            r = d.call("promise", kpid=kp, release=release)
            self.assertEqual(r["error"]["code"], "not_found", r)
        boot = st["bootstrapResult"]
        rc, out, err = swingctl("promise", "--release", boot, sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertIn("%s fulfilled" % boot, out)
        r = d.call("promise", kpid=boot)
        self.assertEqual(r["error"]["code"], "not_found", r)
        # a send-only queue: no result promise at all
        self.assertIsNone(d.ok("queue", vat="alice", method="echo",
                               args=echo, result=False)["kpid"])
        self.assertTrue(d.ok("run")["idle"])
        d.ok("commit", height=2)
        d.stop()
        kv = kv_table(os.path.join(self.tmp, "release", "state"),
                      r"^kp\d+\.")
        self.assertEqual(kv, {})        # no promise is left

    def shape(self, d, r):
        st = d.status()
        return (r["activityHash"], st["crankNumber"],
                [(v["vatID"], v["deliveries"]) for v in st["vats"]])

    def test_worker_delays_do_not_change_collection(self):
        runs = []
        for seed in (1, 2, 3, 4, 5):
            d, r, _ = self.boot("seed%d" % seed, False, seed)
            runs.append(self.shape(d, r))
            d.stop()
        self.assertTrue(all(run == runs[0] for run in runs), runs)

    def test_kill9_after_gc_cranks_replays(self):
        whole, r, _ = self.boot("whole", False)
        want = self.shape(whole, r)
        whole.stop()

        tmp, cfg = self.config("killed", False)
        d = self.start(tmp, cfg)
        r = d.ok("run")                 # the GC cranks ran, uncommitted
        self.assertEqual(self.shape(d, r), want)
        d.kill9()
        d.start()
        self.assertEqual(d.status()["height"], 0)
        r = d.ok("run")
        d.ok("commit", height=1)
        self.assertEqual(self.shape(d, r), want)


if __name__ == "__main__":
    main()
