"""test_crank_order.py — the order of events, the same on both kernels
(issue 15, "SwingSet's crank order").

SwingSet puts every new event on an acceptance queue and routes it in a
routing crank of its own, which has priority over deliveries
(kernel-semantics.md §6.1-§6.3, §7.3, §8.3, §10): a message sent to an
unresolved promise is queued on that promise at once, comes back when
the promise settles (after the notifies of that resolution), and a
message queued on a promise whose decider dies splats at once.  These
scenarios are real JavaScript vats on the real xsnap worker; each runs
on the daemon and on Agoric's JavaScript kernel (run-swingset.mjs), and
their testLog lines must be equal, line for line, in order, and so must
the resolution of bootstrap().

    tests/vats/patterns        35 message patterns among alice, bob, carol
    tests/vats/terminate-order messages queued on a promise whose decider
                               dies: terminateWithFailure, exitVat,
                               exitVatWithFailure; static and dynamic
                               vats; with and without talking first

Each JavaScript-kernel run is made once per test run; the determinism
test makes a second one of each scenario.  The JavaScript kernel keeps its
bundles (its own kernel bundle above all, about 15 s to make) in a folder
of this run (SWINGSET_BUNDLE_CACHE of run-swingset.mjs).  Needs `make
deps`.
"""
import atexit
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DaemonTest, decode, main  # noqa: E402
from test_xsnap import XSNAP_DIR, js_kernel, scenario_config  # noqa: E402

# The JavaScript kernel's runs: (scenario, n) -> future of its output.
# One at a time, in a thread of their own, so that they run while the
# daemon does (the daemon's side of a test starts once its run is asked
# for).
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
_js_runs = {}
_tmp = tempfile.mkdtemp(prefix="swingsetd-crank-order-")
atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
if "SWINGSET_BUNDLE_CACHE" not in os.environ:
    os.environ["SWINGSET_BUNDLE_CACHE"] = os.path.join(_tmp, "bundles")
    os.mkdir(os.environ["SWINGSET_BUNDLE_CACHE"])


def js_start(name, n=0):
    """Start the scenario's n-th JavaScript-kernel run (if not yet),
    on the very bundles the daemon gets (test_xsnap.bundle), from a copy
    of its config.json with bundleSpecs: js_kernel() joins tests/vats
    with NAME, and an absolute NAME stands for itself."""
    if (name, n) not in _js_runs:
        folder = os.path.join(_tmp, "%s-%d" % (name, n))
        os.mkdir(folder)
        cfg = scenario_config(folder, name)
        del cfg["daemon"]
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f)
        _js_runs[name, n] = _pool.submit(js_kernel, folder)
    return _js_runs[name, n]


def js_run(name, n=0):
    """The output of the scenario's n-th JavaScript-kernel run."""
    return js_start(name, n).result()


def js_lines(ref):
    return [" ".join(str(a) for a in line) if isinstance(line, list)
            else str(line) for line in ref["testLog"]]


def pattern_lines(lines, tag):
    return [t for t in lines if t.split(" ", 1)[0] == tag]


class CrankOrderTest(DaemonTest):

    SCENARIOS = ("patterns", "terminate-order")

    @classmethod
    def setUpClass(cls):
        for name in cls.SCENARIOS:      # while the daemon runs
            js_start(name)

    def setUp(self):
        super().setUp()
        self.assertTrue(os.path.exists(os.path.join(
            XSNAP_DIR, "node_modules", "better-sqlite3", "build", "Release",
            "better_sqlite3.node")), "run make jskernel (part of make deps)")

    def daemon_run(self, name):
        """The scenario on the daemon: (testLog lines, bootstrap result)."""
        d = self.daemon(scenario_config(self.tmp, name))
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        self.assertIsNone(r["halted"], d.log())
        p = d.ok("promise", kpid=d.status()["bootstrapResult"])
        lines = [t for _, t in d.test_logs()]
        self.assertEqual(d.stop(), 0, d.log())
        return lines, p

    def compare(self, name, groups):
        """Both kernels, the same lines; a failure names the first group
        (pattern or case) whose lines differ, with both orders."""
        js_start(name)
        ours, p = self.daemon_run(name)
        ref = js_run(name)
        theirs = js_lines(ref)
        differ = []
        for g in groups:
            a, b = pattern_lines(ours, g), pattern_lines(theirs, g)
            if a != b:
                differ.append("%s:\n  daemon:\n    %s\n  SwingSet:\n    %s" % (
                    g, "\n    ".join(a), "\n    ".join(b)))
        if differ:
            self.fail("%d of %d differ:\n%s" % (len(differ), len(groups),
                                                "\n".join(differ)))
        self.assertEqual(ours, theirs)
        self.assertEqual(p["state"], ref["bootstrapResult"]["status"])
        self.assertEqual(p["data"]["body"],
                         ref["bootstrapResult"]["capdata"]["body"])
        self.assertEqual(decode(p["data"]), ref["bootstrapResult"]["value"])
        return theirs

    def test_patterns(self):
        names = ["p%02d" % i for i in range(1, 36)]
        lines = self.compare("patterns", names)
        self.assertEqual(js_run("patterns")["bootstrapResult"]["value"],
                         "35 patterns, 0 failed")
        # a70 as SwingSet runs it: each pipelined send waits for the
        # notify of the promise it was sent to
        self.assertEqual(pattern_lines(lines, "p07"), [
            "p07 bob: pipe1",
            "p07 alice: p1.then fulfilled <Alleged: pipe2>",
            "p07 bob: pipe2",
            "p07 alice: p2.then fulfilled <Alleged: pipe3>",
            "p07 bob: pipe3",
            "p07 alice: p3.then fulfilled end",
            "p07 settled: settled"])

    def test_terminate_order(self):
        cases = ["d-twf", "d-twf-talk", "d-happy", "d-happy-talk",
                 "d-happy-in", "d-sad", "d-sad-talk", "d-sad-in",
                 "s-happy", "s-happy-in", "s-sad", "s-sad-talk"]
        lines = self.compare("terminate-order", cases)
        # SwingSet splats the message queued on foreverP as soon as its
        # decider dies: its sender sees afterForeverP rejected before
        # foo4P (sent to the decider after the death).
        for c in cases:
            mine = [t.split(" ", 2)[1] for t in pattern_lines(lines, c)]
            self.assertLess(mine.index("afterForeverP"),
                            mine.index("foo4P"), c)


class JsKernelIsDeterministic(unittest.TestCase):
    """A second JavaScript-kernel run of each scenario gives the same
    lines (so that a difference from the daemon is never SwingSet's
    chance).  After CrankOrderTest (unittest runs classes by name)."""

    def test_same_lines_twice(self):
        for name in CrankOrderTest.SCENARIOS:
            js_start(name, 1)
        for name in CrankOrderTest.SCENARIOS:
            first, again = js_run(name), js_run(name, 1)
            self.assertEqual(js_lines(again), js_lines(first), name)
            self.assertEqual(again["bootstrapResult"],
                             first["bootstrapResult"], name)


if __name__ == "__main__":
    main()
