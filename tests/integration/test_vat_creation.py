"""test_vat_creation.py — deterministic dynamic vat creation (issue 4).

Vats ask the vat-admin vat to create vats; the kernel queues each creation
and runs it as a pseudo-crank.  The test worker delays every vat's ready
handshake by a seeded random time given on its command line (-D), which
is not part of any bundle or state: runs that differ only in that seed
must commit identical state.  What each pseudo-crank did is read from the
kernel's crank log ("vN: created in crank C (startVat: S syscalls, W
vatstore writes)") and from the vat-admin vat's testLog of its callbacks.
"""
import json
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (TESTWORKER, Daemon, DaemonTest, capdata,  # noqa: E402
                     default_config, main, testworker_bundle)

KIDS = 8
WRITES = 50
SEEDS = 20
MAX_DELAY_MS = 500
GHOST = "b0-" + "0" * 64           # a bundle ID nobody installed
CREATED = re.compile(r"kernel: (v\d+): created in crank (\d+) \(startVat: "
                     r"(\d+) syscalls, (\d+) vatstore writes\)")


def kid_steps(names, bundle="@kid", options=None):
    """Bootstrap script steps creating a vat from bundle for each name
    (the vat's name option too)."""
    return [{"createVat": bundle, "name": n, "log": True,
             "options": dict({"name": n}, **(options or {}))} for n in names]


def config(tmp, script, bundles, seed=None, parallel=True):
    cfg = default_config(tmp, {
        "bootstrap": testworker_bundle("bootstrap", script=script,
                                       parallel=parallel),
        "vatAdmin": testworker_bundle("vatAdmin")})
    cfg["bundles"] = {n: {"bundle": b} for n, b in bundles.items()}
    cfg["daemon"]["logLevel"] = "info"
    if seed is not None:
        cfg["daemon"]["workers"] = {
            "testworker": [TESTWORKER, "-D", "%d:%d" % (seed, MAX_DELAY_MS)]}
    return cfg


def outcome(d):
    """What a run committed, and what its logs say about creation."""
    st = d.status()
    log = d.log()
    return {
        "hash": st["activityHash"],
        "cranks": st["crankNumber"],
        "vats": [(v["vatID"], v["name"], v["state"], v["deliveries"])
                 for v in st["vats"]],
        "created": [(m.group(1), int(m.group(2)), int(m.group(3)),
                     int(m.group(4))) for m in CREATED.finditer(log)],
        "callbacks": [t for v, t in d.test_logs() if t.startswith("vatAdmin:")],
        "bootstrap": [t for v, t in d.test_logs("v1")],
    }


class Creation(DaemonTest):
    def run_scenario(self, name, script, bundles, seed=None, parallel=True,
                     after=None):
        """Boot, run to idle, commit block 1; then `after(d)` if given.
        Returns outcome() and the stopped daemon."""
        tmp = os.path.join(self.tmp, name)
        os.makedirs(tmp)
        d = Daemon(tmp, config(tmp, script, bundles, seed, parallel))
        self.daemons.append(d)
        d.start()
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        self.assertIsNone(r["halted"], d.log()[-3000:])
        d.ok("commit", height=1)
        if after is not None:
            after(d)
        out = outcome(d)
        d.stop()
        return out, d


