"""test_determinism.py — worker timing never reaches committed state.

The same configuration runs five times, each time with the test worker
told (on its command line, so not in any vat's bundle or state) to delay
its ready handshake by a different seeded-random 0-150 ms per vat.  The
activity hash after every block, the crank count and every vat's
transcript length must be identical across the runs.  The last block has
the host terminate a vat (terminateVat) while a ping-pong with it is in
flight."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (TESTWORKER, DaemonTest, default_config, main,  # noqa: E402
                     root_krefs)

VATS = ("bootstrap", "alice", "bob", "carol", "dave")
SCRIPT = [
    {"send": "alice", "method": "echo", "args": ["hi"], "log": True},
    {"send": "bob", "method": "incr", "args": [], "log": True},
    {"send": "carol", "method": "start", "args": ["@dave", 40], "log": True},
    {"send": "bob", "method": "add", "args": [5], "log": True},
]


class BootTiming(DaemonTest):
    def scenario(self, seed):
        tmp = os.path.join(self.tmp, "seed%d" % seed)
        os.makedirs(tmp)
        cfg = default_config(tmp, VATS, {"bootstrap": {"script": SCRIPT}})
        cfg["daemon"]["workers"] = {
            "testworker": [TESTWORKER, "-D", "%d:150" % seed]}
        d = self.daemon(cfg, start=False)
        d.tmp = tmp
        d.config_path = os.path.join(tmp, "config.json")
        d.log_path = os.path.join(tmp, "daemon.log")
        with open(d.config_path, "w") as f:
            json.dump(cfg, f)
        d.start()
        hashes = []
        r = d.ok("run", budget={"cranks": 7})      # part of the boot
        d.ok("commit", height=1)
        hashes.append(r["activityHash"])
        r = d.ok("run")
        d.ok("commit", height=2)
        hashes.append(r["activityHash"])
        d.ok("queue", vat="bob", method="incr")
        r = d.ok("run")
        d.ok("commit", height=3)
        hashes.append(r["activityHash"])
        # the host terminates a vat while messages to it wait (routing
        # cranks splat them), then sends it one more
        c = d.client()
        dave = root_krefs(c, ["dave"])["dave"]
        c.close()
        d.ok("queue", vat="carol", method="start", args={
            "body": '#["$0.Alleged: root",30]', "slots": [dave]})
        d.ok("run", budget={"cranks": 9})
        d.ok("terminateVat", vat="dave",
             reason={"body": '#"seeded"', "slots": []})
        # (by its root's kref: a terminated static vat has lost its name)
        d.ok("queue", target=dave, method="ping", args={
            "body": "#[0,null]", "slots": []})
        r = d.ok("run")
        d.ok("commit", height=4)
        hashes.append(r["activityHash"])
        st = d.status()
        shape = (st["crankNumber"], [(v["vatID"], v["deliveries"], v["state"])
                                     for v in st["vats"]])
        d.stop()
        return hashes, shape

    def test_seeded_boot_delays_do_not_change_state(self):
        first = self.scenario(1)
        self.assertEqual(len(set(first[0])), 4, "each block changes the hash")
        self.assertIn(("v5", 24, "terminated"), first[1][1], first)  # mid ping-pong
        for seed in (2, 3, 4, 5):
            self.assertEqual(self.scenario(seed), first, "seed %d" % seed)


if __name__ == "__main__":
    main()
