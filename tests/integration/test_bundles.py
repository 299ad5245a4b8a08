"""test_bundles.py — installBundle and `swingctl bundle install` against the
real daemon, with real bundles: a tiny vat bundled by @endo/bundle-source
(workers/xsnap/bundle.mjs, the pinned install of `make xsnap`), and
spoilt copies of it.  Each verdict of the daemon is compared with that of
@endo/check-bundle, the check SwingSet 0.33's installBundle runs, on the
same bytes.  Also: the bundle is durable at once (a restart that drops the
open block keeps it) and leaves the activity hash alone.

Skipped when node or the xsnap install is missing (`make deps` makes it).
"""
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ROOT, DaemonTest, default_config, main,  # noqa: E402
                     swingctl)


FAKE = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "fakeworker.py")]


def fake(**options):
    """A scripted worker's vat (tests/integration/fakeworker.py)."""
    return {"moduleFormat": "testworker", "vat": "fake", "options": options}

XSNAP = os.path.join(ROOT, "workers", "xsnap")
BUNDLER = os.path.join(XSNAP, "bundle.mjs")
HAVE_NODE = shutil.which("node") is not None and os.path.isdir(
    os.path.join(XSNAP, "node_modules", "@endo", "bundle-source"))

VAT = 'export const buildRootObject = () => ({ hello: () => "hi" });\n'

# bundle-source, for a checkout whose bundle.mjs is not there.
BUNDLE_JS = """
import "@endo/init";
import bundleSource from "@endo/bundle-source";
const b = await bundleSource(process.env.ENTRY, { format: "endoZipBase64" });
process.stdout.write(JSON.stringify(b));
"""

# SwingSet's check: the bundle's shape, then checkBundle, for each bundle of
# a JSON array on stdin; prints [{ok, why}] in the same order.
CHECK_JS = """
import "@endo/init";
import crypto from "node:crypto";
import { checkBundle } from "@endo/check-bundle/lite.js";
const sha = (b) => crypto.createHash("sha512").update(b).digest("hex");
const keys = ["endoZipBase64", "endoZipBase64Sha512", "moduleFormat"];
let input = "";
for await (const c of process.stdin) input += c;
const out = [];
for (const b of JSON.parse(input)) {
  try {
    if (JSON.stringify(Object.keys(b).sort()) !== JSON.stringify(keys))
      throw Error("not the shape of an endoZipBase64 bundle");
    await checkBundle(harden(b), sha, "bundle");
    out.push({ ok: true });
  } catch (e) {
    out.push({ ok: false, why: String(e.message) });
  }
}
process.stdout.write(JSON.stringify(out));
"""


def node(script, stdin=None, env=None):
    """Run an ES module script where it finds the pinned node_modules."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(["node", "--input-type=module", "-e", script],
                       cwd=XSNAP, input=stdin, capture_output=True,
                       text=True, env=e, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def make_bundle(tmp):
    """Bundle VAT in its own package under tmp; the bundle object."""
    pkg = os.path.join(tmp, "tinyvat")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "package.json"), "w") as f:
        json.dump({"name": "tinyvat", "version": "1.0.0", "type": "module"}, f)
    entry = os.path.join(pkg, "vat.js")
    with open(entry, "w") as f:
        f.write(VAT)
    if os.path.exists(BUNDLER):
        out = os.path.join(tmp, "tinyvat.json")
        p = subprocess.run(["node", BUNDLER, entry, out], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        with open(out) as f:
            return json.load(f)
    return json.loads(node(BUNDLE_JS, env={"ENTRY": entry}))


def check_bundle(bundles):
    """@endo/check-bundle's verdicts on bundles."""
    return json.loads(node(CHECK_JS, stdin=json.dumps(bundles)))


def zip_files(bundle):
    z = zipfile.ZipFile(io.BytesIO(base64.b64decode(bundle["endoZipBase64"])))
    return [(i.filename, z.read(i)) for i in z.infolist()]


