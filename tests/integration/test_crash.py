"""test_crash.py — kill -9 of the real daemon around commits: committed
blocks survive whole, an open block vanishes whole, and a restarted daemon
reports exactly what was committed."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import default_config, DaemonTest, main, swingctl  # noqa: E402


class KillNine(DaemonTest):
    def test_kill_after_commit(self):
        d = self.daemon()
        for h in range(1, 6):
            self.assertTrue(d.call("commit", height=h)["ok"])
        before = d.status()
        d.kill9()
        d.start()
        after = d.status()
        self.assertEqual(after["height"], 5)
        self.assertEqual(after["activityHash"], before["activityHash"])
        self.assertEqual(after["committedActivityHash"], before["committedActivityHash"])
        self.assertFalse(after["blockOpen"])
        self.assertEqual(after["crankNumber"], before["crankNumber"])

    def test_kill_with_block_open(self):
        d = self.daemon()
        first = d.status()
        self.assertTrue(first["blockOpen"])
        self.assertEqual(first["height"], 0)
        d.kill9()
        d.start()
        again = d.status()
        # The open block was lost whole; first start ran again and, being a
        # function of the configuration only, produced the same hash.
        self.assertEqual(again["height"], 0)
        self.assertEqual(again["activityHash"], first["activityHash"])
        self.assertEqual(again["committedActivityHash"], "0" * 64)
        self.assertEqual(d.call("commit", height=1)["result"]["activityHash"],
                         first["activityHash"])
        d.kill9()
        d.start()
        st = d.status()
        self.assertEqual((st["height"], st["blockOpen"]), (1, False))

    def test_same_config_same_hash_elsewhere(self):
        d = self.daemon()
        h1 = d.status()["activityHash"]
        d.stop()
        cfg = json.loads(json.dumps(d.config))
        cfg["daemon"]["stateDir"] = os.path.join(self.tmp, "elsewhere")
        d2 = self.daemon(cfg)
        self.assertEqual(d2.status()["activityHash"], h1)
        d2.stop()
        cfg["vats"]["carol"] = {"bundle": cfg["vats"]["alice"]["bundle"]}
        cfg["daemon"]["stateDir"] = os.path.join(self.tmp, "third")
        d3 = self.daemon(cfg)
        self.assertNotEqual(d3.status()["activityHash"], h1)

    def test_changed_config_refused_after_commit(self):
        d = self.daemon()
        self.assertTrue(d.call("commit", height=1)["ok"])
        d.stop()
        cfg = json.loads(json.dumps(d.config))
        del cfg["vats"]["bob"]
        d2 = self.other_daemon(cfg, "changed", 78)
        self.assertIn("vat.names: the configuration gives", d2.log())
        rc, _, _ = swingctl("status", sock=d.socket)
        self.assertEqual(rc, 69)
        # a changed parameter is a different kernel too ...
        cfg = json.loads(json.dumps(d.config))
        cfg["vats"]["alice"]["parameters"] = {"x": 1}
        d3 = self.other_daemon(cfg, "params", 78)
        self.assertIn('v2.vatParameters: the configuration gives '
                      '{"body":"#{\\"x\\":1}","slots":[]}', d3.log())
        # ... but the order of keys in the file is not
        cfg = json.loads(json.dumps(d.config), object_pairs_hook=lambda kv: dict(reversed(kv)))
        d4 = self.daemon(cfg)
        self.assertEqual(d4.status()["height"], 1)

    def test_changed_relax_durability_rules_refused(self):
        # issue 11 defect 5: the vats run under the rules recorded at first
        # start; a restart with the option changed (either way) is refused
        for first, then in ((True, False), (False, True)):
            with self.subTest(first=first):
                self.tearDown()
                self.setUp()
                cfg = default_config(self.tmp)
                cfg["relaxDurabilityRules"] = first
                d = self.daemon(cfg)
                self.assertTrue(d.call("commit", height=1)["ok"])
                d.stop()
                cfg = json.loads(json.dumps(d.config))
                cfg["relaxDurabilityRules"] = then
                d2 = self.other_daemon(cfg, "changed", 78)
                self.assertIn("kernel.relaxDurabilityRules", d2.log())
                cfg["relaxDurabilityRules"] = first
                self.assertEqual(self.daemon(cfg).status()["height"], 1)


if __name__ == "__main__":
    main()
