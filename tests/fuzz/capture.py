#!/usr/bin/env python3
"""capture.py — seed the fuzz corpora from the traffic of the integration
tests.

    python3 tests/fuzz/capture.py run [--out DIR] [TEST.py ...]
    python3 tests/fuzz/capture.py seeds [--out DIR]

`run` runs integration suites (default: the quick testworker ones below)
against bin/ with three taps, and keeps what they saw in DIR (default
build-fuzz/capture):
  - every byte a test client sends on the control socket, up to 1 MiB
    per connection (DIR/control/<n>.bin, one file per connection);
  - every configuration file a test daemon starts with (DIR/config/);
  - every byte on every worker's fds 3 and 4: the test worker runs behind
    tests/fuzz/teeworker.py (DIR/worker/<pid>.k2w, .w2k).
A suite that fails under the taps is reported and the others go on: only
the traffic matters here.

`seeds` turns DIR into candidate inputs, DIR/seeds/<name>/, one per
harness, then lets each harness keep only those that add coverage
(`bin-fuzz/fuzz_<name> -merge=1 tests/fuzz/corpus/<name> DIR/seeds/<name>`;
make fuzz-build first):
  control    each request line (without its '\\n'), up to 64 KiB;
  config     each configuration, plus conf/demo.json and
             conf/example-swingset.json, and copies of both whose
             sourceSpec paths name the fuzz harness's own vat.js;
  frame      each frame a worker sent (tag byte first), up to 16 KiB;
  netstring  runs of up to 8 frames of each stream, in both directions,
             as sent, behind the settings byte 0x07 (maxFrame 12000000);
             (corpus/netstring/seed-big-frame, made by hand, asks the
             harness for a 320 KiB frame: the test worker sends none, the
             xsnap boot sends 1 MB ones);
  bundle     tests/unit/data/endo-tiny.json (a real @endo/bundle-source
             bundle) as JSON, its zip archive, its files ('F' form), the
             archive rebuilt by Python's zipfile (as test_bundles.py
             rebuilds it), and every bundle a control request carried.
Files already in the corpus stay; delete a corpus folder first to start
it over.
"""
import base64
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INTEGRATION = os.path.join(ROOT, "tests", "integration")
QUICK = ["test_control.py", "test_kernel.py", "test_testworker.py",
         "test_vat_creation.py", "test_adversarial.py",
         "test_determinism.py"]
NAMES = ["netstring", "control", "frame", "config", "bundle"]


def run(out, tests):
    os.environ.setdefault("SWINGSET_BIN", "bin")
    sys.path.insert(0, INTEGRATION)
    import harness
    for sub in ("control", "config", "worker"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    # Tap 1: the control socket, one file per connection (its first MiB:
    # the line-length tests send 64 MiB).
    counter = [0]
    orig_send = harness.Client.send_raw

    def send_raw(self, data):
        if not hasattr(self, "_tap"):
            counter[0] += 1
            self._tap = os.path.join(out, "control", "%d.bin" % counter[0])
            self._tapped = 0
        if self._tapped < 1 << 20:
            with open(self._tap, "ab") as f:
                f.write(data[:(1 << 20) - self._tapped])
            self._tapped += len(data)
        return orig_send(self, data)
    harness.Client.send_raw = send_raw

    # Tap 2: the configuration each daemon starts with.
    orig_start = harness.Daemon.start

    def start(self, *a, **kw):
        with open(self.config_path, "rb") as f:
            text = f.read()
        name = hashlib.sha1(text).hexdigest() + ".json"
        with open(os.path.join(out, "config", name), "wb") as f:
            f.write(text)
        return orig_start(self, *a, **kw)
    harness.Daemon.start = start

    # Tap 3: the test worker behind teeworker.py.  The daemon passes the
    # worker only PATH, so the real worker and the folder go in a script.
    tee = os.path.join(out, "testworker-tee")
    with open(tee, "w") as f:
        f.write("#!/bin/sh\nexec python3 %s %s %s \"$@\"\n" % (
            os.path.join(HERE, "teeworker.py"), harness.TESTWORKER,
            os.path.join(out, "worker")))
    os.chmod(tee, 0o755)
    harness.TESTWORKER = tee

    failed = []
    for t in tests:
        name = os.path.splitext(os.path.basename(t))[0]
        print("== capture: %s" % name, flush=True)
        try:
            mod = __import__(name)
            suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
            r = unittest.TextTestRunner(verbosity=0).run(suite)
            if not r.wasSuccessful():
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if failed:
        print("capture: suites that failed under the taps (traffic kept): "
              + " ".join(failed))


def netstrings(data):
    """The frames of a netstring stream, as (start, end) of each whole
    netstring, stopping at the first malformed one."""
    out, p = [], 0
    while True:
        m = re.match(rb"(0|[1-9][0-9]*):", data[p:p + 12])
        if not m:
            return out
        n = int(m.group(1))
        q = p + len(m.group(0)) + n
        if q >= len(data) or data[q:q + 1] != b",":
            return out
        out.append((p, q + 1))
        p = q + 1


class Seeds:
    def __init__(self, out):
        self.dir = os.path.join(out, "seeds")
        shutil.rmtree(self.dir, ignore_errors=True)
        for n in NAMES:
            os.makedirs(os.path.join(self.dir, n))
        self.count = dict.fromkeys(NAMES, 0)

    def add(self, name, data):
        path = os.path.join(self.dir, name, hashlib.sha1(data).hexdigest())
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.count[name] += 1


def bundle_forms(seeds, bundle):
    """A bundle as JSON, and for endoZipBase64 also as zip and files."""
    seeds.add("bundle", json.dumps(bundle, separators=(",", ":")).encode())
    if bundle.get("moduleFormat") != "endoZipBase64":
        return
    raw = base64.b64decode(bundle["endoZipBase64"])
    seeds.add("bundle", raw)
    z = zipfile.ZipFile(io.BytesIO(raw))
    files = [(i.filename, z.read(i)) for i in z.infolist()]
    seeds.add("bundle", b"F" + b"\0".join(
        n.encode() + b"\0" + d for n, d in files))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for n, d in files:
            w.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), d)
    seeds.add("bundle", out.getvalue())