class EightChildren(Creation):
    """Bootstrap creates 8 vats in one crank; each child writes 50 vatstore
    entries in startVat; 20 seeds of 0-500 ms boot delays."""

    def scenario(self, seed):
        return self.run_scenario(
            "seed%d" % seed, kid_steps(["k%d" % i for i in range(KIDS)]),
            {"kid": testworker_bundle("counter", startWrites=WRITES)},
            seed=seed)[0]

    def test_twenty_seeds_same_order_same_hash(self):
        with ThreadPoolExecutor(max_workers=5) as pool:
            results = list(pool.map(self.scenario, range(1, SEEDS + 1)))
        first = results[0]
        kids = ["v%d" % i for i in range(3, 3 + KIDS)]
        # each child was created in a pseudo-crank of its own, in ID
        # order, its 50 vatstore writes inside that crank
        self.assertEqual([c[0] for c in first["created"]], kids)
        # vatAdmin takes one createVat message per crank; the creation it
        # queues runs as soon as the one event that delivery queued is
        # routed (a routing crank), before the next run-queue item: three
        # cranks per child since state version 3, two before
        cranks = [c[1] for c in first["created"]]
        self.assertEqual(cranks, list(range(cranks[0], cranks[0] + 3 * KIDS,
                                            3)))
        for vat, crank, syscalls, writes in first["created"]:
            self.assertEqual(writes, WRITES, vat)
            self.assertEqual(syscalls, WRITES, vat)
        self.assertEqual(first["callbacks"],
                         ["vatAdmin: newVatCallback %s rootObject" % v
                          for v in kids])
        self.assertEqual(len(first["bootstrap"]), KIDS)
        for v in first["vats"][2:]:
            self.assertEqual(v[2:], ("ready", 1), v)
        for seed, r in enumerate(results[1:], 2):
            self.assertEqual(r, first, "seed %d differs" % seed)


class Grandchild(Creation):
    """A child that creates a grandchild during its own startVat: the
    grandchild comes after the vats already queued."""

    def scenario(self, seed):
        params = {"vatParameters": {"vatAdminService": "@vatAdminService"}}
        script = (kid_steps(["maker"], "@maker", params) +
                  kid_steps(["k1", "k2"]))
        bundles = {
            "kid": testworker_bundle("counter", startWrites=3),
            "maker": testworker_bundle("counter", startWrites=2,
                                       createOnStart=[{"name": "kid"}])}
        return self.run_scenario("g%d" % seed, script, bundles, seed)[0]

    def test_grandchild_after_queued_vats(self):
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(self.scenario, (11, 12, 13, 14)))
        first = results[0]
        self.assertEqual([c[0] for c in first["created"]],
                         ["v3", "v4", "v5", "v6"])
        crank = {c[0]: c[1] for c in first["created"]}
        self.assertTrue(crank["v3"] < crank["v4"] < crank["v5"] < crank["v6"])
        # maker's startVat: 2 vatstore writes, then createVatByName's send
        # and subscribe, all inside its pseudo-crank
        self.assertEqual(first["created"][0][2:], (4, 2))
        self.assertEqual(first["created"][3][2:], (3, 3))
        # the bootstrap heard of k1 and k2 before maker's grandchild was
        # even requested: maker's request reached vatAdmin after theirs
        self.assertEqual(first["callbacks"], [
            "vatAdmin: newVatCallback v%d rootObject" % i for i in range(3, 7)])
        for r in results[1:]:
            self.assertEqual(r, first)


