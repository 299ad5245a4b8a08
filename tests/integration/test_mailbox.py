"""test_mailbox.py — the mailbox device on the real xsnap-worker: inbound
messages delivered in order to the registered handler (mailboxDeliver,
SwingSet's deliverInbound), acks, the outbox the vat writes (add, remove,
ackInbound; mailboxOutbox), compared with Agoric's JavaScript kernel
running the same vat on SwingSet's own mailbox device and the same
deliveries (run-swingset.mjs --mailbox); the outbox survives a restart,
and a delivery before a handler is registered is refused.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, DaemonTest, main, swingctl  # noqa: E402
from test_xsnap import VATS, js_kernel, scenario_config  # noqa: E402

# ("mailbox", [peer, messages, ack]) or ("queue", method, args)
PLAN = [
    ("mailbox", ["p1", [[1, "m1"], [2, "m2"]], 0]),
    ("queue", "add", ["p1", 1, "out1"]),
    ("queue", "add", ["p1", 2, "out2"]),
    ("queue", "add", ["p2", 1, "other"]),
    ("queue", "ack", ["p1", 2]),
    ("mailbox", ["p1", [[3, "m3"]], 1]),
    ("queue", "remove", ["p1", 1]),
    ("mailbox", ["p2", [], 1]),
    ("queue", "remove", ["p3", 5]),
    ("queue", "bad", []),
]

_ref = {}


def js_reference():
    if "out" not in _ref:
        args = []
        for step in PLAN:
            if step[0] == "mailbox":
                args += ["--mailbox", json.dumps(step[1])]
            else:
                args += ["--queue", "%s:%s" % (step[1], json.dumps(step[2]))]
        _ref["out"] = js_kernel("mailbox", args, timeout=900)
    return _ref["out"]


def mailbox_config(tmp):
    cfg = scenario_config(tmp, "mailbox")
    dev = cfg["devices"]["mailbox"]
    dev["sourceSpec"] = os.path.join(VATS, "mailbox", dev["sourceSpec"])
    return cfg


def plain_args(args):
    """A JSON array of plain data as queue capdata (strings escaped)."""
    def enc(v):
        if isinstance(v, str) and v[:1] in "!\"#$%&'()*+,-":
            return "!" + v
        return v
    return {"body": "#" + json.dumps([enc(a) for a in args],
                                     separators=(",", ":")), "slots": []}


class MailboxTest(DaemonTest):

    def fresh(self, name):
        tmp = os.path.join(self.tmp, name)
        os.makedirs(tmp)
        d = Daemon(tmp, mailbox_config(tmp))
        self.daemons.append(d)
        d.start()
        return d

    def drive(self, d, restart_at=None):
        height = d.status()["height"]
        results, hashes = [], []
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        for i, step in enumerate(PLAN):
            if restart_at is not None and i == restart_at:
                d.stop()
                d.start()
            if step[0] == "mailbox":
                peer, msgs, ack = step[1]
                d.ok("mailboxDeliver", peer=peer, messages=msgs, ack=ack)
            else:
                kpid = d.ok("queue", vat="bootstrap", method=step[1],
                            args=plain_args(step[2]))["kpid"]
            r = d.ok("run")
            self.assertTrue(r["idle"], r)
            self.assertIsNone(r["halted"], d.log())
            if step[0] == "queue":
                results.append((step[1], d.ok("promise", kpid=kpid)))
            height += 1
            hashes.append(d.ok("commit", height=height)["activityHash"])
        return results, hashes

    def test_same_as_javascript_kernel(self):
        ref = js_reference()
        d = self.fresh("a")
        results, _ = self.drive(d)
        self.assertEqual([t for _, t in d.test_logs()],
                         [str(x) for x in ref["testLog"]])
        for (method, p), q in zip(results, ref["queued"]):
            self.assertEqual(method, q["method"])
            self.assertEqual(p["data"]["body"], q["capdata"]["body"])
        self.assertEqual(len(results), len(ref["queued"]))
        self.assertEqual(d.ok("mailboxOutbox")["outbox"], ref["mailbox"])
        rc, out, err = swingctl("mailbox", "outbox", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "p1 ack 2\np1 2 out2\np2 ack 0\np2 1 other\n"
                         "p3 ack 0\n")
        devs = [x["name"] for x in d.status()["devices"]]
        self.assertEqual(devs, ["mailbox", "vatAdmin"])

    def test_restart_keeps_the_outbox(self):
        d = self.fresh("a")
        _, hashes = self.drive(d)
        outbox = d.ok("mailboxOutbox")["outbox"]
        d.stop()
        d.start()
        self.assertEqual(d.ok("mailboxOutbox")["outbox"], outbox)
        d2 = self.fresh("b")
        _, hashes2 = self.drive(d2, restart_at=4)
        self.assertEqual(hashes2, hashes)
        self.assertEqual(d2.ok("mailboxOutbox")["outbox"], outbox)

    def test_errors(self):
        d = self.fresh("a")
        # before bootstrap ran, no handler is registered
        e = d.call("mailboxDeliver", peer="p", messages=[], ack=0)
        self.assertEqual(e["error"]["code"], "not_found")
        self.assertIn("called before handler was registered",
                      e["error"]["message"])
        for bad, what in (({"messages": [[1]]}, "messages[0]"),
                          ({"messages": [[-1, "x"]]}, "messages[0][0]"),
                          ({"messages": [[1, 2]]}, "messages[0][1]"),
                          ({"ack": "1"}, "'ack'"),
                          ({"peer": ""}, "'peer'")):
            f = dict({"peer": "p", "messages": [], "ack": 0}, **bad)
            e = d.call("mailboxDeliver", **f)
            self.assertEqual(e["error"]["code"], "bad_request", e)
            self.assertIn(what, e["error"]["message"])
        rc, out, err = swingctl("mailbox", "deliver", "p", "[[1,\"x\"]]",
                                "0", sock=d.socket)
        self.assertEqual(rc, 1, out)
        d.ok("run")
        rc, out, err = swingctl("mailbox", "deliver", "p", "[[1,\"x\"]]",
                                "0", sock=d.socket)
        self.assertEqual((rc, out), (0, "delivered\n"), err)

    def test_no_mailbox_device(self):
        tmp = os.path.join(self.tmp, "c")
        os.makedirs(tmp)
        d = Daemon(tmp, scenario_config(tmp, "creator"))
        self.daemons.append(d)
        d.start()
        e = d.call("mailboxOutbox")
        self.assertEqual(e["error"]["code"], "not_found")
        e = d.call("mailboxDeliver", peer="p", messages=[], ack=0)
        self.assertEqual(e["error"]["code"], "not_found")


if __name__ == "__main__":
    main()
