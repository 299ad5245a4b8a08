"""test_campaign_hostile.py — the hostile-worker campaign (issue 11,
"Reliability"): a worker that sends garbage, oversized frames, invalid
netstring lengths, forged or out-of-range vrefs, floods of syscalls or of
output, or closes its pipes or exits mid-delivery costs only its own vat,
never the daemon.

Each scenario is a daemon with three scripted workers (fakeworker.py):
the bootstrap vat, a bystander that answers every message ("pong") and
the victim, which misbehaves when it is sent ping().  Block 1 is the
genesis run and a ping to the bystander; block 2 queues a ping to the
victim and one to the bystander and runs; block 3, a ping to the
bystander, shows the kernel carrying on.  In the creation scenarios the
victim is a vat that the bootstrap vat creates in block 2 (through the
vatAdmin device), whose worker misbehaves in its pseudo-crank: answering
setBundle or in startVat.  What must follow depends
on whose fault it is, as README ("What works today") and ARCHITECTURE
("Workers") classify it:

- the vat's (an illegal or malformed syscall, an oversized one, exit 17):
  the victim is terminated (its message rejected), the bystander answers,
  block 2 commits;
- this machine's (garbage framing, a pipe closed or a worker gone or hung
  mid-delivery): the crank is retried on a rebuilt worker, then the kernel
  halts with a reason naming the victim; the daemon stays up, `status`
  answers, `queue` and `commit` are refused with `halted`, nobody is
  terminated; a restart drops the open block and the producer's block 2
  without the victim's message commits, the bystander answering;
- nobody's (floods the kernel must simply absorb, meter reports it reads
  as best it can): both answer, block 2 commits.

Every scenario runs twice, on fresh state, and the two runs must give the
same activity hashes (committed, and at the halt); HOSTILE_RUNS=1 runs
each once (make check SANITIZE=1, after the plain pass compared them).  After each run the
daemon must exit 0 on SIGTERM (a sanitizer finding would make it exit
otherwise) and leave no worker process behind.

And the descriptors a worker inherits: exactly 0-4 (fd 7 besides for an
xsnap worker, which may be snapshotted, and fd 8 for one restored from a
snapshot), read from /proc/PID/fd.  HOSTILE_SHOW=1 prints what the
daemon logged of each scenario's faults.

The closing line says how many scenarios ran and how each ended.
"""
import glob
import hashlib
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ROOT, Client, Daemon, DaemonTest, capdata,  # noqa: E402
                     default_config, main)

HERE = os.path.dirname(os.path.abspath(__file__))
# Runs of each scenario: 2 (the histories compared); make check's
# sanitized pass runs each once (HOSTILE_RUNS=1: the plain pass compared
# them), make check-long always twice.
RUNS = int(os.environ.get("HOSTILE_RUNS", "2"))
FAKE = [sys.executable, os.path.join(HERE, "fakeworker.py")]
XSNAP_DIR = os.path.join(ROOT, "workers", "xsnap")
XSNAP_WORKER = os.path.join(XSNAP_DIR, "node_modules", "@agoric", "xsnap",
                            "xsnap-native", "xsnap", "build", "bin", "lin",
                            "release", "xsnap-worker")
MAX_FRAME = 12000000            # daemon.maxFrame's default
HUGE = "99999999999999999999"   # > 2^64
PONG = {"body": '#"pong"', "slots": []}
CHILD = "v4"                    # the vat created in the creation scenarios

STATS = {"ran": 0, "vat": 0, "machine": 0, "none": 0, "known": 0,
         "failed": 0}


def fake(**options):
    return {"moduleFormat": "testworker", "vat": "fake", "options": options}


def b0_id(bundle):
    text = json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    return "b0-" + hashlib.sha256(text.encode()).hexdigest()


def send(target, slots=(), result=None):
    ma = {"body": '#["m",[%s]]' % ",".join('"$%d"' % i
                                           for i in range(len(slots))),
          "slots": list(slots)}
    return ["send", target, {"methargs": ma, "result": result}]


class Scenario:
    """kind: "vat" (the victim is terminated), "machine" (retried, then
    the kernel halts naming the victim), "none" (everyone carries on).
    log: a regex the daemon log must match (for "vat", what the
    termination line says).  daemon: extra daemon settings."""

    def __init__(self, name, kind, log, daemon=None, computrons=None,
                 creation=False, **victim):
        self.name, self.kind, self.log = name, kind, log
        self.daemon = daemon or {}
        self.computrons = computrons
        self.creation = creation
        self.victim = victim


