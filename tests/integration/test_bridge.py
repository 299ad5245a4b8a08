"""test_bridge.py — the bridge device on the real xsnap-worker: inbound
messages (bridgeInbound, SwingSet's deliverInbound) delivered to the
registered handler as inbound(srcID, obj), and callOutbound answered by
the producer's bridge connection (bridgeRegister, then a
{"bridge": {"call": N, …}} line per call, answered with bridgeAnswer),
compared with Agoric's JavaScript kernel running the same vat on
SwingSet's own bridge device with a host callback that answers the same
(run-swingset.mjs --bridge).  Also: kill -9 before a commit and the
block sent again (same hashes; the lost block's calls are asked again),
a restart after commit whose worker is rebuilt by replaying the
transcript (no second request for recorded answers), a producer that
never answers (halted with the reason; status answers meanwhile), no
bridge connection (the method throws), malformed answers (precise
errors, nothing changes), and several runs giving one hash.
"""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, Daemon, DaemonTest, main, swingctl  # noqa: E402
from test_mailbox import plain_args  # noqa: E402
from test_xsnap import VATS, js_kernel, scenario_config  # noqa: E402

# ("bridge", [srcID, obj]) or ("queue", method, args)
PLAN = [
    ("bridge", ["s1", {"a": 1, "b": [True, None, "x"]}]),
    ("queue", "call", ["d1", {"k": "v"}]),
    ("queue", "call", ["undef", 3]),
    ("queue", "call", ["throw", "no"]),
    ("queue", "twice", ["x", "y"]),
    ("queue", "unregister", []),
    ("queue", "register", []),
    ("queue", "bad", []),
    ("bridge", ["s2", "$hi"]),
]

_ref = {}


def js_reference():
    if "out" not in _ref:
        args = []
        for step in PLAN:
            if step[0] == "bridge":
                args += ["--bridge", json.dumps(step[1])]
            else:
                args += ["--queue", "%s:%s" % (step[1], json.dumps(step[2]))]
        _ref["out"] = js_kernel("bridge", args, timeout=900)
    return _ref["out"]


def bridge_config(tmp, **daemon):
    cfg = scenario_config(tmp, "bridge", **daemon)
    dev = cfg["devices"]["bridge"]
    dev["sourceSpec"] = os.path.join(VATS, "bridge", dev["sourceSpec"])
    return cfg


def host_answer(dst, obj):
    """run-swingset.mjs's bridgeHost, as bridgeAnswer fields."""
    if dst == "throw":
        return {"error": "host refuses %s" % json.dumps(obj)}
    if dst == "undef":
        return {}
    return {"result": {"dstID": dst, "obj": obj}}


class Peer:
    """The producer's bridge connection: registers, then answers every
    request line in a thread (answer=None: never answers)."""

    def __init__(self, d, answer=host_answer):
        self.c = Client(d.socket)
        self.answer = answer
        self.requests = []      # the "bridge" objects, in order
        self.replies = []       # bridgeAnswer responses
        self.cond = threading.Condition()
        r = self.c.ok("bridgeRegister")
        self.registered = r
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        self.c.sock.settimeout(None)
        while True:
            try:
                line = self.c.read_line()
            except (EOFError, OSError, ValueError):
                return
            with self.cond:
                if "bridge" in line:
                    self.requests.append(line["bridge"])
                else:
                    self.replies.append(line)
                self.cond.notify_all()
            if "bridge" in line and self.answer is not None:
                b = line["bridge"]
                req = dict({"op": "bridgeAnswer", "call": b["call"]},
                           **self.answer(b["dstID"], b["obj"]))
                try:
                    self.c.send_raw(json.dumps(req).encode() + b"\n")
                except OSError:
                    return

    def wait_requests(self, n, timeout=60):
        with self.cond:
            self.cond.wait_for(lambda: len(self.requests) >= n, timeout)
            return list(self.requests)

    def calls(self):
        return [[b["dstID"], b["obj"]] for b in self.requests]

    def close(self):
        try:
            self.c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.c.close()
        self.t.join(10)