class Failures(Creation):
    """Each failure path rejects the creator's promise with a reason; the
    other creations of the batch still succeed, in order."""

    SCRIPT = (kid_steps(["good0"]) +
              kid_steps(["ghost"], GHOST) +
              kid_steps(["broken"], "@broken") +
              kid_steps(["badopt"], options={"bogus": 1}) +
              kid_steps(["illegal"], "@illegal") +
              kid_steps(["good1"]))
    BUNDLES = {
        "kid": testworker_bundle("counter", startWrites=1),
        # createOnStart without a vatAdminService: startVat throws
        "broken": testworker_bundle("counter", createOnStart=[{"name": "kid"}]),
        # a bundle naming no behaviour: the worker refuses it at startVat
        "illegal": {"moduleFormat": "testworker", "vat": "no-such-vat"},
    }

    def test_failures_reject_with_reason_others_succeed(self):
        out, d = self.run_scenario("fail", self.SCRIPT, self.BUNDLES, seed=3)
        boot = out["bootstrap"]
        by_name = {}
        for line in boot:
            m = re.match(r"createVat (\S+) -> (.*)$", line)
            self.assertIsNotNone(m, line)
            by_name[m.group(1)] = m.group(2)
        self.assertEqual(set(by_name), {"good0", "ghost", "broken", "badopt",
                                        "illegal", "good1"})
        self.assertTrue(by_name["good0"].startswith('{"adminNode"'))
        self.assertTrue(by_name["good1"].startswith('{"adminNode"'))
        self.assertIn("rejected:", by_name["ghost"])
        self.assertIn("Vat Creation Error", by_name["ghost"])
        self.assertIn("is not installed", by_name["ghost"])
        self.assertIn("Vat Creation Error", by_name["broken"])
        self.assertIn("rejected:", by_name["illegal"])
        self.assertIn("option 'bogus' is not a known option", by_name["badopt"])
        # badopt was refused by the device: no vat ID for it.  The others
        # got v3..v7 in request order; the good ones were created, in order
        created = [c[0] for c in out["created"]]
        self.assertEqual(created, ["v3", "v7"])
        states = {v[0]: v[2] for v in out["vats"]}
        self.assertEqual(states, {"v1": "ready", "v2": "ready",
                                  "v3": "ready", "v4": "terminated",
                                  "v5": "terminated", "v6": "terminated",
                                  "v7": "ready"})
        self.assertEqual(out["callbacks"], [
            "vatAdmin: newVatCallback v3 rootObject",
            "vatAdmin: vatTerminated v4 reject",
            "vatAdmin: vatTerminated v5 reject",
            "vatAdmin: vatTerminated v6 reject",
            "vatAdmin: newVatCallback v7 rootObject"])
        # the same with other boot timings
        again, _ = self.run_scenario("fail2", self.SCRIPT, self.BUNDLES, seed=4)
        self.assertEqual(again, out)
        # a restart loads the dynamic vats, live and terminated
        d.start()
        st = d.status()
        self.assertEqual({v["vatID"]: v["state"] for v in st["vats"]},
                         dict(states, v1="offline", v2="offline",
                              v3="offline", v7="offline"))
        # ... and rebuilds them by replay (good0's startVat included)
        kpid = d.ok("queue", vat="bootstrap", method="run", args=capdata([[
            {"send": "@child:good0", "method": "incr", "log": True}]]))
        r = d.ok("run")
        self.assertIsNone(r["halted"], d.log()[-2000:])
        self.assertEqual(d.ok("promise", kpid=kpid["kpid"])["state"],
                         "fulfilled")
        self.assertEqual(outcome(d)["bootstrap"][-1], "child:good0.incr -> 1")
        self.assertIn("v3: replayed 1 deliveries", d.log())
        d.stop()

    def test_terminate_with_failure(self):
        script = kid_steps(["k0", "k1"]) + [
            {"send": "@admin:k0", "method": "terminateWithFailure",
             "args": ["bye"], "log": True},
            {"send": "@admin:k0", "method": "done", "log": True},
            {"send": "@child:k0", "method": "incr", "log": True},
            {"send": "@child:k1", "method": "incr", "log": True}]
        out, _ = self.run_scenario(
            "twf", script, {"kid": testworker_bundle("counter")},
            parallel=False)
        self.assertEqual(out["bootstrap"][2:], [
            'admin:k0.terminateWithFailure -> "#undefined"',
            'admin:k0.done -> rejected: "bye"',
            'child:k0.incr -> rejected: {"#error":"vat terminated",'
            '"name":"Error"}',
            "child:k1.incr -> 1"])
        self.assertIn("vatAdmin: vatTerminated v3 reject", out["callbacks"])
        states = {v[0]: v[2] for v in out["vats"]}
        self.assertEqual(states["v3"], "terminated")
        self.assertEqual(states["v4"], "ready")