SCENARIOS = [
    # -- framing: garbage is this machine's fault (ARCHITECTURE, Workers:
    # "Exit or garbage during a delivery ... anything else ... a fault of
    # this machine"; worker-protocol.md §6: SwingSet panics)
    Scenario("garbage_bytes", "machine", r"reply pipe: bad length prefix",
             misbehave="garbage"),
    Scenario("garbage_binary", "machine", r"reply pipe: bad length prefix",
             misbehave="garbage", garbage_hex="00ff01ff6a756e6b3a2c2c"),
    Scenario("bad_terminator", "machine", r"reply pipe: missing ',' after "
             r"payload",
             misbehave="bad_terminator"),
    Scenario("empty_frame", "machine", r"reply pipe: empty payload",
             misbehave="empty_frame"),
    Scenario("unknown_tag", "machine", r"unknown tag 0x5a",
             misbehave="unknown_tag"),
    Scenario("bad_upcall_json", "machine", r"unknown or malformed upcall",
             misbehave="bad_upcall_json"),
    Scenario("deep_json", "machine", r"unknown or malformed upcall",
             misbehave="deep_json"),
    # two upcalls written at once: the kernel answers each as it comes
    Scenario("two_upcalls_at_once", "none",
             r'first \["ok","1"\]\n.* second \["ok","2"\]\n',
             syscalls=[["vatstoreSet", "a", "1"], ["vatstoreSet", "b", "2"]],
             misbehave="double_upcall"),
    Scenario("partial_frame_then_silence", "machine", r"command took longer",
             daemon={"deliveryTimeoutMs": 1500}, misbehave="partial_frame"),
    Scenario("hang", "machine", r"command took longer",
             daemon={"deliveryTimeoutMs": 1500}, misbehave="hang"),
    # -- pipes and exits mid-delivery: this machine's, but for the meter
    # exits (worker-protocol.md §6: only 11, 12 and 17 are the vat's)
    Scenario("close_reply_pipe", "machine", r"closed its reply pipe but did "
             r"not exit", misbehave="close_reply"),
    Scenario("exit_1", "machine", r"exited with status 1",
             misbehave="exit", exit_code=1),
    Scenario("exit_0", "machine", r"exited with status 0",
             misbehave="exit", exit_code=0),
    Scenario("exit_2", "machine", r"exited with status 2",
             misbehave="exit", exit_code=2),
    Scenario("self_sigsegv", "machine", r"killed by signal 11",
             misbehave="signal"),
    Scenario("exit_17_compute", "vat", r"terminated: Compute meter exceeded",
             misbehave="exit", exit_code=17),
    Scenario("exit_11_memory", "vat", r"terminated: Allocate meter exceeded",
             misbehave="exit", exit_code=11),
    # a worker whose child keeps its pipes open after it exited
    Scenario("fork_then_exit", "machine", r"exited with status 1",
             misbehave="fork_exit"),
    # an answer the kernel cannot read is garbage too
    Scenario("result_not_json", "machine",
             r"deliver answered 'this is not JSON'", misbehave="bad_result"),
    # -- oversized: the vat's fault (issue 11 defect 11: they were
    # retried as machine faults, then halted the kernel); a length
    # prefix of 10^12 is refused before its ':', as the same oversized
    # frame announced
    Scenario("frame_just_over_maxFrame", "vat", r"terminated: sent a frame "
             r"over the maxFrame limit of %d bytes" % MAX_FRAME,
             misbehave="oversize", frame_size=MAX_FRAME + 1),
    Scenario("length_prefix_10e12", "vat", r"terminated: sent a frame over "
             r"the maxFrame limit of %d bytes" % MAX_FRAME,
             misbehave="huge_length"),
    # a frame of exactly maxFrame bytes is allowed (and the 12 MB value a
    # legal vatstoreSet)
    Scenario("frame_of_exactly_maxFrame", "none",
             r'oversize \["ok",null\]',
             misbehave="oversize", frame_size=MAX_FRAME),
    # -- forged and out-of-range references: illegal syscalls
    Scenario("forged_kref_target", "vat", r"terminated: send: bad target",
             syscalls=[send("ko1")]),
    Scenario("forged_kref_slot", "vat",
             r"terminated: send: bad methargs or slot",
             syscalls=[send("o+0", ["ko1"])]),
    Scenario("forged_kpid_subscribe", "vat",
             r"terminated: subscribe: malformed",
             syscalls=[["subscribe", "kp1"]]),
    Scenario("huge_import_target", "vat", r"terminated: send: bad target",
             syscalls=[send("o-" + HUGE)]),
    Scenario("huge_import_slot", "vat",
             r"terminated: send: bad methargs or slot",
             syscalls=[send("o+0", ["o-" + HUGE])]),
    Scenario("huge_promise_subscribe", "vat",
             r"terminated: subscribe: unknown promise p-99999999999999999999",
             syscalls=[["subscribe", "p-" + HUGE]]),
    Scenario("huge_drop_imports", "vat", r"terminated: dropImports: "
             r"o-99999999999999999999 is not in its c-list",
             syscalls=[["dropImports", ["o-" + HUGE]]]),
    Scenario("overlong_vref", "vat", r"terminated: send: bad target",
             syscalls=[send("o-" + "9" * 300)]),
    Scenario("negative_vref", "vat", r"terminated: send: bad target",
             syscalls=[send("o--1")]),
    Scenario("vref_with_space", "vat", r"terminated: send: bad target",
             syscalls=[send("o- 1")]),
    Scenario("empty_vref", "vat", r"terminated: send: bad target",
             syscalls=[send("")]),
    Scenario("vref_not_a_string", "vat", r"terminated: send: bad target",
             syscalls=[send(12)]),
    Scenario("object_as_promise", "vat", r"terminated: subscribe: malformed",
             syscalls=[["subscribe", "o+0"]]),
    Scenario("resolve_an_object", "vat", r"terminated: resolve: ko\d+ is "
             r"not an unresolved promise decided by v\d+",
             syscalls=[["resolve", [["o+0", False, PONG]]]]),
    Scenario("promise_as_send_result_of_wrong_kind", "vat",
             r"terminated: send: result is not a promise",
             syscalls=[send("o+0", result="o+7")]),
    Scenario("device_export", "vat", r"terminated: send: bad methargs or slot",
             syscalls=[send("o+0", ["d+5"])]),
    Scenario("callNow_to_an_object", "vat", r"terminated: callNow: malformed",
             syscalls=[["callNow", "o+0", "m", {"body": "#[]", "slots": []}]]),
    Scenario("vatstore_key_a_huge_number", "vat",
             r"terminated: vatstoreGetNextKey: key is not a string",
             syscalls=[["vatstoreGetNextKey", 1e300]]),
    # an export of a huge number is only a name (SwingSet reads vref
    # numbers as BigInts): the vat carries on, and gets it back in the
    # message it sent itself
    Scenario("huge_export_slot", "none", r'"slots": \["o\+%s"\]' % HUGE,
             syscalls=[send("o+0", ["o+" + HUGE])], log_deliveries=True),
    # -- meter reports: a number the kernel reads as it is, a report it
    # cannot read counts 0
    Scenario("meter_report_not_json", "none", r"", computrons=0,
             reply_meter="compute: lots"),
    Scenario("meter_report_negative", "none", r"", computrons=0,
             reply_meter='{"compute":-5}'),
    Scenario("meter_report_in_range", "none", r"", computrons=12345,
             reply_meter='{"compute":12345,"allocate":7}'),
    # read as 9999999999999999999 (the first 19 digits), past 2^63
    Scenario("meter_report_huge", "none", r"",
             computrons=9999999999999999999,
             reply_meter='{"compute":%s}' % HUGE),
    # -- a vat being created (its pseudo-crank): the same rules
    Scenario("creation_setBundle_hang", "machine", r"command took longer",
             creation=True, daemon={"deliveryTimeoutMs": 1500},
             on_set_bundle="hang"),
    Scenario("creation_setBundle_garbage", "machine",
             r"reply pipe: bad length prefix", creation=True,
             on_set_bundle="garbage"),
    Scenario("creation_setBundle_exit_1", "machine", r"exited with status 1",
             creation=True, on_set_bundle="exit", exit_code=1),
    Scenario("creation_setBundle_exit_17", "vat",
             r"terminated: Compute meter exceeded", creation=True,
             on_set_bundle="exit", exit_code=17),
    Scenario("creation_startVat_forged_kref", "vat",
             r"terminated: send: bad target", creation=True,
             syscalls=[send("ko1")]),
    Scenario("creation_startVat_oversize", "vat", r"terminated: sent a "
             r"frame over the maxFrame limit", creation=True,
             misbehave="oversize", frame_size=MAX_FRAME + 1),
    Scenario("creation_startVat_close_reply_pipe", "machine",
             r"closed its reply pipe but did not exit", creation=True,
             misbehave="close_reply"),
    Scenario("creation_startVat_syscall_flood", "none", r"", creation=True,
             flood=20000),
    Scenario("creation_setBundle_stderr_flood", "none", r" stderr: xxxx",
             creation=True, on_set_bundle="stderr_flood",
             flood_bytes=4 << 20),
    # -- floods the kernel must absorb
    Scenario("syscall_flood_100000", "none", r'answer \["ok","99998"\]',
             daemon={"deliveryTimeoutMs": 600000}, flood=100000,
             syscalls=[["vatstoreGet", "flood.99998"]]),
    Scenario("stdout_flood", "none", r" stdout: xxxx",
             misbehave="stdout_flood", flood_bytes=8 << 20),
    Scenario("stderr_flood_no_newlines", "none", r" stderr: xxxx",
             misbehave="stderr_flood", flood_bytes=8 << 20, flood_line=0),
    # a frame after the answer, with no command in flight: the worker is
    # killed while idle; nothing is lost (the vat is rebuilt when next
    # needed, which this scenario does not do)
    Scenario("frame_after_the_answer", "none", r"no command in flight",
             misbehave="extra_frame"),
]

