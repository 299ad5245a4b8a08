"""test_xsnap.py — JavaScript vats (tests/vats/) on the real xsnap-worker
with Agoric's liveslots, driven by the real daemon; and the same scenarios
on Agoric's JavaScript SwingSet kernel (tests/jskernel/run-swingset.mjs)
for comparison.

Each scenario's bundles are made once per run with workers/xsnap/bundle.mjs
(one test also lets the daemon bundle a sourceSpec itself).  Needs
`make xsnap` (part of `make deps`); the JavaScript kernel also needs
`make jskernel` (its better-sqlite3 addon).
"""
import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ROOT, Daemon, DaemonTest, decode, main,  # noqa: E402
                     swingctl)

VATS = os.path.join(ROOT, "tests", "vats")
XSNAP_DIR = os.path.join(ROOT, "workers", "xsnap")
BUNDLER = os.path.join(XSNAP_DIR, "bundle.mjs")
JSKERNEL = os.path.join(ROOT, "tests", "jskernel", "run-swingset.mjs")
SLOWBOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "slowboot.py")
WORKER = os.path.join(XSNAP_DIR, "node_modules", "@agoric", "xsnap",
                      "xsnap-native", "xsnap", "build", "bin", "lin",
                      "release", "xsnap-worker")

_bundles = {}


def bundle(path):
    """The bundle file of a JS entry (made once per test run)."""
    if path not in _bundles:
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                           "swingsetd-test-bundle-%d-%s.json" % (
                               os.getpid(),
                               hashlib.sha256(path.encode()).hexdigest()[:16]))
        subprocess.run(["node", BUNDLER, path, out], check=True, timeout=120)
        atexit.register(os.unlink, out)
        _bundles[path] = out
    return _bundles[path]


def scenario_config(tmp, name, bundled=True, **daemon):
    """tests/vats/NAME/config.json with absolute paths (bundleSpecs made
    here unless bundled is False) and a daemon section in tmp."""
    base = os.path.join(VATS, name)
    with open(os.path.join(base, "config.json")) as f:
        cfg = json.load(f)
    for section in ("vats", "bundles"):
        for entry in cfg.get(section, {}).values():
            if "sourceSpec" in entry:
                src = os.path.join(base, entry["sourceSpec"])
                if bundled:
                    del entry["sourceSpec"]
                    entry["bundleSpec"] = bundle(src)
                else:
                    entry["sourceSpec"] = src
    cfg["daemon"] = dict({
        "stateDir": os.path.join(tmp, "state"),
        "socket": os.path.join(tmp, "control.sock"),
        "logLevel": "info",
        "xsnapDir": XSNAP_DIR,
    }, **daemon)
    return cfg


# The JavaScript kernel's outputs, kept by a hash of everything they are
# a function of (SWINGSET_JS_RESULTS, set by make check for both of its
# runs: the sanitized run compares with the outputs the plain run got).
JS_RESULTS = os.environ.get("SWINGSET_JS_RESULTS")
SWINGSET_PACKAGE = os.path.join(XSNAP_DIR, "node_modules", "@agoric",
                                "swingset-vat", "package.json")


def _hash_tree(h, top):
    for folder, dirs, files in sorted(os.walk(top)):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(folder, f)
            h.update(path.encode() + b"\0")
            with open(path, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())


