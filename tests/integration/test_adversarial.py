"""test_adversarial.py — what a misbehaving vat (a scripted fake worker)
can do to the kernel: each bad syscall terminates that vat only; the
kernel does not halt, other vats carry on, and the block commits.  And a
worker that fails while being rebuilt is this machine's fault: the kernel
halts rather than terminate a vat that had done nothing wrong."""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DaemonTest, default_config, kv_table, main  # noqa: E402

FAKE = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "fakeworker.py")]


def fake(**options):
    return {"moduleFormat": "testworker", "vat": "fake", "options": options}


class BadVats(DaemonTest):
    def start_with(self, victim_options):
        cfg = default_config(self.tmp, {"bootstrap": fake(),
                                        "victim": fake(**victim_options),
                                        "other": fake()})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        cfg["daemon"]["maxRetries"] = 1
        return self.daemon(cfg)

    def assert_only_victim_died(self, d):
        r = d.ok("run")
        self.assertEqual(r["stopped"], "idle", r)
        st = d.status()
        self.assertIsNone(st["halted"])
        states = {v["name"]: v["state"] for v in st["vats"]}
        self.assertEqual(states["victim"], "terminated", st["vats"])
        self.assertNotEqual(states["other"], "terminated")
        d.ok("queue", vat="other", method="m")
        self.assertEqual(d.ok("run")["stopped"], "idle")
        self.assertEqual(d.ok("commit", height=1)["height"], 1)
        return d.log()

    def test_vatstore_key_too_long(self):
        d = self.start_with({"syscalls": [["vatstoreSet", "k" * 600, "1"]]})
        self.assertIn("key longer than", self.assert_only_victim_died(d))

    def test_illegal_syscall_wins_over_the_delivery_error(self):
        # kernel-semantics §10.1: the first cause that matches, in
        # SwingSet's order — an illegal syscall before a delivery error
        d = self.start_with({"syscalls": [["frobnicate"]],
                             "result": ["error", "boom", None]})
        log = self.assert_only_victim_died(d)
        self.assertRegex(log, r"v\d+: terminated: .*frobnicate")
        self.assertNotIn("terminated: boom", log)

    def test_long_chain_of_settled_promises_is_walked_without_recursion(self):
        # issue 11 defect 1: a notify gathers every settled promise its
        # data mentions; a chain 200,000 long used to overflow the
        # daemon's 8 MiB stack (SIGSEGV on every node, again on replay).
        # The daemon runs here with a 1 MiB stack and a chain of 40,000,
        # which overflowed it the same way and is quicker to build.
        cfg = default_config(self.tmp, {"bootstrap": fake(),
                                        "victim": fake(on="message",
                                                       chain=40000),
                                        "other": fake(on="message",
                                                      subscribe_arg=True)})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        d = self.daemon(cfg, start=False)
        d.stack_bytes = 1 << 20
        d.start()
        d.ok("run")
        kp = d.ok("queue", vat="victim", method="m",
                  args={"body": "#[]", "slots": []})["kpid"]
        d.ok("queue", vat="other", method="n",
             args={"body": '#["&0"]', "slots": [kp]})
        r = d.ok("run")
        self.assertEqual(r["stopped"], "idle", r)
        self.assertTrue(d.alive())
        st = d.status()
        self.assertIsNone(st["halted"])
        self.assertEqual(sorted(v["state"] for v in st["vats"]),
                         ["ready"] * 3, st["vats"])
        self.assertEqual(d.ok("commit", height=1)["height"], 1)

    def test_oversized_syscall_terminates_only_that_vat(self):
        # issue 11 defect 11: what a vat's code sends is its own doing, so
        # a frame over maxFrame terminates that vat (it used to be retried
        # as a machine fault and then halt the kernel); the limit is
        # consensus, recorded at first start
        hashes = []
        for run in range(2):
            with self.subTest(run=run):
                self.tearDown()
                self.setUp()
                cfg = default_config(self.tmp, {
                    "bootstrap": fake(), "victim": fake(big_set=200000),
                    "other": fake()})
                cfg["daemon"]["workers"] = {"testworker": FAKE}
                cfg["daemon"]["maxFrame"] = 100000
                d = self.daemon(cfg)
                log = self.assert_only_victim_died(d)
                self.assertIn("maxFrame limit of 100000 bytes", log)
                hashes.append(d.status()["activityHash"])
                d.stop()
                cfg["daemon"]["maxFrame"] = 200000
                other = self.other_daemon(cfg, "changed", 78)
                self.assertIn("kernel.maxFrame", other.log())
        self.assertEqual(hashes[0], hashes[1])

    def test_malformed_syscall_content(self):
        for sc in ("5", '"send"', "[]", '["vatstoreGet"]'):
            with self.subTest(sc=sc):
                self.tearDown()
                self.setUp()
                d = self.start_with({"syscalls": [sc]})
                self.assert_only_victim_died(d)

    def test_resolve_same_promise_twice(self):
        body = {"body": "#1", "slots": []}
        d = self.start_with({"syscalls": [
            ["resolve", [["p+5", False, body], ["p+5", True, body]]]]})
        self.assertIn("listed twice", self.assert_only_victim_died(d))

    def test_send_result_not_new(self):
        ma = {"body": "#[\"m\",[]]", "slots": []}
        d = self.start_with({"syscalls": [
            ["send", "o+0", {"methargs": ma, "result": "p+5"}],
            ["send", "o+0", {"methargs": ma, "result": "p+5"}]]})
        self.assertIn("not a new promise", self.assert_only_victim_died(d))

    def test_gc_syscalls_check_vref_kinds(self):
        for sc in (["dropImports", ["o+0"]], ["dropImports", ["ko20"]],
                   ["retireExports", ["o-50"]]):
            with self.subTest(sc=sc):
                self.tearDown()
                self.setUp()
                d = self.start_with({"syscalls": [sc]})
                self.assert_only_victim_died(d)

    def test_gc_syscalls_check_the_clist(self):
        # kernel-semantics §9.5: each vref in the c-list, in the state
        # the syscall needs (the root o+0 is exported and reachable)
        for sc, why in ((["dropImports", ["o-50"]], "is not in its c-list"),
                        (["retireImports", ["o-50"]], "is not in its c-list"),
                        (["abandonExports", ["o+7"]], "is not in its c-list"),
                        (["retireExports", ["o+0"]], "is still reachable")):
            with self.subTest(sc=sc):
                self.tearDown()
                self.setUp()
                d = self.start_with({"syscalls": [sc]})
                self.assertIn("%s: %s %s" % (sc[0], sc[1][0], why),
                              self.assert_only_victim_died(d))

    def test_abandoned_root_is_ownerless(self):
        # abandonExports of its own root is legal: the vat lives on, and
        # the object (still imported by the bootstrap vat) has no owner
        # nor an entry in the vat's c-list: the host cannot reach it
        d = self.start_with({"syscalls": [["abandonExports", ["o+0"]]]})
        self.assertEqual(d.ok("run")["stopped"], "idle")
        states = {v["name"]: v["state"] for v in d.status()["vats"]}
        self.assertNotEqual(states["victim"], "terminated")
        r = d.call("queue", vat="victim", method="m")
        self.assertEqual(r["error"]["code"], "not_found", r)
        self.assertIn("abandonExports", r["error"]["message"])
        d.ok("commit", height=1)
        kv = kv_table(d.config["daemon"]["stateDir"],
                      r"^(ko\d+\.(owner|refCount)|v\d+\.c\.o\+0)$")
        vid = next(v["vatID"] for v in d.status()["vats"]
                   if v["name"] == "victim")
        self.assertNotIn(vid + ".c.o+0", kv)
        ownerless = [k for k in kv if k.endswith(".refCount") and
                     k.replace("refCount", "owner") not in kv]
        self.assertTrue(ownerless, kv)