# Scenarios that fail today because of a known kernel defect; each is
# flipped to an ordinary test once the fix is merged.
EXPECTED_FAILURES = {
    # Found by this campaign: a meter report past 2^63 computrons (a
    # worker may claim any number) comes out negative in the control
    # replies (run, commit, status: computrons -8446744073709551617 for
    # 9999999999999999999, the uint64 written as a signed JSON integer),
    # and the block's and the vat's sums wrap modulo 2^64 (two reports of
    # 2^63 in one block: `commit` answers computrons 0).  A `run` budget
    # still stops after such a crank.
    "meter_report_huge",
}


class Hostile(DaemonTest):

    def config(self, tmp, sc):
        if sc.creation:
            # the victim is a vat the bootstrap vat creates in block 2
            child = fake(**sc.victim)
            cfg = default_config(tmp, {
                "bootstrap": fake(on="message", on_method="go", syscalls=[
                    ["callNow", "d-70", "createByBundleID",
                     {"body": '#["%s",{}]' % b0_id(child), "slots": []}]]),
                "bystander": fake(answer=True),
                "vatAdmin": fake()})
            cfg["bundles"] = {"child": {"bundle": child}}
        else:
            cfg = default_config(tmp, {
                "bootstrap": fake(),
                "bystander": fake(answer=True),
                "victim": fake(on="message", on_method="ping", answer=True,
                               **sc.victim)})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        cfg["daemon"]["maxRetries"] = 1
        cfg["daemon"]["logLevel"] = "info"
        cfg["daemon"].update(sc.daemon)
        return cfg

    def client(self, d):
        c = Client(d.socket, timeout=300)
        self.addCleanup(c.close)
        return c

    def states(self, d):
        return {v["name"]: v for v in d.status()["vats"]}

    def ping(self, c, vat="bystander"):
        return c.ok("queue", vat=vat, method="ping", args=capdata([]))["kpid"]

    def assert_pong(self, c, kpid):
        p = c.ok("promise", kpid=kpid)
        self.assertEqual((p["state"], p["data"]), ("fulfilled", PONG), p)

    def run_once(self, sc, sub):
        """One run of the scenario on fresh state; the hashes to compare."""
        tmp = os.path.join(self.tmp, sub)
        os.makedirs(tmp)
        d = Daemon(tmp, self.config(tmp, sc))
        self.daemons.append(d)
        try:
            return self.scenario(sc, d)
        finally:
            if os.environ.get("HOSTILE_SHOW"):      # what the daemon said
                for line in d.log().splitlines():
                    if re.search(r"terminated: |halted: |machine fault|warn",
                                 line):
                        print("   ", sc.name, sub, line[25:400],
                              file=sys.stderr)

    def scenario(self, sc, d):
        d.start()
        pids = set()
        c = self.client(d)
        r = c.ok("run")
        self.assertEqual(r["stopped"], "idle", r)
        kp = self.ping(c)
        self.assertEqual(c.ok("run")["stopped"], "idle")
        self.assert_pong(c, kp)
        h1 = c.ok("commit", height=1)["activityHash"]
        vats = self.states(d)
        name = CHILD if sc.creation else "victim"
        victim = CHILD if sc.creation else vats["victim"]["vatID"]
        pids |= {v["pid"] for v in vats.values() if v["pid"]}

        # block 2: the victim's message (or the request that creates it),
        # then the bystander's
        if sc.creation:
            c.ok("queue", vat="bootstrap", method="go", args=capdata([]))
        else:
            kv = self.ping(c, "victim")
        kb = self.ping(c)
        r = c.ok("run")
        self.assertTrue(d.alive(), d.log()[-3000:])
        vats = self.states(d)
        pids |= {v["pid"] for v in vats.values() if v["pid"]}
        log = d.log()
        if sc.log:
            self.assertRegex(log, sc.log)
        st = d.status()
        if sc.kind == "machine":
            out = self.after_machine_fault(d, c, r, st, vats, victim, log)
        else:
            self.assertEqual(r["stopped"], "idle", (r, log[-3000:]))
            self.assertIsNone(st["halted"], st["halted"])
            self.assertNotIn("machine fault", log)
            self.assert_pong(c, kb)
            self.assertEqual(vats["bystander"]["state"], "ready")
            p = None if sc.creation else c.ok("promise", kpid=kv)
            if sc.kind == "vat":
                self.assertEqual(vats[name]["state"], "terminated")
                self.assertIn(p and p["state"], (None, "rejected"), p)
                self.assertRegex(log, r"%s: terminated: " % victim)
                self.assertRegex(log, r"%s: %s" % (victim, sc.log))
            else:
                self.assertNotEqual(vats[name]["state"], "terminated")
                self.assertIn(p and (p["state"], p["data"]),
                              (None, ("fulfilled", PONG)), p)
            if sc.creation and sc.kind == "none":
                self.assertRegex(log, r"%s: created in crank" % victim)
            cm = c.ok("commit", height=2)
            h2 = cm["activityHash"]
            self.assertEqual(h2, r["activityHash"])
            if sc.computrons is not None:
                self.check_computrons(sc, r, cm, d.status()["vats"])
            out = [h1, h2]
            c.close()
        # after the fault, the kernel still runs a block of its own
        c = self.client(d)
        kp = self.ping(c)
        self.assertEqual(c.ok("run")["stopped"], "idle")
        self.assert_pong(c, kp)
        out.append(c.ok("commit", height=3)["activityHash"])
        pids |= {v["pid"] for v in d.status()["vats"] if v["pid"]}
        c.close()
        self.assertEqual(d.stop(), 0, d.log()[-3000:])
        self.assert_gone(pids)
        return out

    def check_computrons(self, sc, r, cm, vats):
        """Block 2's computrons: the bystander's delivery (1) and what
        the victim's report is worth (sc.computrons); every figure the
        daemon reports is a count, never below 0, and a sum is never
        below one of its terms."""
        victim = next(v for v in vats if v["name"] == "victim")
        for n in (r["computrons"], cm["computrons"], victim["computrons"]):
            self.assertGreaterEqual(n, 0, (r, cm, victim))
        self.assertGreaterEqual(cm["computrons"], victim["computrons"])
        self.assertEqual((r["computrons"], cm["computrons"]),
                         (sc.computrons + 1, sc.computrons + 1), (r, cm))

    def after_machine_fault(self, d, c, r, st, vats, victim, log):
        """The kernel halted on the victim, retried first; nobody was
        terminated; everything but the control socket is refused.  Then
        the producer restarts the daemon and replays block 2 without the
        victim's message."""
        self.assertEqual(r["stopped"], "halted", (r, log[-3000:]))
        halted = st["halted"]
        self.assertIsNotNone(halted)
        self.assertIn(victim + ":", halted)
        self.assertIn("failed 2 times in a row", halted)
        self.assertRegex(log, r"%s: machine fault \(.*\); crank aborted, "
                              r"retry 1 of 1" % victim)
        self.assertNotIn("terminated", [v["state"] for v in vats.values()])
        by = vats["bystander"]
        if by["pid"]:
            os.kill(by["pid"], 0)           # its worker is still there
        for op, fields in (("queue", {"vat": "bystander", "method": "m"}),
                           ("commit", {"height": 2})):
            resp = c.call(op, **fields)
            self.assertEqual(resp.get("error", {}).get("code"), "halted",
                             (op, resp))
        # README says `run` is refused with `halted` too; it answers with
        # stopped: "halted" and runs nothing
        r2 = c.ok("run")
        self.assertEqual((r2["stopped"], r2["cranks"], r2["halted"]),
                         ("halted", 0, halted), r2)
        halt_hash = st["activityHash"]
        c.close()
        self.assertEqual(d.stop(), 0, d.log()[-3000:])
        d.start()
        st = d.status()
        self.assertEqual((st["height"], st["halted"]), (1, None), st)
        c = self.client(d)
        kp = self.ping(c)
        self.assertEqual(c.ok("run")["stopped"], "idle")
        self.assert_pong(c, kp)
        h2 = c.ok("commit", height=2)["activityHash"]
        c.close()
        return [st["committedActivityHash"], halt_hash, h2]

    def assert_gone(self, pids):
        """No worker outlives its daemon (within 10 s)."""
        deadline = time.time() + 10
        alive = set(pids)
        while alive and time.time() < deadline:
            for pid in list(alive):
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        if f.read().split(") ", 1)[1][:1] == "Z":
                            alive.discard(pid)
                except OSError:
                    alive.discard(pid)
            time.sleep(0.05)
        self.assertEqual(alive, set(), "workers left behind")

    def check(self, sc):
        STATS["ran"] += 1
        try:
            first = self.run_once(sc, "a")
            if RUNS > 1:
                second = self.run_once(sc, "b")
                self.assertEqual(first, second, "two runs, two histories")
        except BaseException:
            STATS["known" if sc.name in EXPECTED_FAILURES else "failed"] += 1
            raise
        STATS[sc.kind] += 1


