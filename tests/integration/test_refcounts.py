"""test_refcounts.py — the kernel's reference counts and c-lists, the same
on both kernels (kernel-semantics.md §9).

Each scenario of tests/vats runs on the daemon and on Agoric's
JavaScript kernel (run-swingset.mjs), both with SwingSet's reaping
defaults (a bringOutYourDead after every delivery, kernel-semantics
§9.7), so liveslots makes its GC syscalls (dropImports, retireImports,
retireExports) and the kernel its GC deliveries.  Then their kernel kv
stores are compared, key by key:

    numbering  the vat and device IDs of each name (vat.name.X,
               device.name.X, vat.names, vat.dynamicIDs, and
               vats.terminated: empty once cleaned up), the vats' roots
               (vN.c.o+0)
               and the counters (ko.nextID…) at the end
    krefs      which kernel promises (kpN.state) and objects (koN.owner)
               exist: a settled promise nobody refers to any more is
               deleted at the end of its crank
    clists     every vat's c-list entries vN.c.koN / vN.c.kpN / vN.c.kdN
               with their values ("R o-5", "_ o+3", "p+2"…)
    devices    which device nodes exist (kdN.owner) and the devices'
               c-lists dN.c.koN / dN.c.kdN… (a device's import counts)
    refcounts  every koN.refCount ("reachable,recognizable") and
               kpN.refCount ("N")
    reaping    every vat's reap dirt (vN.reapDirt) and the reap queue
    stats      the kernel statistics (kernelStats, local.kernelStats:
               SwingSet's controller.getStats()) as written at the last
               crank, every one of them, and the two keys' text byte for
               byte; and status's kernelStats are the daemon's kv's

Every part compares krefs and vat IDs as they are, so all need both
kernels to number vats, devices, objects and promises alike; numbering
and krefs tell first where the numbering parts.  The daemon's kv table is
read from its LMDB file (harness.kv_table) after a commit and a
shutdown; the JavaScript kernel's with run-swingset.mjs --kv, through
test_xsnap.js_kernel (whose outputs SWINGSET_JS_RESULTS keeps).  Needs
`make deps` and mdb_dump.
"""
import atexit
import concurrent.futures
import json
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, kv_table, main, swingctl  # noqa: E402
from test_xsnap import WORKER, XSNAP_DIR, js_kernel, scenario_config  # noqa: E402

harness.RUN_CLEANUP = None      # runs clean up wholly, as on SwingSet

# The keys compared (both kernels are asked for exactly these).
NUMBERING = (r"^(vat\.name\.[^.]+|device\.name\.[^.]+|vat\.dynamicIDs"
             r"|vat\.names|vats\.terminated"
             r"|(ko|kp|kd|vat|device)\.nextID|vatAdminRootKref"
             r"|v\d+\.c\.o\+0)$")
STATS = r"^(local\.)?kernelStats$"
KV_REGEX = (r"^(kp\d+\.(state|refCount)|ko\d+\.(owner|refCount)"
            r"|kd\d+\.owner|[vd]\d+\.c\.(ko|kp|kd)\d+"
            r"|v\d+\.reapDirt|reapQueue)$|" + NUMBERING + "|" + STATS)

# name -> (daemon steps after the first run, run-swingset.mjs actions).
# A daemon step is ("terminate", VAT, MESSAGE) or ("queue", METHOD);
# each is followed by a run to idle, as run-swingset.mjs does.
#
# Left out: "eight", whose dynamic vats are made in swingsetd's creation
# order (the pseudo-crank runs ahead of the run-queue, README "Cranks and
# their order"), so its later krefs are numbered otherwise.  Both kernels
# clean terminated vats up wholly (SwingSet's default run policy; the
# daemon's runs here ask for it: harness.RUN_CLEANUP).
SCENARIOS = {
    "creator": ((), ()),
    "patterns": ((), ()),
    "meter": ((), ()),
    "loop": ((), ()),
    "host-terminate": (
        (("terminate", "decider", "operator says"), ("queue", "afterwards")),
        ("--terminate", "decider:operator says", "--queue", "afterwards")),
    "terminate-order": ((), ()),
}