class Vatstore(DaemonTest):
    def test_nul_in_key_and_value_round_trips(self):
        cfg = default_config(self.tmp, {"bootstrap": fake(), "victim": fake(
            syscalls=['["vatstoreSet","a\\u0000b","x\\u0000y"]',
                      '["vatstoreGet","a\\u0000b"]'])})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        d = self.daemon(cfg)
        self.assertEqual(d.ok("run")["stopped"], "idle")
        st = d.status()
        self.assertIsNone(st["halted"])
        self.assertEqual({v["name"]: v["state"] for v in st["vats"]}["victim"],
                         "ready")
        d.stop()
        self.assertIn('answer ["ok","x\\u0000y"]', d.log())

    def test_nul_survives_the_transcript_and_the_run_queue(self):
        # issue 11 defect 2: every JSON the kernel writes reads back.  The
        # NUL used to make the transcript entry unreadable (the rebuilt
        # worker's replay halted the kernel) and the run-queue item
        # unreadable (every later run answered store_error).
        send = ('["send","o+0",{"methargs":{"body":"#[\\"hi\\u0000\\",[]]",'
                '"slots":[]},"result":null}]')
        cfg = default_config(self.tmp, {"bootstrap": fake(), "victim": fake(
            syscalls=['["vatstoreSet","a\\u0000b","x\\u0000y"]', send],
            log_deliveries=True)})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        d = self.daemon(cfg)
        r = d.ok("run")
        self.assertEqual(r["stopped"], "idle", r)
        d.ok("commit", height=1)
        d.stop()                    # the workers' stderr is all logged
        self.assertIn('delivery ["message", "o+0", {"methargs": {"body": '
                      '"#[\\"hi\\u0000\\",[]]"', d.log())
        d.start()                   # the victim's worker is rebuilt
        d.ok("queue", vat="victim", method="again")
        r = d.ok("run")
        self.assertEqual(r["stopped"], "idle", r)
        self.assertIsNone(d.status()["halted"])
        self.assertEqual(d.ok("commit", height=2)["height"], 2)