def _js_key(config, actions):
    """What a JavaScript-kernel run's output is a function of: its
    config, the files the config names (bundles, sources), tests/vats
    (what sources import), the runner, the kernel's version and the
    actions."""
    h = hashlib.sha256()
    for path in (JSKERNEL, SWINGSET_PACKAGE):
        with open(path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    with open(config) as f:
        cfg = json.load(f)
    cfg.pop("daemon", None)
    # a file named by its content, not its path (a test's copies of a
    # config live in folders of their own)
    for group in ("vats", "bundles", "devices"):
        for desc in (cfg.get(group) or {}).values():
            for spec in ("sourceSpec", "bundleSpec"):
                if isinstance(desc.get(spec), str):
                    src = os.path.join(os.path.dirname(config), desc[spec])
                    with open(src, "rb") as f:
                        desc[spec] = hashlib.sha256(f.read()).hexdigest()
    h.update(json.dumps(cfg, sort_keys=True).encode())
    _hash_tree(h, VATS)
    h.update(json.dumps(list(actions)).encode())
    return h.hexdigest()


def js_kernel(name, actions=(), timeout=600):
    """The scenario on the JavaScript SwingSet kernel (actions: more
    arguments of run-swingset.mjs, e.g. ["--poll", "3"])."""
    config = os.path.join(VATS, name, "config.json")
    kept = None
    if JS_RESULTS:
        kept = os.path.join(JS_RESULTS, _js_key(config, actions) + ".json")
        if os.path.exists(kept):
            with open(kept) as f:
                return json.load(f)
    p = subprocess.run(["node", JSKERNEL, config] + list(actions),
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("run-swingset.mjs failed:\n" + p.stderr[-3000:])
    out = json.loads(p.stdout)
    if kept:
        os.makedirs(JS_RESULTS, exist_ok=True)
        with open(kept + ".tmp", "w") as f:
            f.write(p.stdout)
        os.replace(kept + ".tmp", kept)
    return out


class XsnapTest(DaemonTest):

    def run_scenario(self, name, **kw):
        """Start the daemon on the scenario, run to idle; (daemon, run
        result, testLog texts, bootstrap result promise)."""
        d = self.daemon(scenario_config(self.tmp, name, **kw))
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        self.assertIsNone(r["halted"], d.log())
        kpid = d.status()["bootstrapResult"]
        p = d.ok("promise", kpid=kpid)
        return d, r, [t for _, t in d.test_logs()], p

    def test_creator(self):
        d, r, log, p = self.run_scenario("creator")
        self.assertEqual(p["state"], "fulfilled", p)
        self.assertGreater(r["computrons"], 0)
        for i in range(5):
            self.assertIn("c%d: buildRootObject hello-%d" % (i, i), log)
        self.assertIn("pipelined E(E(root).makeCounter()).incr() -> 1", log)
        self.assertTrue(any(t.startswith("bad createVat rejected: ")
                            and "refuses to start" in t for t in log), log)
        self.assertIn("c4 done() rejected: c4 terminated by bootstrap", log)
        states = {v["name"]: v["state"] for v in d.status()["vats"]}
        self.assertEqual(states["c4"], "terminated")
        self.assertEqual(states["bad"], "terminated")
        self.assertEqual(states["vatAdmin"], "ready")
        for n in ("c0", "c1", "c2", "c3"):
            self.assertEqual(states[n], "ready")
        # every dynamic vat was made in a pseudo-crank of its own
        self.assertEqual(len([m for m in d.log().splitlines()
                              if ": created in crank " in m]), 5)
        self.assertEqual(d.stop(), 0, d.log())  # (LeakSanitizer too)

    def test_loop_is_stopped_by_the_meter(self):
        d, r, log, p = self.run_scenario("loop")
        self.assertEqual(p["state"], "fulfilled", p)
        self.assertIn("spin() rejected: vat terminated", log)
        self.assertIn("looper done() rejected: Compute meter exceeded", log)
        self.assertIn("meter remaining < start: true", log)
        self.assertTrue(any(t.startswith("other: ") for t in log), log)
        states = {v["name"]: v["state"] for v in d.status()["vats"]}
        self.assertEqual(states["looper"], "terminated")
        self.assertEqual(states["other"], "ready")
        self.assertEqual(d.stop(), 0, d.log())

    def test_meters_are_charged(self):
        d, r, log, p = self.run_scenario("meter")
        self.assertEqual(p["state"], "fulfilled", p)
        self.assertTrue(any(t.startswith("startVat cost ") for t in log))
        self.assertIn("quitter done() rejected: worker quits", log)
        self.assertIn("quit() charged: true", log)
        self.assertIn("w3 left after startVat: 1000", log)
        self.assertIn("work(100000) rejected: vat terminated", log)
        self.assertIn("w3 done() rejected: meter underflow, vat terminated",
                      log)
        self.assertIn("w3 meter after underflow: 0", log)
        self.assertTrue(any(t.startswith("unlimited: work(100000) = ") and
                            t.endswith("remaining unlimited") for t in log))
        self.assertEqual(d.stop(), 0, d.log())

    def test_terminated_vat_loses_its_snapshot(self):
        """Every vat is snapshotted after its first delivery (and the
        bringOutYourDead before the snapshot: position 2); the looper,
        terminated by its meter, keeps no snapshot record, and its file
        is removed once the block commits."""
        cfg = scenario_config(self.tmp, "loop")
        cfg["snapshotInitial"], cfg["snapshotInterval"] = 1, 1000
        d = self.daemon(cfg)
        self.assertTrue(d.ok("run")["idle"])
        d.ok("commit", height=1)
        vats = {v["name"]: v for v in d.status()["vats"]}
        self.assertEqual(vats["looper"]["state"], "terminated")
        self.assertIsNone(vats["looper"]["snapshotPos"])
        self.assertEqual(vats["other"]["snapshotPos"], 2)
        live = sum(1 for v in vats.values() if v["snapshotPos"] is not None)
        self.assertIn("%s: heap snapshot " % vats["looper"]["vatID"],
                      d.log())
        snaps = os.path.join(cfg["daemon"]["stateDir"], "snapshots")
        for _ in range(100):
            files = [f for f in os.listdir(snaps) if not f.startswith("tmp")]
            if len(files) == live:
                break
            time.sleep(0.05)
        self.assertEqual(len(files), live, files)
        self.assertEqual(d.stop(), 0, d.log())

    def test_source_spec_is_bundled_by_the_daemon(self):
        d, r, log, p = self.run_scenario("creator", bundled=False)
        self.assertEqual(p["state"], "fulfilled", p)
        self.assertIn("created 5 children", log)

    def test_restart_keeps_the_first_bundles(self):
        """A sourceSpec is bundled at first start only, as in SwingSet:
        editing the file later does not stop a restart; the vats go on
        from their recorded bundles."""
        vats = os.path.join(self.tmp, "vats")
        shutil.copytree(os.path.join(VATS, "creator"),
                        os.path.join(vats, "creator"))
        shutil.copytree(os.path.join(VATS, "lib"), os.path.join(vats, "lib"))
        shutil.copy(os.path.join(VATS, "package.json"), vats)
        cfg = scenario_config(self.tmp, "creator", bundled=False)
        for entry in list(cfg["vats"].values()) + list(
                cfg["bundles"].values()):
            entry["sourceSpec"] = entry["sourceSpec"].replace(VATS, vats)
        d = self.daemon(cfg)
        self.assertTrue(d.ok("run")["idle"])
        d.ok("commit", height=1)
        before = d.status()
        self.assertEqual(d.stop(), 0, d.log())
        with open(os.path.join(vats, "creator", "child.js"), "a") as f:
            f.write("\n// edited after the first start\n")
        d.start()
        after = d.status()
        self.assertEqual(after["committedActivityHash"],
                         before["committedActivityHash"])
        self.assertEqual([(v["vatID"], v["state"] == "terminated")
                          for v in after["vats"]],
                         [(v["vatID"], v["state"] == "terminated")
                          for v in before["vats"]])

    def test_other_supervisor_is_refused(self):
        """The lockdown and supervisor bundles are recorded at first
        start; a restart with other ones is refused."""
        d = self.daemon(scenario_config(self.tmp, "creator"))
        d.ok("commit", height=1)
        self.assertEqual(d.stop(), 0, d.log())
        fake = os.path.join(self.tmp, "xsnap")
        for rel in ("build", os.path.join("node_modules", "@agoric",
                                           "xsnap"),
                    os.path.join("node_modules", "@agoric",
                                 "swingset-xsnap-supervisor")):
            os.makedirs(os.path.dirname(os.path.join(fake, rel)),
                        exist_ok=True)
            os.symlink(os.path.join(XSNAP_DIR, rel), os.path.join(fake, rel))
        lockdown = os.path.join("node_modules", "@agoric", "xsnap-lockdown",
                                "dist", "lockdown.bundle")
        os.makedirs(os.path.dirname(os.path.join(fake, lockdown)))
        with open(os.path.join(XSNAP_DIR, lockdown)) as f:
            b = json.load(f)
        b["note"] = "not the pinned lockdown bundle"
        with open(os.path.join(fake, lockdown), "w") as f:
            json.dump(b, f)
        cfg = scenario_config(self.tmp, "creator", xsnapDir=fake)
        other = self.other_daemon(cfg, "other-xsnap", 78)
        self.assertIn("kernel.xsnapBundleIDs", other.log())

    def test_computron_budget_stops_between_cranks(self):
        d = self.daemon(scenario_config(self.tmp, "creator"))
        r = d.ok("run", budget={"computrons": 30000000})
        self.assertEqual(r["stopped"], "budget", r)
        self.assertFalse(r["idle"], r)
        self.assertGreaterEqual(r["computrons"], 30000000)
        st = d.status()
        self.assertEqual(st["blockComputrons"], r["computrons"])
        total = r["computrons"]
        while True:
            r = d.ok("run", budget={"computrons": 30000000})
            total += r["computrons"]
            if r["idle"]:
                break
        self.assertEqual(d.status()["blockComputrons"], total)
        c = d.ok("commit", height=1)
        self.assertEqual(c["computrons"], total)
        self.assertEqual(d.status()["blockComputrons"], 0)

    def test_missing_worker_is_a_clear_startup_error(self):
        cfg = scenario_config(self.tmp, "creator")
        cfg["daemon"]["xsnapDir"] = os.path.join(self.tmp, "nowhere")
        d = self.other_daemon(cfg, "bad-xsnap", 78)
        self.assertIn("nowhere/node_modules/@agoric/xsnap", d.log())
        self.assertIn("make xsnap", d.log())


class DeterminismTest(DaemonTest):
    """The 8-vat creation scenario in JavaScript, ten times, each with its
    own seeded random delay (0-300 ms) before every worker boots."""

    RUNS = 10

    def run_once(self, seed):
        tmp = os.path.join(self.tmp, "run%d" % seed)
        os.makedirs(tmp)
        cfg = scenario_config(tmp, "eight", workers={
            "xsnap": [sys.executable, SLOWBOOT, str(seed), WORKER]})
        d = Daemon(tmp, cfg)  # its own log too
        self.daemons.append(d)
        d.start()
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        st = d.status()
        p = d.ok("promise", kpid=st["bootstrapResult"])
        created = [m.split(" kernel: ", 1)[1] for m in d.log().splitlines()
                   if ": created in crank " in m]
        out = (r["activityHash"], [t for _, t in d.test_logs()],
               [(v["vatID"], v["name"], v["state"]) for v in st["vats"]],
               created, p)
        d.stop()
        return out

    def test_eight_vats_ten_runs_same_hash(self):
        first = self.run_once(0)
        self.assertEqual(first[4]["state"], "fulfilled", first[4])
        self.assertGreaterEqual(len(first[3]), 8)
        for seed in range(1, self.RUNS):
            again = self.run_once(seed)
            self.assertEqual(again[0], first[0], "seed %d" % seed)
            self.assertEqual(again[1:], first[1:], "seed %d" % seed)


class CompareWithJsKernel(DaemonTest):
    """The same scenario gives the same testLog lines and the same
    resolution of bootstrap()'s result on both kernels."""

    def compare(self, name):
        self.assertTrue(os.path.exists(os.path.join(
            XSNAP_DIR, "node_modules", "better-sqlite3", "build", "Release",
            "better_sqlite3.node")), "run make jskernel (part of make deps)")
        ref = js_kernel(name)
        d = self.daemon(scenario_config(self.tmp, name))
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        p = d.ok("promise", kpid=d.status()["bootstrapResult"])
        ours = [t for _, t in d.test_logs()]
        theirs = [" ".join(str(a) for a in line) if isinstance(line, list)
                  else str(line) for line in ref["testLog"]]
        self.assertEqual(ours, theirs)
        self.assertEqual(p["state"], ref["bootstrapResult"]["status"])
        self.assertEqual(p["data"]["body"],
                         ref["bootstrapResult"]["capdata"]["body"])
        self.assertEqual(decode(p["data"]) if not p["data"]["slots"] else
                         None, ref["bootstrapResult"]["value"]
                         if not p["data"]["slots"] else None)

    def test_creator(self):
        self.compare("creator")

    def test_eight(self):
        self.compare("eight")

    def test_loop(self):
        self.compare("loop")

    def test_meter(self):
        """Exact computrons charged to meters, as the JS kernel charges."""
        self.compare("meter")

    def test_host_terminate(self):
        """terminateVat from the host (swingctl terminate), as SwingSet's
        controller.terminateVat: the same rejections in the same order,
        and messages sent later to the dead vat rejected."""
        p = subprocess.run(["node", JSKERNEL, os.path.join(
            VATS, "host-terminate", "config.json"), "--terminate",
            "decider:operator says", "--queue", "afterwards"],
            capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        ref = json.loads(p.stdout)
        d = self.daemon(scenario_config(self.tmp, "host-terminate"))
        self.assertTrue(d.ok("run")["idle"])
        rc, out, err = swingctl("terminate", "--vat", "decider",
                                "operator says", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertTrue(d.ok("run")["idle"])
        self.assertEqual(d.vat("decider")["state"], "terminated")
        k = d.ok("queue", vat="bootstrap", method="afterwards",
                 args={"body": "#[]", "slots": []})["kpid"]
        self.assertTrue(d.ok("run")["idle"])
        self.assertEqual([t for _, t in d.test_logs()], ref["testLog"])
        self.assertIn("afterForever rejected: vat terminated", ref["testLog"])
        q = d.ok("promise", kpid=k)
        self.assertEqual((q["state"], q["data"]["body"]),
                         (ref["queued"][0]["status"],
                          ref["queued"][0]["capdata"]["body"]))


if __name__ == "__main__":
    main()