def seeds(out):
    s = Seeds(out)
    for path in sorted(glob.glob(os.path.join(out, "control", "*.bin"))):
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                if len(line) <= 65536:
                    s.add("control", line)
                try:
                    req = json.loads(line)
                except ValueError:
                    continue
                if isinstance(req, dict) and isinstance(req.get("bundle"),
                                                        dict):
                    bundle_forms(s, req["bundle"])
    for path in sorted(glob.glob(os.path.join(out, "config", "*.json"))):
        with open(path, "rb") as f:
            s.add("config", f.read())
    for name in ("demo.json", "example-swingset.json"):
        with open(os.path.join(ROOT, "conf", name), "rb") as f:
            text = f.read()
        s.add("config", text)
        # The harness's scratch folder has vat.js and lib/vat.js.
        s.add("config", re.sub(rb'("sourceSpec"\s*:\s*")[^"]*"',
                               rb'\1lib/vat.js"', text))
    for path in sorted(glob.glob(os.path.join(out, "worker", "*"))):
        with open(path, "rb") as f:
            data = f.read()
        frames = netstrings(data)
        for a, b in frames:
            colon = data.index(b":", a)
            if path.endswith(".w2k") and b - a <= 16384 + 8:
                s.add("frame", data[colon + 1:b - 1])
        for i in range(0, len(frames), 8):
            a, b = frames[i][0], frames[min(i + 8, len(frames)) - 1][1]
            if b - a <= 65536:
                s.add("netstring", b"\x07" + data[a:b])
    with open(os.path.join(ROOT, "tests", "unit", "data",
                           "endo-tiny.json")) as f:
        bundle_forms(s, json.load(f))
    for n in NAMES:
        print("capture: %d candidate %s inputs" % (s.count[n], n))
        fuzzer = os.path.join(ROOT, "bin-fuzz", "fuzz_" + n)
        corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", n)
        os.makedirs(corpus, exist_ok=True)
        p = subprocess.run([fuzzer, "-merge=1", corpus,
                            os.path.join(s.dir, n)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("capture: %s -merge=1 failed:\n%s" % (fuzzer,
                                                            p.stderr[-3000:]))
        print("capture: tests/fuzz/corpus/%s: %d files" % (
            n, len(os.listdir(corpus))))


def main():
    args = sys.argv[1:]
    out = os.path.join(ROOT, "build-fuzz", "capture")
    if "--out" in args:
        i = args.index("--out")
        out = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    if not args or args[0] not in ("run", "seeds"):
        sys.exit(__doc__)
    os.chdir(ROOT)
    if args[0] == "run":
        tests = args[1:] or [os.path.join(INTEGRATION, t) for t in QUICK]
        run(out, tests)
    else:
        seeds(out)


if __name__ == "__main__":
    main()