class StoreFull(DaemonTest):
    """issue 11 defect 4: a crank that cannot be written (the map at
    maxMapSize) halts the kernel: the open block cannot be committed, so
    no node commits a block that lacks a crank the others have."""

    def config(self, max_map):
        cfg = default_config(self.tmp, {"bootstrap": fake(), "victim": fake(
            on="message", big_set=6000000)})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        cfg["daemon"]["mapSize"] = 1 << 20
        cfg["daemon"]["maxMapSize"] = max_map
        return cfg

    def test_a_crank_that_cannot_be_written_halts(self):
        d = self.daemon(self.config(4 << 20))
        self.assertEqual(d.ok("run")["stopped"], "idle")
        d.ok("queue", vat="victim", method="big")
        r = d.call("run")
        self.assertFalse(r["ok"], r)
        self.assertEqual(r["error"]["code"], "store_error", r)
        st = d.status()
        self.assertIsNotNone(st["halted"], st)
        self.assertIn("store", st["halted"])
        r = d.call("commit", height=1)
        self.assertEqual(r["error"]["code"], "halted", r)
        self.assertEqual(st["height"], 0)
        # restarted with room, the producer replays the block
        d.stop()
        d2 = self.daemon(self.config(64 << 20))
        self.assertIsNone(d2.status()["halted"])
        self.assertEqual(d2.ok("run")["stopped"], "idle")
        d2.ok("queue", vat="victim", method="big")
        self.assertEqual(d2.ok("run")["stopped"], "idle")
        self.assertEqual(d2.ok("commit", height=1)["height"], 1)


def call(dref, method, body="#[]", slots=()):
    return ["callNow", dref, method, {"body": body, "slots": list(slots)}]