class Running(Creation):
    """run and status while vats are being created."""

    def test_status_while_creating_and_run_not_idle(self):
        tmp = os.path.join(self.tmp, "status")
        os.makedirs(tmp)
        bundles = {"slow": testworker_bundle("counter", readyDelayMs=300)}
        d = Daemon(tmp, config(tmp, kid_steps(["s0", "s1", "s2"], "@slow"),
                               bundles))
        self.daemons.append(d)
        d.start()
        c = d.client()
        c.send_raw(json.dumps({"id": 1, "op": "run"}).encode() + b"\n")
        creating = set()
        deadline = time.time() + 20
        started = False
        while time.time() < deadline:
            st = d.status()
            started = started or st["running"]
            for v in st["vats"]:
                if v["state"] == "creating":
                    self.assertTrue(st["running"])
                    self.assertIsNotNone(v["pid"])
                    creating.add(v["vatID"])
            if started and not st["running"]:
                break
            time.sleep(0.02)
        r = c.read_line()
        c.close()
        self.assertTrue(r["ok"] and r["result"]["idle"], r)
        # status answered while each vat waited on its handshake
        self.assertEqual(creating, {"v3", "v4", "v5"})
        st = d.status()
        self.assertEqual(st["creationQueueLength"], 0)
        self.assertEqual(st["daemon"]["creation"]["created"], 3)
        # the creations waited ~300 ms each on the handshake
        self.assertGreater(st["daemon"]["creation"]["bootWaitUs"], 3 * 250000)

    def test_budget_stops_between_creations_not_idle(self):
        tmp = os.path.join(self.tmp, "budget")
        os.makedirs(tmp)
        d = Daemon(tmp, config(tmp, kid_steps(["a", "b", "c"]),
                               {"kid": testworker_bundle("counter")}))
        self.daemons.append(d)
        d.start()
        # run crank by crank: whenever vats wait to be created, the run
        # must not say idle
        waited = []
        for _ in range(200):
            r = d.ok("run", budget={"cranks": 1})
            st = d.status()
            if st["creationQueueLength"] > 0:
                self.assertFalse(r["idle"], r)
                waited.append([(v["vatID"], v["name"], v["pid"]) for v in
                               st["vats"] if v["state"] == "queued"])
            if r["idle"]:
                break
        self.assertTrue(r["idle"])
        # each creation waited once in the queue, listed as "queued"
        self.assertEqual(waited, [[("v3", "a", None)], [("v4", "b", None)],
                                  [("v5", "c", None)]])
        self.assertEqual([v["state"] for v in d.status()["vats"]][2:],
                         ["ready"] * 3)

    def test_worker_killed_during_boot_is_retried(self):
        tmp = os.path.join(self.tmp, "kill")
        os.makedirs(tmp)
        bundles = {"slow": testworker_bundle("counter", readyDelayMs=400,
                                             startWrites=5)}
        d = Daemon(tmp, config(tmp, kid_steps(["s0", "s1"], "@slow"),
                               bundles))
        self.daemons.append(d)
        d.start()
        c = d.client()
        c.send_raw(json.dumps({"id": 1, "op": "run"}).encode() + b"\n")
        killed = None
        deadline = time.time() + 20
        while killed is None and time.time() < deadline:
            for v in d.status()["vats"]:
                if v["state"] == "creating" and v["pid"]:
                    os.kill(v["pid"], signal.SIGKILL)
                    killed = v["vatID"]
                    break
            time.sleep(0.01)
        r = c.read_line()
        c.close()
        self.assertIsNotNone(killed)
        self.assertTrue(r["ok"] and r["result"]["idle"], r)
        self.assertIsNone(r["result"]["halted"])
        self.assertIn("machine fault", d.log())
        out = outcome(d)
        self.assertEqual([x[0] for x in out["created"]], ["v3", "v4"])
        self.assertEqual([x[3] for x in out["created"]], [5, 5])


if __name__ == "__main__":
    main()