def rezip(bundle, files, method=zipfile.ZIP_STORED):
    """bundle with its archive rebuilt from files (its Sha512 kept)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files:
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data,
                       compress_type=method)
    return dict(bundle, endoZipBase64=base64.b64encode(out.getvalue()).decode())


@unittest.skipUnless(HAVE_NODE, "node or workers/xsnap/node_modules missing "
                     "(make deps)")
class InstallBundle(DaemonTest):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.ctmp = tempfile.mkdtemp(prefix="swingsetd-bundle-")
        cls.bundle = make_bundle(cls.ctmp)
        cls.bundle_id = "b1-" + cls.bundle["endoZipBase64Sha512"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.ctmp, ignore_errors=True)

    def spoilt(self):
        """name -> (bundle, what our reason must say)."""
        b = self.bundle
        s = b["endoZipBase64"]
        files = zip_files(b)
        (map_name, cmap), (mod_name, mod) = files
        other = hashlib.sha512(b"something else").hexdigest()
        # base64 character 100 holds bytes 75..77: inside
        # compartment-map.json, whose data starts at byte 50
        i, c = 100, "A" if s[100] != "A" else "B"
        cut = (len(s) - 40) // 4 * 4
        return {
            "one character": (dict(b, endoZipBase64=s[:i] + c + s[i + 1:]),
                              "CRC-32"),
            "cut anywhere": (dict(b, endoZipBase64=s[:len(s) - 41]),
                             "missing padding"),
            "cut at a group": (dict(b, endoZipBase64=s[:cut]),
                               "truncated or not a zip archive"),
            "wrong hash": (dict(b, endoZipBase64Sha512=other),
                           "bundle endoZipBase64Sha512 does not match its "
                           "contents (computed " + b["endoZipBase64Sha512"]),
            "no compartment map": (rezip(b, [(mod_name, mod),
                                             ("tinyvat-v1.0.0/x.js", mod)]),
                                   "the archive has no compartment-map.json"),
            "module changed": (rezip(b, [(map_name, cmap),
                                         (mod_name, mod.replace(b"hi", b"ho"))]),
                               "failed its SHA-512 check"),
            "deflated": (rezip(b, files, zipfile.ZIP_DEFLATED), "CRC-32"),
            "extra file": (rezip(b, files + [("tinyvat-v1.0.0/x.js", mod)]),
                           "no module of the compartment map uses"),
            "extra property": (dict(b, extra="x"),
                               "bundle property 'extra' is not allowed"),
        }

    def test_real_bundle_id(self):
        d = self.daemon()
        before = d.status()
        r = d.call("installBundle", bundle=self.bundle)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["bundleID"], self.bundle_id)
        self.assertRegex(self.bundle_id, r"^b1-[0-9a-f]{128}$")
        self.assertEqual(check_bundle([self.bundle]), [{"ok": True}])
        # again, and with its ID alleged: the same answer
        self.assertEqual(d.ok("installBundle", bundle=self.bundle,
                              bundleID=self.bundle_id)["bundleID"],
                         self.bundle_id)
        # one crank of the open block installed it; the second, finding
        # it there, did nothing
        after = d.status()
        self.assertEqual(after["crankNumber"], before["crankNumber"] + 1)
        self.assertNotEqual(after["activityHash"], before["activityHash"])
        self.assertTrue(after["blockOpen"])
        self.assertEqual(after["height"], before["height"])
        self.assertIn("bundle %s installed" % self.bundle_id, d.log())
        self.assertIn("bundle %s was already installed" % self.bundle_id,
                      d.log())

    def test_spoilt_bundles_refused_as_swingset_does(self):
        d = self.daemon()
        cases = self.spoilt()
        verdicts = check_bundle([b for b, _ in cases.values()])
        c = d.client()
        for (name, (bundle, why)), js in zip(cases.items(), verdicts):
            r = c.call("installBundle", bundle=bundle)
            self.assertFalse(js["ok"], "check-bundle accepts %s" % name)
            self.assertFalse(r["ok"], "swingsetd accepts %s" % name)
            self.assertEqual(r["error"]["code"], "bad_bundle", (name, r))
            self.assertIn(why, r["error"]["message"], name)
        # the connection and the daemon still serve, the real one installs
        self.assertEqual(c.ok("installBundle", bundle=self.bundle)["bundleID"],
                         self.bundle_id)
        c.close()
        self.assertTrue(d.alive())

    def test_rebuilt_archive_accepted_as_swingset_does(self):
        """Another zip writer (Python's), same files: both accept it, and
        the ID is the same, since it names compartment-map.json."""
        d = self.daemon()
        b = rezip(self.bundle, zip_files(self.bundle))
        self.assertNotEqual(b["endoZipBase64"], self.bundle["endoZipBase64"])
        self.assertEqual(check_bundle([b]), [{"ok": True}])
        self.assertEqual(d.ok("installBundle", bundle=b)["bundleID"],
                         self.bundle_id)

    def test_other_refusals(self):
        d = self.daemon()
        wrong = "b1-" + "0" * 128
        r = d.call("installBundle", bundle=self.bundle, bundleID=wrong)
        self.assertEqual(r["error"]["code"], "bad_bundle")
        self.assertIn("bundleID '%s' does not match the bundle's ID %s" % (
            wrong, self.bundle_id), r["error"]["message"])
        r = d.call("installBundle", bundle={"moduleFormat": "getExport",
                                            "source": "x"})
        self.assertEqual(r["error"]["code"], "bad_bundle")
        self.assertIn("not necessarily consistent", r["error"]["message"])
        r = d.call("installBundle", bundle="b1-00")
        self.assertEqual(r["error"]["code"], "bad_request")
        # ours: a testworker bundle gets its b0- ID
        tw = {"moduleFormat": "testworker", "vat": "echo"}
        text = json.dumps(tw, sort_keys=True, separators=(",", ":"))
        self.assertEqual(d.ok("installBundle", bundle=tw)["bundleID"],
                         "b0-" + hashlib.sha256(text.encode()).hexdigest())

    def test_swingctl_bundle_install(self):
        d = self.daemon()
        path = os.path.join(self.tmp, "b.json")
        with open(path, "w") as f:
            json.dump(self.bundle, f)
        rc, out, err = swingctl("bundle", "install", path, sock=d.socket)
        self.assertEqual((rc, out), (0, self.bundle_id + "\n"), err)
        rc, out, err = swingctl("bundle", "install", path, "--json",
                                sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out), {"bundleID": self.bundle_id})
        bad, why = self.spoilt()["wrong hash"]
        with open(path, "w") as f:
            json.dump(bad, f)
        rc, out, err = swingctl("bundle", "install", path, sock=d.socket)
        self.assertEqual(rc, 1)
        self.assertIn("bad_bundle: " + why, err)
        rc, _, err = swingctl("bundle", "install",
                              os.path.join(self.tmp, "none.json"),
                              sock=d.socket)
        self.assertEqual(rc, 66)
        self.assertIn("none.json", err)
        with open(path, "w") as f:
            f.write("[1]")
        rc, _, err = swingctl("bundle", "install", path, sock=d.socket)
        self.assertEqual(rc, 66)
        self.assertIn("not a JSON object", err)
        self.assertEqual(swingctl("bundle", "frob", path, sock=d.socket)[0], 64)
        self.assertEqual(swingctl("bundle", "install", sock=d.socket)[0], 64)
        rc, _, err = swingctl("--help")
        self.assertIn("bundle install FILE", err)

    def test_install_is_a_block_input(self):
        """installBundle is a crank of the open block, as SwingSet's
        kernel.installBundle is: the same inputs give the same hash, and
        installing moves the crank count."""
        hashes = []
        for run in range(2):
            tmp = os.path.join(self.tmp, "d%d" % run)
            os.makedirs(tmp)
            d = self.daemon(default_config(tmp))
            d.ok("queue", vat="alice", method="echo")
            before = d.status()["crankNumber"]
            d.ok("installBundle", bundle=self.bundle)
            self.assertEqual(d.status()["crankNumber"], before + 1)
            self.assertTrue(d.ok("run")["idle"])
            d.ok("installBundle", bundle=self.bundle)   # already there
            hashes.append(d.ok("commit", height=1)["activityHash"])
            d.stop()
        self.assertEqual(hashes[0], hashes[1])

    def test_a_lost_block_loses_its_install(self):
        """issue 11 defect 3: a bundle installed in a block that is lost
        (kill -9 before the commit) is lost with it, so the producer's
        replay of the block sees what the first run saw: a vat that asked
        for the bundle before the install gets no bundlecap both times.
        The install used to be written beside the block, and the replay
        differed (another activity hash)."""
        ask = ["callNow", "d-70", "getBundleCap",
               {"body": '#["%s"]' % self.bundle_id, "slots": []}]

        def start(sub):
            tmp = os.path.join(self.tmp, sub)
            os.makedirs(tmp)
            cfg = default_config(tmp, {
                "bootstrap": fake(on="message", syscalls=[ask]),
                "vatAdmin": fake(log_deliveries=True)})
            cfg["daemon"]["workers"] = {"testworker": FAKE}
            return self.daemon(cfg)

        def block(d):
            d.ok("run")                 # bootstrap(): not installed yet
            d.ok("installBundle", bundle=self.bundle)
            d.ok("queue", vat="bootstrap", method="again")
            self.assertEqual(d.ok("run")["stopped"], "idle")

        ref = start("ref")
        block(ref)
        want = ref.ok("commit", height=1)["activityHash"]
        ref.stop()
        # the vat-admin vat was told, as SwingSet tells it (this is what
        # answers E(vatAdminService).waitForBundleCap(id))
        self.assertIn('"methargs": {"body": "#[\\"bundleInstalled\\",[\\"%s\\"]]"'
                      % self.bundle_id, ref.log())
        d = start("crash")
        block(d)
        d.kill9()
        d.start()
        self.assertEqual(d.status()["height"], 0)
        block(d)                        # the producer sends it again
        self.assertEqual(d.ok("commit", height=1)["activityHash"], want)

    def bundle_keys(self, d):
        """The keys of the bundles table, read with mdb_dump."""
        p = subprocess.run(["mdb_dump", "-p", "-s", "bundles",
                            d.config["daemon"]["stateDir"]],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        # after HEADER=END: a key line, a value line, …, DATA=END
        body = p.stdout.split("HEADER=END\n", 1)[1].split("DATA=END", 1)[0]
        return [k.strip() for k in body.split("\n")[0::2] if k.strip()]

    @unittest.skipUnless(shutil.which("mdb_dump"), "mdb_dump missing")
    def test_committed_with_its_block(self):
        d = self.daemon()
        self.assertTrue(d.status()["blockOpen"])
        d.ok("installBundle", bundle=self.bundle)
        d.kill9()
        # the block was lost, and the bundle with it
        self.assertNotIn(self.bundle_id, self.bundle_keys(d))
        d.start()
        self.assertEqual(d.status()["height"], 0)
        d.ok("installBundle", bundle=self.bundle)
        d.ok("installBundle", bundle=self.bundle)
        self.assertIn("bundle %s was already installed" % self.bundle_id,
                      d.log())
        d.ok("run")
        d.ok("commit", height=1)
        d.stop()
        self.assertIn(self.bundle_id, self.bundle_keys(d))

if __name__ == "__main__":
    main()