_tmp = tempfile.mkdtemp(prefix="swingsetd-refcounts-")
atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
if "SWINGSET_BUNDLE_CACHE" not in os.environ:
    os.environ["SWINGSET_BUNDLE_CACHE"] = os.path.join(_tmp, "bundles")
    os.mkdir(os.environ["SWINGSET_BUNDLE_CACHE"])


def reap_config(folder, name):
    """The scenario's config (test_xsnap.scenario_config, daemon section
    in folder) with SwingSet's reaping defaults."""
    cfg = scenario_config(folder, name)
    # as the config says on both kernels (Daemon would pin it otherwise)
    cfg.setdefault("pinBootstrapRoot", False)
    for key in ("defaultReapInterval", "defaultReapGCKrefs"):
        cfg.pop(key, None)
    return cfg


# ---- the JavaScript kernel ----------------------------------------------

# One run at a time, in a thread of its own, while the daemon runs.
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
_js_runs = {}


def js_start(name):
    if name not in _js_runs:
        folder = os.path.join(_tmp, "js-" + name)
        os.mkdir(folder)
        cfg = reap_config(folder, name)
        del cfg["daemon"]
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f)
        actions = list(SCENARIOS[name][1]) + ["--kv", KV_REGEX]
        _js_runs[name] = _pool.submit(js_kernel, folder, actions)
    return _js_runs[name]


def js_kv(name):
    return js_start(name).result()["kv"]


# ---- the daemon ---------------------------------------------------------

_daemon_runs = {}
_status_stats = {}      # name -> status's kernelStats at the end


def daemon_kv(name):
    """The scenario on the daemon: its committed kv keys (KV_REGEX) after
    a shutdown, or an AssertionError (kept, so that each test of the
    scenario reports it)."""
    if name not in _daemon_runs:
        try:
            _daemon_runs[name] = _daemon_run(name)
        except AssertionError as e:
            _daemon_runs[name] = e
    r = _daemon_runs[name]
    if isinstance(r, AssertionError):
        raise r
    return r


def _daemon_run(name):
    folder = os.path.join(_tmp, "daemon-" + name)
    os.mkdir(folder)
    d = Daemon(folder, reap_config(folder, name))
    d.start()
    try:
        def run():
            r = d.ok("run")
            assert r["idle"] and r["halted"] is None, (r, d.log()[-3000:])
        run()
        for step in SCENARIOS[name][0]:
            if step[0] == "terminate":
                rc, _, err = swingctl("terminate", "--vat", step[1], step[2],
                                      sock=d.socket)
                assert rc == 0, err
            else:
                d.ok("queue", vat="bootstrap", method=step[1],
                     args={"body": "#[]", "slots": []})
            run()
        st = d.status()
        _status_stats[name] = st["kernelStats"]
        # the open block is not in the LMDB file until it is committed
        # (a stop drops it: harness.kv_table)
        d.ok("commit", height=st["height"] + 1)
        d.ok("shutdown")
        rc = d.proc.wait(30)
        assert rc == 0, "swingsetd exited %d:\n%s" % (rc, d.log()[-3000:])
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(10)
    kv = kv_table(d.config["daemon"]["stateDir"], KV_REGEX)
    return kv




# ---- comparing ----------------------------------------------------------