class DeviceCalls(DaemonTest):
    """callNow from the bootstrap vat, which receives the vatAdmin device
    as d-70 in bootstrap(): a device's error is an answer, not a death;
    a device node the vat does not hold, or a promise passed to a device,
    is an illegal syscall."""

    def start_with(self, syscalls):
        kid = {"moduleFormat": "testworker", "vat": "counter", "options": {}}
        cfg = default_config(self.tmp, {
            "bootstrap": fake(on="message", syscalls=syscalls),
            "vatAdmin": fake()})
        cfg["bundles"] = {"kid": {"bundle": kid}}
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        d = self.daemon(cfg)
        self.assertEqual(d.ok("run")["stopped"], "idle")
        return d, {v["name"]: v["state"] for v in d.status()["vats"]}

    def test_device_answers_and_errors(self):
        d, states = self.start_with([
            call("d-70", "frob"),
            call("d-70", "createMeter", '#["+100","+10"]'),
            call("d-70", "addMeterRemaining", '#["m1","+5"]'),
            call("d-70", "setMeterThreshold", '#["m1","+7"]'),
            call("d-70", "getMeter", '#["m1"]'),
            call("d-70", "createUnlimitedMeter", '#[]'),
            call("d-70", "getMeter", '#["m2"]'),
            call("d-70", "createMeter", '#[100,"+10"]'),
            call("d-70", "getMeter", '#["m9"]'),
            call("d-70", "getBundleIDByName", '#["nope"]'),
            call("d-70", "getNamedBundleCap", '#["kid"]'),
            call("d-71", "getBundleID"),
            call("d-71", "explode"),
            call("d-70", "getBundleCap", '#["b0-00"]'),
            call("d-70", "getBundleCap", '#["not an id"]'),
            call("d-70", "createByBundleID", '#["b0-00",{"name":"bad name!"}]'),
            call("d-70", "createByBundleID", '#["b0-00",{"meterID":"m9"}]'),
            call("d-70", "terminateWithFailure", '#["v1","x"]'),
            call("d-70", "terminateWithFailure", '#["v99","x"]')])
        self.assertEqual(states["bootstrap"], "ready")
        d.stop()
        log = d.log()
        for answer in (
                "vatAdmin device: unknown method 'frob'",
                'answer ["ok",{"body":"#\\"m1\\"","slots":[]}]',
                'answer ["ok",{"body":"#{\\"remaining\\":\\"+105\\",'
                '\\"threshold\\":\\"+7\\"}","slots":[]}]',
                'answer ["ok",{"body":"#{\\"remaining\\":\\"unlimited\\",'
                '\\"threshold\\":\\"+0\\"}","slots":[]}]',
                "createMeter: remaining and threshold must be bigints",
                "getMeter: no meter 'm9'",
                "unregistered bundle name 'nope'",
                'answer ["ok",{"body":"#\\"$0.Alleged: device node\\"",'
                '"slots":["d-71"]}]',
                'answer ["ok",{"body":"#\\"b0-',
                "bundlecap: unknown method 'explode'",
                'answer ["ok",{"body":"#\\"#undefined\\"","slots":[]}]',
                "getBundleCap: not a bundle ID",
                "option 'name' must match",
                "option 'meterID': no meter 'm9'",
                "terminateWithFailure: v1 is a static vat",
                "terminateWithFailure: no vat v99"):
            self.assertIn(answer, log)

    def test_unknown_device_node_is_illegal(self):
        d, states = self.start_with([call("d-77", "getBundleID")])
        self.assertEqual(states["bootstrap"], "terminated")
        self.assertIn("callNow: unknown device node d-77", d.log())

    def test_promise_to_device_is_illegal(self):
        d, states = self.start_with([
            call("d-70", "getBundleIDByName", '#["$0"]', ["p+5"])])
        self.assertEqual(states["bootstrap"], "terminated")
        self.assertIn("promises cannot be passed to a device", d.log())


def bundle_id(bundle):
    text = json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    return "b0-" + hashlib.sha256(text.encode()).hexdigest()