class BridgeTest(DaemonTest):

    def fresh(self, name, **daemon):
        tmp = os.path.join(self.tmp, name)
        os.makedirs(tmp)
        cfg = bridge_config(tmp, **daemon)
        # no heap snapshot: a rebuilt worker replays every delivery
        cfg["snapshotInitial"] = 1000
        d = Daemon(tmp, cfg)
        self.daemons.append(d)
        d.start()
        return d

    def step(self, d, step):
        if step[0] == "bridge":
            src, obj = step[1]
            d.ok("bridgeInbound", srcID=src, obj=obj)
            return None
        return d.ok("queue", vat="bootstrap", method=step[1],
                    args=plain_args(step[2]))["kpid"]

    def drive(self, d, peer, kill_at=None):
        """Bootstrap, then the plan, a block per step; the queued results
        and the activity hash after each block.  At kill_at the daemon is
        killed (SIGKILL) after the step's run, before its commit, and the
        producer sends the block again."""
        height = d.status()["height"]
        results, hashes = [], []
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        for i, step in enumerate(PLAN):
            if kill_at is not None and i == kill_at:
                self.step(d, step)
                self.assertIsNone(d.ok("run")["halted"], d.log())
                d.kill9()
                peer.close()
                d.start()
                self.assertEqual(d.status()["height"], height)
                peer = Peer(d)
            kpid = self.step(d, step)
            r = d.ok("run")
            self.assertTrue(r["idle"], r)
            self.assertIsNone(r["halted"], d.log())
            if kpid is not None:
                results.append((step[1], d.ok("promise", kpid=kpid)))
            height += 1
            hashes.append(d.ok("commit", height=height)["activityHash"])
        return results, hashes, peer

    def test_same_as_javascript_kernel(self):
        ref = js_reference()
        d = self.fresh("a")
        peer = Peer(d)
        self.assertEqual(peer.registered, {"waiting": False})
        results, hashes, peer = self.drive(d, peer)
        self.assertEqual([t for _, t in d.test_logs()],
                         [str(x) for x in ref["testLog"]])
        self.assertEqual(len(results), len(ref["queued"]))
        for (method, p), q in zip(results, ref["queued"]):
            self.assertEqual(method, q["method"])
            self.assertEqual(p["data"]["body"], q["capdata"]["body"])
        self.assertEqual(peer.calls(), ref["bridgeCalls"])
        self.assertEqual([b["call"] for b in peer.requests],
                         list(range(1, len(ref["bridgeCalls"]) + 1)))
        self.assertTrue(all(r.get("ok") for r in peer.replies), peer.replies)
        self.assertIn("the producer answered an error: host refuses",
                      d.log())
        devs = [x["name"] for x in d.status()["devices"]]
        self.assertEqual(devs, ["bridge", "vatAdmin"])
        peer.close()
        # determinism: two more runs, one hash block by block
        for name in ("b", "c"):
            d2 = self.fresh(name)
            p2 = Peer(d2)
            _, hashes2, p2 = self.drive(d2, p2)
            self.assertEqual(hashes2, hashes)
            p2.close()
            d2.stop()

    def test_kill9_and_replay(self):
        ref = self.fresh("ref")
        p = Peer(ref)
        _, want, p = self.drive(ref, p)
        n = len(p.requests)
        p.close()
        ref.stop()
        # killed after the run of block 5 (twice: two calls), not committed
        d = self.fresh("a")
        peer = Peer(d)
        _, hashes, peer = self.drive(d, peer, kill_at=4)
        self.assertEqual(hashes, want)
        # the lost block's calls were asked of the old connection, and
        # asked again after the restart: the block was not committed
        self.assertEqual(peer.calls()[:2], [["x", 1], ["y", 2]])
        # restart after commit: the worker is rebuilt by replaying its
        # transcript, which has the answers: no request until the new one
        peer.close()
        d.stop()
        d.start()
        peer = Peer(d)
        height = d.status()["height"]
        kpid = d.ok("queue", vat="bootstrap", method="call",
                    args=plain_args(["after", [1, 2]]))["kpid"]
        r = d.ok("run")
        self.assertIsNone(r["halted"], d.log())
        self.assertEqual(peer.calls(), [["after", [1, 2]]])
        self.assertEqual(peer.requests[0]["call"], 1)
        body = d.ok("promise", kpid=kpid)["data"]["body"]
        self.assertIn("call after", body)
        self.assertIn("replay", d.log())
        d.ok("commit", height=height + 1)
        self.assertGreater(n, 0)
        peer.close()

    def test_never_answers(self):
        d = self.fresh("a", bridgeTimeoutMs=1500)
        peer = Peer(d, answer=None)
        d.ok("run")
        d.ok("queue", vat="bootstrap", method="call",
             args=plain_args(["d1", 1]))
        c = d.client()
        c.send_raw(b'{"id":1,"op":"run"}\n')
        peer.wait_requests(1)
        t0 = time.time()
        st = d.status()         # the event loop answers while the crank waits
        self.assertLess(time.time() - t0, 1.0)
        self.assertIsNone(st["halted"])
        self.assertEqual(st["devices"][0], {"deviceID": "d7",
                                            "name": "bridge",
                                            "waitingCall": 1})
        r = c.read_line()
        c.close()
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["stopped"], "halted")
        why = d.status()["halted"]
        self.assertIn("did not answer callOutbound call 1", why)
        self.assertIn("daemon.bridgeTimeoutMs", why)
        self.assertIn("the host's fault, not the vat's", why)
        e = d.call("commit", height=d.status()["height"] + 1)
        self.assertEqual(e["error"]["code"], "halted")
        # a late answer finds nothing waiting
        e = d.call("bridgeAnswer", call=1, result=1)
        self.assertEqual(e["error"]["code"], "not_found")
        peer.close()

    def test_slow_answer_pauses_the_worker_deadline(self):
        # the delivery's own deadline (4 s) does not count the producer's
        # time (2.5 s a call, two calls); the bridge's (10 s) does
        d = self.fresh("a", deliveryTimeoutMs=4000, bridgeTimeoutMs=10000)

        def slow(dst, obj):
            time.sleep(2.5)
            return host_answer(dst, obj)
        peer = Peer(d, answer=slow)
        d.ok("run")
        kpid = d.ok("queue", vat="bootstrap", method="twice",
                    args=plain_args(["a", "b"]))["kpid"]
        r = d.ok("run")
        self.assertIsNone(r["halted"], d.log())
        body = d.ok("promise", kpid=kpid)["data"]["body"]
        self.assertIn('first a: {\\"dstID\\":\\"a\\",\\"obj\\":1}', body)
        self.assertNotIn("v1:bootstrap: worker failed", d.log())
        self.assertNotIn("v1: machine fault", d.log())
        self.assertIsNone(d.status()["devices"][0]["waitingCall"])
        peer.close()

    def test_no_bridge_connection(self):
        d = self.fresh("a")
        d.ok("run")
        kpid = d.ok("queue", vat="bootstrap", method="call",
                    args=plain_args(["d1", 1]))["kpid"]
        r = d.ok("run")
        self.assertIsNone(r["halted"], d.log())
        body = d.ok("promise", kpid=kpid)["data"]["body"]
        self.assertIn("call d1 threw: syscall.callNow failed: device.invoke "
                      "failed, see logs for details", body)
        self.assertIn("no producer connection is registered for bridge "
                      "calls", d.log())

    def test_malformed_answers_and_inbound(self):
        d = self.fresh("a")
        # no handler before bootstrap ran
        e = d.call("bridgeInbound", srcID="s", obj=1)
        self.assertEqual(e["error"]["code"], "not_found")
        self.assertIn("inboundHandler not yet registered",
                      e["error"]["message"])
        for bad, what in (({"srcID": ""}, "'srcID'"),
                          ({"srcID": 3}, "'srcID'"),
                          ({"obj": {"a": [{"#x": 1}]}}, "obj.a[0].#x")):
            f = dict({"srcID": "s", "obj": 1}, **bad)
            e = d.call("bridgeInbound", **f)
            self.assertEqual(e["error"]["code"], "bad_request", e)
            self.assertIn(what, e["error"]["message"])
        e = d.call("bridgeInbound", srcID="s")
        self.assertEqual(e["error"]["code"], "bad_request")
        d.ok("run")
        peer = Peer(d, answer=None)
        kpid = d.ok("queue", vat="bootstrap", method="call",
                    args=plain_args(["d1", {"q": 1}]))["kpid"]
        c = d.client()
        c.send_raw(b'{"id":1,"op":"run"}\n')
        b = peer.wait_requests(1)[0]
        self.assertEqual(b, {"call": 1, "vatID": "v1", "dstID": "d1",
                             "obj": {"q": 1}})
        e = d.call("bridgeInbound", srcID="s", obj=1)
        self.assertEqual(e["error"]["code"], "busy")
        for fields, code, what in (
                ({"call": 2, "result": 1}, "not_found", "no callOutbound "
                 "call 2 is waiting for its answer (another is)"),
                ({"call": "1", "result": 1}, "bad_request", "'call'"),
                ({"call": 0, "result": 1}, "bad_request", "'call'"),
                ({"call": 1, "result": 1, "error": "x"}, "bad_request",
                 "not both"),
                ({"call": 1, "error": 5}, "bad_request", "'error'"),
                ({"call": 1, "result": {"#tag": 1}}, "bad_request",
                 "result.#tag"),
                ({"call": 1, "reslt": 1}, "bad_request", "reslt")):
            e = d.call("bridgeAnswer", **fields)
            self.assertEqual(e["error"]["code"], code, (fields, e))
            self.assertIn(what, e["error"]["message"], e)
        # a new bridge connection gets the waiting request again
        peer.close()
        peer = Peer(d, answer=None)
        self.assertEqual(peer.registered, {"waiting": True})
        self.assertEqual(peer.wait_requests(1)[0], b)
        d.ok("bridgeAnswer", call=1, result={"fine": ["!x", "$0"]})
        r = c.read_line()
        c.close()
        self.assertTrue(r["ok"], r)
        self.assertIsNone(r["result"]["halted"], d.log())
        body = d.ok("promise", kpid=kpid)["data"]["body"]
        self.assertIn('call d1: {\\"fine\\":[\\"!x\\",\\"$0\\"]}', body)
        e = d.call("bridgeAnswer", call=1, result=1)
        self.assertEqual(e["error"]["code"], "not_found")
        self.assertIn("no callOutbound call 1 is waiting for its answer",
                      e["error"]["message"])
        # swingctl bridge send
        rc, out, err = swingctl("bridge", "send", "s9", '{"z":[1]}',
                                sock=d.socket)
        self.assertEqual((rc, out), (0, "delivered\n"), err)
        rc, out, err = swingctl("bridge", "send", "s9", "{", sock=d.socket)
        self.assertEqual(rc, 64, (out, err))
        peer.close()

    def test_no_bridge_device(self):
        tmp = os.path.join(self.tmp, "c")
        os.makedirs(tmp)
        d = Daemon(tmp, scenario_config(tmp, "creator"))
        self.daemons.append(d)
        d.start()
        e = d.call("bridgeInbound", srcID="s", obj=1)
        self.assertEqual(e["error"]["code"], "not_found")
        self.assertIn("no bridge device", e["error"]["message"])


if __name__ == "__main__":
    main()
