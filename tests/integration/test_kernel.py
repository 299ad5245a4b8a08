"""test_kernel.py — the kernel core against the real daemon and the native
testworker (issue 3, "Tests"): bootstrap, a 10,000-message ping-pong
across 10 blocks (and its determinism), the queue / run / promise ops,
pipelining and promise chains, every rejection path, each illegal
syscall, exit, and machine faults (a hung delivery, an abort) that halt
the kernel after bounded retries."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DaemonTest, Daemon, capdata, decode, default_config,  # noqa: E402
                     main, root_krefs, swingctl, testworker_bundle)

REF = "$0.Alleged: root"
PINGS = 10000            # messages in the ping-pong
# cranks per block: start and each ping take two cranks, a routing crank
# (the acceptance queue to the run-queue) and the delivery
BUDGET = 2001


def vats_config(tmp, vats, daemon=None, bootstrap="bootstrap"):
    """A config with vats name -> (behaviour, options); bootstrap first."""
    cfg = default_config(tmp, {n: testworker_bundle(b, **o)
                               for n, (b, o) in vats.items()})
    cfg["bootstrap"] = bootstrap
    cfg["daemon"].update(daemon or {})
    return cfg


class KernelTest(DaemonTest):
    def start(self, vats, daemon=None, sub=None):
        """A daemon on vats (name -> behaviour or (behaviour, options));
        in self.tmp or, with sub, a sub-folder of it.  Runs to idle."""
        vats = {n: (v, {}) if isinstance(v, str) else v for n, v in vats.items()}
        tmp = self.tmp if sub is None else os.path.join(self.tmp, sub)
        os.makedirs(tmp, exist_ok=True)
        d = Daemon(tmp, vats_config(tmp, vats, daemon))
        self.daemons.append(d)
        d.start()
        c = d.client()
        self.addCleanup(c.close)
        r = c.ok("run")
        self.assertTrue(r["idle"], r)
        self.assertIsNone(r["halted"], d.log())
        return d, c

    def send(self, c, method, args=(), slots=(), **target):
        return c.ok("queue", method=method, args=capdata(list(args), slots),
                    **target)["kpid"]

    def settle(self, c, kpid, state=None):
        p = c.ok("promise", kpid=kpid)
        if state is not None:
            self.assertEqual(p["state"], state, p)
        return p

    def run_idle(self, c, d):
        r = c.ok("run")
        self.assertTrue(r["idle"], r)
        self.assertIsNone(r["halted"], d.log()[-3000:])
        return r

    def vat_ids(self, d):
        return {v["name"]: v["vatID"] for v in d.status()["vats"]}

    def logs(self, d, vat_name):
        return [t for _, t in d.test_logs(self.vat_ids(d)[vat_name])]


class Bootstrap(KernelTest):
    def test_bootstrap_runs(self):
        script = [{"send": "alice", "method": "echo", "args": ["hi"], "log": True},
                  {"send": "bob", "method": "incr", "log": True},
                  {"send": "bob", "method": "add", "args": [4], "log": True}]
        cfg = vats_config(self.tmp, {"bootstrap": ("bootstrap", {"script": script}),
                                     "alice": ("echo", {}), "bob": ("counter", {})})
        d = self.daemon(cfg)
        c = d.client()
        self.addCleanup(c.close)
        st = d.status()
        self.assertIsNone(st["halted"])
        self.assertFalse(st["running"])
        # 3 startVat + bootstrap, on the acceptance queue until routed
        self.assertEqual((st["acceptanceQueueLength"], st["runQueueLength"]),
                         (4, 0), st)
        self.assertEqual(self.settle(c, "kp40", "unresolved")["decider"], None)
        r = c.ok("run")
        self.assertEqual((r["idle"], r["stopped"], r["halted"]), (True, "idle", None), r)
        self.assertGreaterEqual(r["cranks"], 7, r)
        self.assertEqual(r["activityHash"], d.status()["activityHash"])
        p = self.settle(c, "kp40", "fulfilled")
        self.assertEqual(p["data"], {"body": '#"#undefined"', "slots": []})
        st = d.status()
        self.assertEqual(st["runQueueLength"], 0)
        self.assertIsNone(st["halted"])
        self.assertFalse(st["running"])
        byname = {v["name"]: v for v in st["vats"]}
        for name, v in byname.items():
            self.assertEqual(v["state"], "ready", v)
            self.assertIsInstance(v["pid"], int, v)
        # startVat + bootstrap; startVat + echo; startVat + incr + add
        self.assertEqual(byname["bootstrap"]["deliveries"], 2 + 3, byname)
        self.assertEqual(byname["alice"]["deliveries"], 2, byname)
        self.assertEqual(byname["bob"]["deliveries"], 3, byname)
        self.assertEqual(self.logs(d, "bootstrap"),
                         ['alice.echo -> "hi"', "bob.incr -> 1", "bob.add -> 5"])
        # the block commits with the hash the run reported
        self.assertEqual(c.ok("commit", height=1)["activityHash"], r["activityHash"])
        self.assertEqual(d.status()["crankNumber"], st["crankNumber"])


def pingpong_blocks(test, d, c, pings=PINGS, budget=BUDGET, max_blocks=10):
    """Block 1: learn the roots, queue carol.start(dave, pings-1), run the
    budget; every block runs `budget` cranks and commits, until idle.
    Returns the per-block (run hash, commit hash, cranks, idle)."""
    roots = root_krefs(c, ["carol", "dave"])
    test.send(c, "start", [REF, pings - 1], [roots["dave"]], vat="carol")
    blocks = []
    for h in range(1, max_blocks + 1):
        r = c.ok("run", budget={"cranks": budget})
        test.assertIsNone(r["halted"], d.log()[-3000:])
        cm = c.ok("commit", height=h)
        test.assertEqual(cm["activityHash"], r["activityHash"])
        blocks.append((r["activityHash"], cm["activityHash"], r["cranks"], r["idle"]))
        if r["idle"]:
            break
    return blocks


class Workers(KernelTest):
    def test_worker_inherits_only_its_pipes_and_a_scrubbed_environment(self):
        cfg = vats_config(self.tmp, {"bootstrap": ("bootstrap", {}), "alice": ("echo", {})})
        d = self.daemon(cfg, env={"SWINGSETD_TEST_MARKER": "must-not-leak"})
        self.assertGreater(len(os.listdir("/proc/%d/fd" % d.proc.pid)), 5)
        c = d.client()
        self.addCleanup(c.close)
        self.run_idle(c, d)
        for v in d.status()["vats"]:
            with self.subTest(vat=v["name"]):
                fds = {int(fd): os.readlink("/proc/%d/fd/%s" % (v["pid"], fd))
                       for fd in os.listdir("/proc/%d/fd" % v["pid"])}
                self.assertEqual(sorted(fds), [0, 1, 2, 3, 4], fds)
                for fd in (1, 2, 3, 4):
                    self.assertTrue(fds[fd].startswith("pipe:"), fds)
                self.assertEqual(len({fds[fd] for fd in (1, 2, 3, 4)}), 4, fds)
                with open("/proc/%d/environ" % v["pid"], "rb") as f:
                    env = f.read()
                self.assertNotIn(b"SWINGSETD_TEST_MARKER", env)


class PingPong(KernelTest):
    VATS = {"bootstrap": "bootstrap", "alice": "echo", "carol": "pingpong",
            "dave": "pingpong"}

    def test_ten_thousand_messages_ten_blocks_deterministic(self):
        d1, c1 = self.start(self.VATS, {"logLevel": "info"}, sub="a")
        b1 = pingpong_blocks(self, d1, c1)
        self.assertEqual(len(b1), 10, b1)
        self.assertTrue(b1[-1][3], b1)
        self.assertFalse(any(b[3] for b in b1[:-1]), b1)
        # start + 10,000 pings
        self.assertEqual(sum(b[2] for b in b1), 2 * (PINGS + 1), b1)
        self.assertTrue(all(b[2] == BUDGET for b in b1[:-1]), b1)
        ids = self.vat_ids(d1)
        # carol sends the first ping to dave; ping(0) lands on carol
        self.assertEqual(d1.test_logs(), [(ids["carol"], "pingpong done count=%d" % (PINGS // 2))])
        st = d1.status()
        self.assertEqual((st["height"], st["runQueueLength"], st["halted"]), (10, 0, None))
        byname = {v["name"]: v for v in st["vats"]}
        self.assertEqual(byname["carol"]["deliveries"], 1 + 1 + PINGS // 2)   # startVat, start, pings
        self.assertEqual(byname["dave"]["deliveries"], 1 + PINGS // 2)
        self.assertEqual(c1.ok("run"), dict(cranks=0, computrons=0, idle=True,
                                            activityHash=b1[-1][0], stopped="idle",
                                            halted=None))
        d1.stop()
        # a second, fresh state directory: the same hash after every block
        d2, c2 = self.start(self.VATS, {"logLevel": "info"}, sub="b")
        b2 = pingpong_blocks(self, d2, c2)
        self.assertEqual(b2, b1)
        self.assertEqual(d2.test_logs(), d1.test_logs())


class ControlOps(KernelTest):
    VATS = {"bootstrap": "bootstrap", "alice": "echo", "bob": "counter"}

    def test_queue_by_name_and_by_kref_and_promise_op(self):
        d, c = self.start(self.VATS)
        k1 = self.send(c, "echo", ["by name"], vat="alice")
        roots = root_krefs(c, ["alice", "bob"])
        self.assertTrue(all(r.startswith("ko") for r in roots.values()), roots)
        k2 = self.send(c, "echo", [["by kref", REF]], [roots["bob"]], target=roots["alice"])
        k3 = self.send(c, "incr", vat="bob")
        k4 = self.send(c, "incr", target=roots["bob"])
        self.assertEqual(len({k1, k2, k3, k4}), 4)
        for k in (k2, k3, k4):
            p = self.settle(c, k, "unresolved")
            self.assertEqual(p, {"kpid": k, "state": "unresolved", "decider": None, "data": None})
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, k1, "fulfilled")["data"], capdata("by name"))
        self.assertEqual(self.settle(c, k2, "fulfilled")["data"],
                         capdata(["by kref", REF], [roots["bob"]]))
        self.assertEqual(self.settle(c, k3, "fulfilled")["data"], capdata(1))
        self.assertEqual(self.settle(c, k4, "fulfilled")["data"], capdata(2))
        p = c.ok("promise", kpid=k4)
        self.assertEqual(sorted(p), ["data", "decider", "kpid", "state"])
        self.assertIsNone(p["decider"])
        # a fresh kpid each time
        self.assertNotIn(self.send(c, "get", vat="bob"), (k1, k2, k3, k4))

    def test_not_found(self):
        d, c = self.start(self.VATS)
        for fields in ({"vat": "nobody"}, {"target": "ko999"}, {"target": "kp999"}):
            r = c.call("queue", method="echo", args=capdata([]), **fields)
            self.assertFalse(r["ok"], (fields, r))
            self.assertEqual(r["error"]["code"], "not_found", (fields, r))
        r = c.call("promise", kpid="kp999")
        self.assertEqual(r["error"]["code"], "not_found", r)
        self.assertIn("kp999", r["error"]["message"])
        # every slot of the arguments must name something that exists
        # (issue 11 defect 6: kp99999 used to reach the vat as a promise)
        for slot in ("kp99999", "ko99999", "kd99999"):
            r = c.call("queue", vat="alice", method="echo",
                       args=capdata(["$0.Alleged: x"], [slot]))
            self.assertFalse(r["ok"], (slot, r))
            self.assertEqual(r["error"]["code"], "not_found", (slot, r))
            self.assertIn("args.slots[0]", r["error"]["message"])
            self.assertIn(slot, r["error"]["message"])
        # nothing was queued
        st = d.status()
        self.assertEqual(st["runQueueLength"], 0)
        self.assertEqual(c.ok("run")["cranks"], 0)

    def test_busy_while_a_run_is_in_progress(self):
        # bob's worker answers its ready handshake after 1.5 s, so the
        # first run (startVat of bob) is in progress at least that long.
        vats = dict(self.VATS, bob=("counter", {"readyDelayMs": 1500}))
        cfg = vats_config(self.tmp, {n: (v, {}) if isinstance(v, str) else v
                                     for n, v in vats.items()})
        d = self.daemon(cfg)
        runner = d.client()
        self.addCleanup(runner.close)
        t0 = time.time()
        runner.send_raw(json.dumps({"id": "r1", "op": "run"}).encode() + b"\n")
        time.sleep(0.3)
        c = d.client()
        self.addCleanup(c.close)
        st = c.ok("status")
        self.assertTrue(st["running"], st)
        for op, fields in (("queue", {"vat": "alice", "method": "echo"}),
                           ("run", {}), ("commit", {"height": 1})):
            r = c.call(op, **fields)
            self.assertFalse(r["ok"], (op, r))
            self.assertEqual(r["error"]["code"], "busy", (op, r))
        self.assertEqual(c.ok("promise", kpid="kp40")["kpid"], "kp40")
        r = runner.read_line()
        self.assertEqual(r["id"], "r1")
        self.assertTrue(r["ok"], r)
        self.assertGreaterEqual(time.time() - t0, 1.4)
        self.assertTrue(r["result"]["idle"], r)
        self.assertFalse(c.ok("status")["running"])
        self.assertEqual(self.settle(c, "kp40")["state"], "fulfilled")
        # and afterwards everything is accepted again
        k = self.send(c, "incr", vat="bob")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, k, "fulfilled")["data"], capdata(1))
        self.assertEqual(c.ok("commit", height=1)["height"], 1)


class Promises(KernelTest):
    VATS = {"bootstrap": "bootstrap", "alice": "echo", "bob": "counter",
            "p1": "promises", "p2": "promises"}

    def test_pipelined_send_to_a_result_promise(self):
        d, c = self.start(self.VATS)
        roots = root_krefs(c, ["bob"])
        k = self.send(c, "pipeline", [REF], [roots["bob"]], vat="p1")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, k, "fulfilled")["data"], capdata(1))
        logs = self.logs(d, "p1")
        self.assertEqual(len(logs), 2, logs)
        self.assertTrue(logs[0].startswith("makeCounter -> "), logs)
        self.assertIn("Alleged: counter", logs[0])
        self.assertEqual(logs[1], "incr -> 1")
        # a second pipeline gets a new counter
        k = self.send(c, "pipeline", [REF], [roots["bob"]], vat="p1")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, k, "fulfilled")["data"], capdata(1))
        self.assertEqual(self.logs(d, "p1")[3], "incr -> 1")

    def make_promise(self, c, d, vat):
        k = self.send(c, "makePromise", vat=vat)
        self.run_idle(c, d)
        [kp] = decode(self.settle(c, k, "fulfilled")["data"])
        self.assertTrue(kp.startswith("kp"), kp)
        p = self.settle(c, kp, "unresolved")
        self.assertEqual(p["decider"], self.vat_ids(d)[vat], p)
        return kp

    def test_promise_chain_fulfil_and_reject(self):
        d, c = self.start(self.VATS)
        roots = root_krefs(c, ["alice"])
        a = self.make_promise(c, d, "p1")
        b = self.make_promise(c, d, "p2")
        # b follows a; a message queued on b waits
        self.send(c, "resolveToPromise", ["&0"], [a], vat="p2")
        self.run_idle(c, d)
        self.settle(c, b, "unresolved")
        pend = self.send(c, "echo", [["through b", "&0"]], [b], target=roots["alice"])
        on_b = self.send(c, "hello", target=b)
        self.run_idle(c, d)
        self.settle(c, on_b, "unresolved")
        # a settles → b settles the same way; the queued send to b (now
        # data) rejects
        self.send(c, "resolveIt", ["done"], vat="p1")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, a, "fulfilled")["data"], capdata("done"))
        self.assertEqual(self.settle(c, b, "fulfilled")["data"], capdata("done"))
        self.assertEqual(self.settle(c, pend, "fulfilled")["data"],
                         capdata(["through b", "&0"], [b]))
        rej = self.settle(c, on_b, "rejected")
        self.assertIn("data is not callable, has no method hello", rej["data"]["body"])
        # the same chain, rejected
        a = self.make_promise(c, d, "p1")
        b = self.make_promise(c, d, "p2")
        self.send(c, "resolveToPromise", ["&0"], [a], vat="p2")
        on_b = self.send(c, "hello", target=b)
        self.run_idle(c, d)
        self.send(c, "rejectIt", ["nope"], vat="p1")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, a, "rejected")["data"], capdata("nope"))
        self.assertEqual(self.settle(c, b, "rejected")["data"], capdata("nope"))
        self.assertEqual(self.settle(c, on_b, "rejected")["data"], capdata("nope"))

    def test_forward(self):
        d, c = self.start(self.VATS)
        roots = root_krefs(c, ["alice", "p2"])
        k1 = self.send(c, "forward", [REF, "echo", ["x"]], [roots["alice"]], vat="p1")
        k2 = self.send(c, "forward", [REF, "fail", ["bad"]], [roots["alice"]], vat="p1")
        # two hops: p1 → p2.forward(alice, echo) → alice
        k3 = self.send(c, "forward", ["$0.Alleged: root", "forward",
                                      ["$1.Alleged: root", "echo", ["deep"]]],
                       [roots["p2"], roots["alice"]], vat="p1")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, k1, "fulfilled")["data"], capdata("x"))
        rej = self.settle(c, k2, "rejected")["data"]
        self.assertEqual(decode(rej), {"#error": "bad", "name": "Error"})
        self.assertEqual(self.settle(c, k3, "fulfilled")["data"], capdata("deep"))

    def test_resolve_to_object_releases_queued_sends(self):
        d, c = self.start(self.VATS)
        a = self.make_promise(c, d, "p1")
        # sent to an unresolved promise whose decider does not pipeline:
        # queued on the promise
        h = self.send(c, "hello", target=a)
        self.run_idle(c, d)
        self.settle(c, h, "unresolved")
        r = self.send(c, "resolveToObject", vat="p1")
        self.run_idle(c, d)
        thing = decode(self.settle(c, r, "fulfilled")["data"])
        self.assertTrue(thing.startswith("ko"), thing)
        pa = self.settle(c, a, "fulfilled")
        self.assertEqual(decode(pa["data"]), thing)
        self.assertIn("Alleged: thing", pa["data"]["body"])
        self.assertEqual(self.settle(c, h, "fulfilled")["data"], capdata("hello"))
        # after resolution: a send to the promise goes to the object
        n1 = self.send(c, "name", target=a)
        n2 = self.send(c, "hello", target=thing)
        self.run_idle(c, d)
        name = decode(self.settle(c, n1, "fulfilled")["data"])
        self.assertTrue(name.startswith("o+"), name)
        self.assertEqual(self.settle(c, n2, "fulfilled")["data"], capdata("hello"))


class HostTermination(KernelTest):
    """terminateVat, SwingSet's controller.terminateVat: a crank of the open
    block that terminates the vat; its consequences wait for the next run."""
    VATS = {"bootstrap": "bootstrap", "alice": "echo", "p1": "promises"}
    VT = {"#error": "vat terminated", "name": "Error"}

    def test_terminate_by_name_rejects_what_the_vat_decides(self):
        d, c = self.start(self.VATS)
        k = self.send(c, "makePromise", vat="p1")
        self.run_idle(c, d)
        [a] = decode(self.settle(c, k, "fulfilled")["data"])
        h = self.send(c, "hello", target=a)        # waits on a
        self.run_idle(c, d)
        self.settle(c, h, "unresolved")
        root = root_krefs(c, ["p1"])["p1"]
        before = d.status()
        reason = capdata({"#error": "operator says", "name": "Error"})
        self.assertEqual(c.ok("terminateVat", vat="p1", reason=reason), {"halted": None})
        st = d.status()
        self.assertEqual(d.vat("p1")["state"], "terminated")
        # the termination is a crank of the open block; a is rejected in
        # it, the message waiting on a is re-routed by the next run
        self.assertEqual(st["crankNumber"], before["crankNumber"] + 1)
        self.assertNotEqual(st["activityHash"], before["activityHash"])
        self.assertEqual(decode(self.settle(c, a, "rejected")["data"]), self.VT)
        self.settle(c, h, "unresolved")
        self.assertGreater(st["acceptanceQueueLength"], 0, st)
        self.run_idle(c, d)
        self.assertEqual(decode(self.settle(c, h, "rejected")["data"]), self.VT)
        m = self.send(c, "makePromise", target=root)
        self.run_idle(c, d)
        self.assertEqual(decode(self.settle(c, m, "rejected")["data"]), self.VT)
        e = self.send(c, "echo", ["still here"], vat="alice")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, e, "fulfilled")["data"], capdata("still here"))

    def test_refusals(self):
        d, c = self.start(self.VATS)
        ids = self.vat_ids(d)
        reason = capdata("bye")
        cases = [
            (dict(vat="nobody", reason=reason), "not_found", "no vat nobody"),
            (dict(vatID="v99", reason=reason), "not_found", "no vat v99"),
            (dict(vat="alice", vatID=ids["alice"], reason=reason),
             "bad_request", "give exactly one"),
            (dict(reason=reason), "bad_request", "give exactly one"),
            (dict(vatID="alice", reason=reason), "bad_request", "v<digits>"),
            (dict(vat="alice"), "bad_request", "field 'reason'"),
            (dict(vat="alice", reason={"body": "#[]", "slots": ["ko20"]}),
             "bad_request", "reason.slots"),
            (dict(vat="alice", reason={"body": "[]", "slots": []}),
             "bad_request", "reason.body"),
        ]
        for fields, code, text in cases:
            with self.subTest(fields=fields):
                r = c.call("terminateVat", **fields)
                self.assertFalse(r["ok"], r)
                self.assertEqual(r["error"]["code"], code, r)
                self.assertIn(text, r["error"]["message"], r)
        self.assertEqual(d.vat("alice")["state"], "ready")
        self.assertEqual(c.ok("terminateVat", vatID=ids["alice"], reason=reason), {"halted": None})
        r = c.call("terminateVat", vat="alice", reason=reason)
        self.assertEqual(r["error"]["code"], "not_found", r)
        self.assertIn("vat alice is already terminated", r["error"]["message"])
        self.assertIsNone(d.status()["halted"])

    def test_swingctl_terminate_and_the_hash_is_the_inputs(self):
        hashes = []
        for sub in ("a", "b"):
            d, c = self.start(self.VATS, sub=sub)
            k = self.send(c, "makePromise", vat="p1")
            self.run_idle(c, d)
            rc, out, err = swingctl("terminate", "--vat", "p1", "no more",
                                    sock=d.socket)
            self.assertEqual((rc, err), (0, ""), out)
            self.assertIn("terminated", out)
            [a] = decode(self.settle(c, k, "fulfilled")["data"])
            self.assertEqual(decode(self.settle(c, a, "rejected")["data"]), self.VT)
            rc, out, err = swingctl("terminate", "--id", "v99", sock=d.socket)
            self.assertEqual(rc, 1, (out, err))
            self.assertIn("no vat v99", err)
            rc, out, err = swingctl("terminate", sock=d.socket)
            self.assertEqual(rc, 64, (out, err))
            hashes.append(self.run_idle(c, d)["activityHash"])
            d.stop()
        self.assertEqual(hashes[0], hashes[1])

    def test_a_critical_vat_halts_the_kernel(self):
        vats = {"bootstrap": "bootstrap", "alice": "echo"}
        cfg = vats_config(self.tmp, {n: (b, {}) for n, b in vats.items()})
        cfg["vats"]["alice"]["creationOptions"] = {"critical": True}
        d = self.daemon(cfg)
        c = d.client()
        self.addCleanup(c.close)
        self.run_idle(c, d)
        r = c.ok("terminateVat", vat="alice", reason=capdata("bye"))
        self.assertIn("critical vat", r["halted"], r)
        self.assertIn("critical vat v2 failed", d.status()["halted"])
        r = c.call("commit", height=1)
        self.assertEqual(r["error"]["code"], "halted", r)


class Rejections(KernelTest):
    VATS = {"bootstrap": "bootstrap", "alice": "echo", "ex": "exit"}

    def test_send_to_a_terminated_vats_object(self):
        d, c = self.start(self.VATS)
        roots = root_krefs(c, ["ex"])
        k = self.send(c, "exitNow", [False, "bye"], vat="ex")
        self.run_idle(c, d)
        self.assertEqual(d.vat("ex")["state"], "terminated")
        k2 = self.send(c, "exitNow", [False, "again"], target=roots["ex"])
        # by name: refused as unknown, or queued and rejected the same way
        byname = c.call("queue", vat="ex", method="exitNow", args=capdata([False, "x"]))
        if not byname["ok"]:
            self.assertEqual(byname["error"]["code"], "not_found", byname)
        self.run_idle(c, d)
        vt = {"#error": "vat terminated", "name": "Error"}
        p = self.settle(c, k2, "rejected")
        self.assertEqual(decode(p["data"]), vt)
        if byname["ok"]:
            p = self.settle(c, byname["result"]["kpid"], "rejected")
            self.assertEqual(decode(p["data"]), vt)
        self.assertEqual(self.settle(c, k)["state"], "fulfilled")

    def test_send_to_a_promise_resolved_to_data(self):
        d, c = self.start(self.VATS)
        e = self.send(c, "echo", [5], vat="alice")
        self.run_idle(c, d)
        self.settle(c, e, "fulfilled")
        k = self.send(c, "frob", [1], target=e)
        self.run_idle(c, d)
        p = self.settle(c, k, "rejected")
        self.assertEqual(decode(p["data"]),
                         {"#error": "data is not callable, has no method frob",
                          "name": "Error"})

    def test_send_to_a_rejected_promise(self):
        d, c = self.start(self.VATS)
        f = self.send(c, "fail", ["boom"], vat="alice")
        self.run_idle(c, d)
        reason = self.settle(c, f, "rejected")["data"]
        k = self.send(c, "echo", ["x"], target=f)
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, k, "rejected")["data"], reason)

    def test_method_that_throws(self):
        d, c = self.start(self.VATS)
        f = self.send(c, "fail", ["boom"], vat="alice")
        u = self.send(c, "noSuchMethod", vat="alice")
        self.run_idle(c, d)
        self.assertEqual(decode(self.settle(c, f, "rejected")["data"]),
                         {"#error": "boom", "name": "Error"})
        err = decode(self.settle(c, u, "rejected")["data"])
        self.assertEqual(err.get("name"), "Error", err)
        self.assertIn("noSuchMethod", err.get("#error", ""), err)
        self.assertEqual(d.vat("alice")["state"], "ready")

    def test_promises_of_a_dying_decider_are_rejected(self):
        # With a compute limit (-l) a looping method is a deterministic
        # vat fault (exit 17): the vat is terminated, and the promise it
        # decided, and the message queued on that promise, are rejected.
        vats = {"bootstrap": ("bootstrap", {}), "alice": ("echo", {}),
                "p1": ("promises", {"loopOn": "rejectIt"})}
        cfg = vats_config(self.tmp, vats)
        cfg["daemon"]["workers"]["testworker"] += ["-l", "2000000"]
        d = self.daemon(cfg)
        c = d.client()
        self.addCleanup(c.close)
        self.run_idle(c, d)
        k = self.send(c, "makePromise", vat="p1")
        self.run_idle(c, d)
        [a] = decode(self.settle(c, k, "fulfilled")["data"])
        self.assertEqual(self.settle(c, a, "unresolved")["decider"], self.vat_ids(d)["p1"])
        h = self.send(c, "hello", target=a)
        self.run_idle(c, d)
        self.settle(c, h, "unresolved")
        r = self.send(c, "rejectIt", ["x"], vat="p1")
        self.run_idle(c, d)
        self.assertEqual(d.vat("p1")["state"], "terminated", d.log()[-3000:])
        vt = {"#error": "vat terminated", "name": "Error"}
        self.assertEqual(decode(self.settle(c, a, "rejected")["data"]), vt)
        self.assertEqual(decode(self.settle(c, h, "rejected")["data"]), vt)
        self.assertEqual(self.settle(c, r)["state"], "rejected")
        self.assertIsNone(d.status()["halted"])
        e = self.send(c, "echo", ["still here"], vat="alice")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, e, "fulfilled")["data"], capdata("still here"))


ILLEGAL = ["useUnknownImport", "forgedKref", "wrongDirection", "resolveImported",
           "badVatstore", "unknownSyscall", "reuseResult"]


class IllegalSyscalls(KernelTest):
    def test_each_illegal_syscall_terminates_only_that_vat(self):
        vats = {"bootstrap": "bootstrap", "alice": "echo", "p1": "promises"}
        vats.update({"ill-" + m: "illegal" for m in ILLEGAL})
        d, c = self.start(vats)
        roots = root_krefs(c, ["ill-" + m for m in ILLEGAL])
        # a promise p1 decides, which ill-resolveImported tries to steal
        k = self.send(c, "makePromise", vat="p1")
        self.run_idle(c, d)
        [a] = decode(self.settle(c, k, "fulfilled")["data"])
        results = {}
        for m in ILLEGAL:
            args, slots = (["&0"], [a]) if m == "resolveImported" else ([], [])
            results[m] = self.send(c, m, args, slots, vat="ill-" + m)
        r = self.run_idle(c, d)
        self.assertIsNone(r["halted"])
        ids = self.vat_ids(d)
        vt = {"#error": "vat terminated", "name": "Error"}
        for m in ILLEGAL:
            with self.subTest(syscall=m):
                self.assertEqual(d.vat("ill-" + m)["state"], "terminated",
                                 "\n".join(l for l in d.log().splitlines()
                                           if ids["ill-" + m] in l))
                self.assertIn("%s: illegal syscall" % ids["ill-" + m], d.log())
                self.assertEqual(len(self.logs(d, "ill-" + m)), 1)
                self.assertTrue(self.logs(d, "ill-" + m)[0].startswith(m + ': ["error",'),
                                self.logs(d, "ill-" + m))
                # the call's result, decided by the dying vat, is rejected
                self.assertEqual(decode(self.settle(c, results[m], "rejected")["data"]), vt)
        # the stolen promise is untouched: still p1's
        self.assertEqual(self.settle(c, a, "unresolved")["decider"], ids["p1"])
        # sends to the dead vats' objects are rejected
        later = {m: self.send(c, m, target=roots["ill-" + m]) for m in ILLEGAL}
        e = self.send(c, "echo", ["alive"], vat="alice")
        self.send(c, "resolveIt", ["mine"], vat="p1")
        self.run_idle(c, d)
        for m in ILLEGAL:
            with self.subTest(after=m):
                self.assertEqual(decode(self.settle(c, later[m], "rejected")["data"]), vt)
        self.assertEqual(self.settle(c, e, "fulfilled")["data"], capdata("alive"))
        self.assertEqual(self.settle(c, a, "fulfilled")["data"], capdata("mine"))
        st = d.status()
        self.assertIsNone(st["halted"])
        for v in st["vats"]:
            if not v["name"].startswith("ill-"):
                self.assertEqual(v["state"], "ready", v)
        self.assertEqual(c.ok("commit", height=1)["height"], 1)


class Exit(KernelTest):
    def test_exit_success_and_failure(self):
        d, c = self.start({"bootstrap": "bootstrap", "alice": "echo",
                           "ok": "exit", "bad": "exit"})
        k1 = self.send(c, "exitNow", [False, "bye"], vat="ok")
        k2 = self.send(c, "exitNow", [True, "oops"], vat="bad")
        self.run_idle(c, d)
        self.assertEqual(d.vat("ok")["state"], "terminated")
        self.assertEqual(d.vat("bad")["state"], "terminated")
        # exit(false): the crank is committed, so the method's answer stands
        self.assertEqual(self.settle(c, k1, "fulfilled")["data"], capdata("exiting"))
        # exit(true): the crank is aborted; the message splats
        self.assertEqual(decode(self.settle(c, k2, "rejected")["data"]),
                         {"#error": "vat terminated", "name": "Error"})
        st = d.status()
        self.assertIsNone(st["halted"])
        e = self.send(c, "echo", [1], vat="alice")
        self.run_idle(c, d)
        self.assertEqual(self.settle(c, e, "fulfilled")["data"], capdata(1))


class MachineFaults(KernelTest):
    def halts(self, options, method):
        vats = {"bootstrap": "bootstrap", "alice": "echo", "bob": ("counter", options)}
        d, c = self.start(vats, {"deliveryTimeoutMs": 500, "maxRetries": 1})
        ok = self.send(c, "echo", ["before"], vat="alice")
        self.run_idle(c, d)
        self.settle(c, ok, "fulfilled")
        k = self.send(c, method, vat="bob")
        t0 = time.time()
        r = c.ok("run")
        elapsed = time.time() - t0
        self.assertEqual(r["stopped"], "halted", r)
        self.assertFalse(r["idle"], r)
        self.assertIsInstance(r["halted"], str, r)
        bob = self.vat_ids(d)["bob"]
        self.assertIn(bob, r["halted"])
        st = d.status()
        self.assertEqual(st["halted"], r["halted"])
        self.assertFalse(st["running"])
        # the crank never committed: the message is not answered
        self.settle(c, k, "unresolved")
        # a halted kernel stays halted
        r2 = c.ok("run")
        self.assertEqual((r2["stopped"], r2["cranks"]), ("halted", 0), r2)
        self.assertTrue(d.alive())
        return d, r, elapsed

    def test_hung_delivery_is_retried_then_halts(self):
        d, r, elapsed = self.halts({"loopOn": "incr"}, "incr")
        # two attempts of 500 ms each
        self.assertGreaterEqual(elapsed, 1.0, r)
        self.assertEqual(d.log().count("retry 1 of 1"), 1, d.log()[-3000:])

    def test_halted_kernel_refuses_queue_and_commit(self):
        # A halted kernel "never guesses": the open block holds an aborted
        # crank's unfinished work, so it must not be committed (a healthy
        # node would have run that message), nor take new messages.  The
        # README lists the error code `halted` for this.
        d, r, _ = self.halts({"abortOn": "incr"}, "incr")
        c = d.client()
        self.addCleanup(c.close)
        before = d.status()
        for op, fields in (("queue", {"vat": "alice", "method": "echo",
                                      "args": capdata(["after"])}),
                           ("commit", {"height": 1})):
            with self.subTest(op=op):
                resp = c.call(op, **fields)
                self.assertFalse(resp["ok"], (op, resp))
                self.assertEqual(resp["error"]["code"], "halted", (op, resp))
        after = d.status()
        self.assertEqual((after["height"], after["activityHash"]),
                         (before["height"], before["activityHash"]))
        # status and promise still answer
        self.assertEqual(c.ok("promise", kpid="kp40")["state"], "fulfilled")
        self.assertEqual(after["halted"], r["halted"])

    def test_abort_is_retried_then_halts(self):
        d, r, elapsed = self.halts({"abortOn": "incr"}, "incr")
        self.assertEqual(d.log().count("retry 1 of 1"), 1, d.log()[-3000:])


if __name__ == "__main__":
    main()