class Termination(DaemonTest):
    """Terminations a vat can cause, with a vat-admin vat to tell."""

    def start(self, bootstrap, bundles=None, **vats):
        cfg = default_config(self.tmp, dict({"bootstrap": bootstrap,
                                             "vatAdmin": fake()}, **vats))
        cfg["bundles"] = {n: {"bundle": b} for n, b in (bundles or {}).items()}
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        d = self.daemon(cfg)
        r = d.ok("run")
        self.assertEqual(r["stopped"], "idle", r)
        self.assertIsNone(r["halted"])
        return d, {v["vatID"]: v["state"] for v in d.status()["vats"]}

    def test_static_vat_gets_its_parameters(self):
        cfg_params = {"x": 1, "s": "$hello"}
        cfg = default_config(self.tmp, {"bootstrap": fake(),
                                        "alice": fake(log_deliveries=True)})
        cfg["vats"]["alice"]["parameters"] = cfg_params
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        d = self.daemon(cfg)
        d.ok("run")
        d.stop()
        self.assertIn('delivery ["startVat", {"body": "#{\\"s\\":\\"!$hello'
                      '\\",\\"x\\":1}", "slots": []}]', d.log())

    def test_exit_with_bad_info_is_illegal(self):
        for info in ({"body": "bye", "slots": []}, {"body": "#{", "slots": []},
                     {"body": '#"$0"', "slots": []}):
            with self.subTest(info=info):
                self.tearDown()
                self.setUp()
                d, states = self.start(fake(), victim=fake(
                    syscalls=[["exit", False, info]]))
                self.assertEqual(states, {"v1": "ready", "v2": "ready",
                                          "v3": "terminated"})
                self.assertIn("exit: bad info", d.log())
                self.assertEqual(d.ok("commit", height=1)["height"], 1)

    def test_exit_failure_naming_what_its_delivery_made(self):
        """exit(failure, info) whose info names an object and promises
        the failing delivery itself made: the abort undoes them, so the
        vat-admin vat is told the plain reason instead (no kref that is
        gone, or that a later crank reuses), and the kernel goes on."""
        info = {"body": '#["$0.Alleged: x","&1","&2"]',
                "slots": ["o+9", "p+5", "p+6"]}
        d, states = self.start(fake(), victim=fake(
            syscalls=[["exit", True, info]]))
        self.assertEqual(states["v3"], "terminated")
        self.assertIsNone(d.status()["halted"])
        self.assertEqual(d.ok("commit", height=1)["height"], 1)

    def test_vat_terminating_itself_through_the_device(self):
        child = fake(syscalls=[call("d-70", "terminateWithFailure",
                                    '#["v3","bye"]')])
        boot = fake(on="message", syscalls=[call(
            "d-70", "createByBundleID", '#["%s",{"vatParameters":{"dev":'
            '"$0.Alleged: device"}}]' % bundle_id(child), ["d-70"])])
        d, states = self.start(boot, {"child": child})
        self.assertEqual(states["v3"], "terminated")
        self.assertEqual(d.ok("commit", height=1)["height"], 1)

    def test_manager_type_no_static_vat_uses_is_refused(self):
        child = fake()
        boot = fake(on="message", syscalls=[call(
            "d-70", "createByBundleID", '#["%s",{"managerType":"xs-worker"}]'
            % bundle_id(child))])
        d, states = self.start(boot, {"child": child})
        self.assertNotIn("v3", states)
        self.assertIn("managerType 'xsnap' is not one this kernel's static "
                      "vats use", d.log())


class RebuildFailure(DaemonTest):
    def test_rebuild_failure_halts_instead_of_terminating(self):
        marker = os.path.join(self.tmp, "booted")
        cfg = default_config(self.tmp, {"bootstrap": fake(),
                                        "victim": fake(marker=marker)})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        cfg["daemon"]["maxRetries"] = 1
        d = self.daemon(cfg)
        d.ok("run")
        d.ok("commit", height=1)
        d.stop()
        d.start()                       # the victim's worker is gone now
        d.ok("queue", vat="victim", method="m")
        r = d.ok("run")
        self.assertEqual(r["stopped"], "halted", r)
        st = d.status()
        self.assertIn("v2", st["halted"])
        self.assertNotEqual({v["name"]: v["state"] for v in st["vats"]}["victim"],
                            "terminated")
        self.assertEqual(d.call("commit", height=2)["error"]["code"], "halted")


if __name__ == "__main__":
    main()