def add_scenarios():
    for sc in SCENARIOS:
        def test(self, sc=sc):
            self.check(sc)
        test.__name__ = "test_" + sc.name
        test.__doc__ = "%s (%s)" % (sc.name, sc.kind)
        if sc.name in EXPECTED_FAILURES:
            test = unittest.expectedFailure(test)
        setattr(Hostile, test.__name__, test)


add_scenarios()


class InheritedDescriptors(DaemonTest):
    """A worker holds fds 0-4 and nothing else of the daemon's: not the
    LMDB file, not the lock file, not the control socket or its clients,
    not another worker's pipes."""

    def fds(self, pid):
        base = "/proc/%d/fd" % pid
        return {int(n): os.readlink(os.path.join(base, n))
                for n in os.listdir(base)}

    def holders(self, target):
        """(pid, fd) of every process of ours whose fd points at target."""
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                for n in os.listdir("/proc/%s/fd" % pid):
                    if os.readlink("/proc/%s/fd/%s" % (pid, n)) == target:
                        out.append((int(pid), int(n)))
            except OSError:
                pass
        return out

    def assert_daemon_holds_its_own(self, d):
        """The things a worker must not inherit are open in the daemon."""
        held = self.fds(d.proc.pid).values()
        state = d.config["daemon"]["stateDir"]
        self.assertTrue(any(t.startswith(state) and t.endswith("data.mdb")
                            for t in held), held)
        self.assertTrue(any(t.endswith("LOCK") for t in held), held)
        self.assertTrue(any(t.startswith("socket:") for t in held), held)

    def assert_worker_fds(self, pid, extra=(), snapshots=None):
        """fds 0-4 (+ extra): /dev/null, then pipes; fd 8 of a worker
        restored from a snapshot is that snapshot's file, read-only, in
        the snapshots folder (the daemon hands it the checked file)."""
        fds = self.fds(pid)
        self.assertEqual(sorted(fds), sorted({0, 1, 2, 3, 4} | set(extra)),
                         fds)
        self.assertEqual(fds[0], "/dev/null")
        for n in fds:
            if n == 8 and snapshots is not None:
                self.assertTrue(fds[n].startswith(snapshots + "/"),
                                (n, fds))
            elif n:
                self.assertRegex(fds[n], r"^pipe:\[\d+\]$", (n, fds))
        return fds

    def test_testworker_and_fakeworker_fds(self):
        cfg = default_config(self.tmp, ("bootstrap", "alice", "bob"))
        d = self.daemon(cfg)
        c = self.client_of(d)           # a control client is open too
        self.assertEqual(c.ok("run")["stopped"], "idle")
        self.assert_daemon_holds_its_own(d)
        vats = d.status()["vats"]
        self.assertEqual(len(vats), 3)
        pipes = {}
        for v in vats:
            self.assertTrue(v["pid"], v)
            fds = self.assert_worker_fds(v["pid"])
            for n in range(1, 5):
                self.assertNotIn(fds[n], pipes, "two workers share a pipe")
                pipes[fds[n]] = v["vatID"]
        d.stop()

        tmp = os.path.join(self.tmp, "fake")
        os.makedirs(tmp)
        cfg = default_config(tmp, {"bootstrap": fake(), "victim": fake()})
        cfg["daemon"]["workers"] = {"testworker": FAKE}
        d = self.daemon(cfg)
        self.assertEqual(d.ok("run")["stopped"], "idle")
        for v in d.status()["vats"]:
            self.assert_worker_fds(v["pid"])

    def client_of(self, d):
        c = d.client()
        self.addCleanup(c.close)
        return c

    @unittest.skipUnless(os.path.exists(XSNAP_WORKER), "needs make xsnap")
    def test_xsnap_worker_fds(self):
        """A fresh xsnap worker, and one restored from its snapshot: 0-4
        and fd 7 (the snapshot pipe every xsnap worker is spawned with,
        since any delivery may bring a snapshot); the restored one also
        fd 8, the pipe its snapshot streamed in through, whose other end
        the daemon has closed."""
        from test_snapshots import config as snap_config
        cfg = snap_config(self.tmp, 3, 1000)
        d = self.daemon(cfg)
        c = self.client_of(d)
        self.assertEqual(c.ok("run")["stopped"], "idle")     # startVat
        self.assert_daemon_holds_its_own(d)
        v = d.vat("counter")
        self.assert_worker_fds(v["pid"], extra=(7,))
        for _ in range(2):                                    # deliveries 2, 3
            c.ok("queue", vat="counter", method="incr", args=capdata([]))
            self.assertEqual(c.ok("run")["stopped"], "idle")
        v2 = d.vat("counter")
        # 4: the bringOutYourDead before the snapshot
        self.assertEqual(v2["snapshotPos"], 4, v2)
        self.assertNotEqual(v2["pid"], v["pid"])        # restored from it
        self.assertRegex(d.log(), r"v2: restored from snapshot")
        # fd 8 is the checked snapshot file itself, which xsnap-worker
        # keeps open once it has read it; the daemon closed its copy, so
        # no process but this worker holds it
        snaps = os.path.join(cfg["daemon"]["stateDir"], "snapshots")
        fds = self.assert_worker_fds(v2["pid"], extra=(7, 8),
                                     snapshots=os.path.realpath(snaps))
        self.assertEqual(self.holders(fds[8]), [(v2["pid"], 8)])
        for n in (1, 2, 3, 4, 7):
            self.assertEqual(sorted(p for p, _ in self.holders(fds[n])),
                             sorted([v2["pid"], d.proc.pid]), (n, fds))
        self.assertEqual(len(glob.glob(os.path.join(
            cfg["daemon"]["stateDir"], "snapshots", "*"))), 1)


def tearDownModule():
    if "test_snapshots" in sys.modules:     # the counter bundle's folder
        sys.modules["test_snapshots"].tearDownModule()
    print("\nhostile-worker campaign: %d scenarios ran, each %s: %d "
          "terminated the victim, %d halted on a machine fault, %d absorbed, "
          "%d expected failures (defects: EXPECTED_FAILURES), %d failed" % (
              STATS["ran"], "twice" if RUNS > 1 else "once", STATS["vat"], STATS["machine"], STATS["none"],
              STATS["known"], STATS["failed"]), file=sys.stderr)


if __name__ == "__main__":
    main()