def natural(key):
    """kp2 before kp10, v2.c.ko3 before v10.c.ko1."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def pick(kv, regex):
    return {k: v for k, v in kv.items() if re.match(regex, k)}


def diff(ours, theirs, limit=80):
    """A readable difference of two {key: value}, '' if none: the keys
    each kernel alone has and the values that differ, in natural order."""
    only_ours = sorted(set(ours) - set(theirs), key=natural)
    only_theirs = sorted(set(theirs) - set(ours), key=natural)
    changed = sorted((k for k in set(ours) & set(theirs)
                      if ours[k] != theirs[k]), key=natural)
    out = []
    for title, keys, show in (
            ("only on the daemon", only_ours, lambda k: "%s = %s" % (
                k, ours[k])),
            ("only on the JavaScript kernel", only_theirs,
             lambda k: "%s = %s" % (k, theirs[k])),
            ("different (daemon | JavaScript kernel)", changed,
             lambda k: "%s = %s | %s" % (k, ours[k], theirs[k]))):
        if keys:
            out.append("%s: %d" % (title, len(keys)))
            out.extend("    " + show(k) for k in keys[:limit])
            if len(keys) > limit:
                out.append("    … %d more" % (len(keys) - limit))
    if out:
        out.insert(0, "%d keys on the daemon, %d on the JavaScript kernel"
                   % (len(ours), len(theirs)))
    return "\n".join(out)


def kernel_stats(kv):
    """The statistics of both kv keys, as one {name: number}."""
    out = {}
    for key in ("local.kernelStats", "kernelStats"):
        if key in kv:
            out.update(json.loads(kv[key]))
    return out


@unittest.skipUnless(os.path.exists(WORKER), "needs make xsnap")
@unittest.skipUnless(shutil.which("mdb_dump"), "needs mdb_dump")
class RefCountTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(
                XSNAP_DIR, "node_modules", "better-sqlite3", "build",
                "Release", "better_sqlite3.node")):
            raise AssertionError("run make jskernel (part of make deps)")
        for name in SCENARIOS:          # while the daemon runs
            js_start(name)

    def compare(self, name, regex, what):
        kv = daemon_kv(name)
        ours = pick(kv, regex)
        theirs = pick(js_kv(name), regex)
        self.assertTrue(theirs, "no %s on the JavaScript kernel" % what)
        d = diff(ours, theirs)
        if d:
            self.fail("%s: %s differ\n%s" % (name, what, d))

    def numbering(self, name):
        """The same vat and device IDs for the same names, the same root
        objects (vN.c.o+0) and the same ID counters at the end."""
        self.compare(name, NUMBERING, "vat/device IDs, roots, counters")

    def krefs(self, name):
        """(a): the same kernel promises and objects exist."""
        self.compare(name, r"kp\d+\.state$|ko\d+\.owner$",
                     "kernel promises (state) and objects (owner)")

    def clists(self, name):
        """(c): the same c-list entries kref -> vref."""
        self.compare(name, r"v\d+\.c\.(ko|kp|kd)\d+$", "c-lists")

    def devices(self, name):
        """The same device nodes and device c-lists (a device's import
        of an object counts in its refCount too)."""
        self.compare(name, r"kd\d+\.owner$|d\d+\.c\.(ko|kp|kd)\d+$",
                     "device nodes (owner) and device c-lists")

    def refcounts(self, name):
        """(b): the same reference counts."""
        self.compare(name, r"(ko|kp)\d+\.refCount$", "reference counts")

    def reaping(self, name):
        """Every vat's reap dirt and the reap queue, as JSON values; and
        the daemon did bring out the dead (a dirt record per vat)."""
        kv = daemon_kv(name)
        regex = r"v\d+\.reapDirt$|reapQueue$"
        ours = pick(kv, regex)
        theirs = pick(js_kv(name), regex)
        self.assertTrue(any(k.endswith("reapDirt") for k in ours), ours)
        self.assertEqual({k: json.loads(v) for k, v in ours.items()},
                         {k: json.loads(v) for k, v in theirs.items()})

    def stats(self, name):
        """The same kernel statistics (kernelStats, local.kernelStats:
        SwingSet's controller.getStats()) at the end."""
        kv = daemon_kv(name)
        ours, theirs = kernel_stats(kv), kernel_stats(js_kv(name))
        self.assertTrue(theirs, "no kernelStats on the JavaScript kernel")
        self.assertEqual(_status_stats[name], ours,
                         "status's kernelStats are not the kv's")
        d = diff(ours, theirs)
        if d:
            self.fail("%s: kernel statistics differ\n%s" % (name, d))
        # and the keys' text, byte for byte (SwingSet's JSON.stringify,
        # its key order: kernelStats is hashed)
        for key in ("kernelStats", "local.kernelStats"):
            self.assertEqual(kv[key], js_kv(name)[key], key)


def _add_tests():
    for name in SCENARIOS:
        ident = name.replace("-", "_")
        for part in ("numbering", "krefs", "clists", "devices",
                     "refcounts", "reaping", "stats"):
            def test(self, name=name, part=part):
                getattr(self, part)(name)
            test.__name__ = "test_%s_%s" % (ident, part)
            test.__doc__ = "%s: %s" % (name, part)
            setattr(RefCountTest, test.__name__, test)


_add_tests()


if __name__ == "__main__":
    main()
