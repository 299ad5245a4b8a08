"""test_churn.py — a vat that runs for a year uses what it holds, not
what it ever touched (issue 16; README "Reaping").

tests/vats/churn on the real xsnap worker: each batch, bob takes 2,000
objects and 200 answers (promises) from alice, sends the objects back to
her, and lets go of everything; the host reads each batch's result and
releases it (promise "release").  After each batch and a reapAllVats the
kernel's objects, promises and c-list entries are back at the baseline
and the number of kv entries stops growing; the same after a restart,
when the workers come back from their heap snapshots.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DaemonTest, kv_table, main  # noqa: E402
from test_xsnap import WORKER, scenario_config  # noqa: E402

# 10,000 objects and 1,000 promises in 5 batches (make check-long: 10
# batches of 2,000 and 2,000)
BATCHES = int(os.environ.get("CHURN_BATCHES", "5"))
OBJECTS = 2000
PROMISES = int(os.environ.get("CHURN_PROMISES", "200"))


def census(state_dir):
    """What the kernel holds, from the committed kv: kernel objects,
    promises, c-list entries, and all kv entries."""
    kv = kv_table(state_dir)
    return {
        "objects": sum(1 for k in kv if k.startswith("ko") and
                       k.endswith(".refCount")),
        "promises": sum(1 for k in kv if k.startswith("kp") and
                        k.endswith(".state")),
        "clist": sum(1 for k in kv if ".c.k" in k and k[0] == "v"),
        "kv": len(kv),
    }


@unittest.skipUnless(os.path.exists(WORKER), "needs make xsnap")
class Churn(DaemonTest):

    def setUp(self):
        super().setUp()
        cfg = scenario_config(self.tmp, "churn")
        cfg["pinBootstrapRoot"] = True
        # a bringOutYourDead when asked (reapAllVats), as a chain would
        # with a long interval: one after every delivery is test_reap's
        cfg["defaultReapInterval"] = 1000
        cfg["snapshotInterval"] = 500
        self.d = self.daemon(cfg)
        self.state = cfg["daemon"]["stateDir"]
        self.height = 0

    def block(self, *queued):
        """One block: the queued batches, then every vat's
        bringOutYourDead; committed.  The census after it."""
        d = self.d
        for n, m in queued:
            kp = d.ok("queue", vat="bootstrap", method="batch",
                      args={"body": "#[%d,%d]" % (n, m), "slots": []}
                      )["kpid"]
            self.assertTrue(d.ok("run")["idle"])
            # the host reads its result and lets go of it
            p = d.ok("promise", kpid=kp, release=True)
            self.assertEqual(p["data"]["body"], "#%d" % (n + m), p)
        d.ok("reapAllVats")
        r = d.ok("run")
        self.assertTrue(r["idle"] and r["halted"] is None, r)
        self.assertEqual(d.status()["gcActionsLength"], 0)
        self.height += 1
        d.ok("commit", height=self.height)
        return census(self.state)

    def test_churn_returns_to_the_baseline(self):
        self.assertTrue(self.d.ok("run")["idle"])   # bootstrap: batch 1
        base = self.block()
        seen = [base]
        for _ in range(BATCHES):
            seen.append(self.block((OBJECTS, PROMISES)))
        for c in seen[1:]:
            self.assertEqual(c, base, seen)
        logs = [t for _, t in self.d.test_logs()]
        self.assertIn("batch %d: %d objects, %d promises" % (
            BATCHES + 1, OBJECTS, PROMISES), logs)
        # the workers restart from their heap snapshots: the same
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.assertEqual(self.block((OBJECTS, PROMISES)), base)
        self.assertRegex(self.d.log(), r"restored from snapshot")


if __name__ == "__main__":
    main()
