#!/usr/bin/env python3
"""smoke.py — start the xsnap-worker built by `make xsnap` as SwingSet does
and talk to it over fds 3/4 (netstrings, ../../../shared/docs/worker-protocol.md).

  1. `e1+1` (a `.` reply with meter JSON and an empty result: only an
     ArrayBuffer result is returned), then 1+1 returned as an ArrayBuffer,
     so the reply carries the byte "2";
  2. the lockdown bundle, then the supervisor bundle, each as one `e`;
  3. `setBundle` with the vat-admin vat of @agoric/swingset-vat, bundled
     now with @endo/bundle-source (needs node), expecting ["dispatchReady"];
  4. `startVat`, answering its syscalls from an in-memory vatstore;
  5. `q`: the worker exits 0;
  6. a worker started with `-l` (metered) running an endless loop exits 17.

Run from anywhere; exits non-zero on the first surprise.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NM = os.path.join(HERE, "node_modules")
WORKER = os.path.join(NM, "@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/"
                      "release/xsnap-worker")
LOCKDOWN = os.path.join(NM, "@agoric/xsnap-lockdown/dist/lockdown.bundle")
SUPERVISOR = os.path.join(
    NM, "@agoric/swingset-xsnap-supervisor/dist/supervisor.bundle")
VAT_ADMIN = os.path.join(
    NM, "@agoric/swingset-vat/src/vats/vat-admin/vat-vat-admin.js")


def fail(msg):
    print("smoke: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Worker:
    def __init__(self, *args):
        k2w_r, k2w_w = os.pipe()   # kernel -> worker: the worker's fd 3
        w2k_r, w2k_w = os.pipe()   # worker -> kernel: the worker's fd 4
        # move the child's ends out of the way of 3 and 4 before dup2
        hi_r = os.dup(k2w_r) if k2w_r > 4 else os.dup2(k2w_r, 10)
        hi_w = os.dup(w2k_w) if w2k_w > 4 else os.dup2(w2k_w, 11)

        def child():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        # Python's own descriptors are close-on-exec (PEP 446); dup2 makes
        # 3 and 4 inheritable, so the worker gets 0, 1, 2, 3, 4 only.
        self.proc = subprocess.Popen(
            [WORKER] + list(args), stdin=subprocess.DEVNULL,
            preexec_fn=child, close_fds=False)
        for fd in (k2w_r, w2k_w, hi_r, hi_w):
            os.close(fd)
        self.to_w = os.fdopen(k2w_w, "wb")
        self.from_w = os.fdopen(w2k_r, "rb")

    def send(self, payload):
        self.to_w.write(b"%d:" % len(payload) + payload + b",")
        self.to_w.flush()

    def recv(self):
        n = b""
        while True:
            c = self.from_w.read(1)
            if not c:
                return None            # EOF
            if c == b":":
                break
            if not c.isdigit() or len(n) >= 9:
                fail("bad netstring length prefix %r" % (n + c))
            n += c
        data = self.from_w.read(int(n))
        if len(data) != int(n) or self.from_w.read(1) != b",":
            fail("truncated netstring")
        return data

    def command(self, payload, upcall=None):
        """One command; answers `?` upcalls; returns (meter, result)."""
        self.send(payload)
        while True:
            m = self.recv()
            if m is None:
                fail("worker closed fd 4 (exit %s)" % self.proc.wait())
            tag, rest = m[:1], m[1:]
            if tag == b"?":
                if upcall is None:
                    fail("unexpected upcall %r" % rest[:200])
                self.send(b"/" + upcall(rest))
            elif tag == b".":
                sep = rest.find(b"\x01")
                if sep < 0:
                    return None, rest
                return json.loads(rest[:sep]), rest[sep + 1:]
            elif tag == b"!":
                fail("command failed: %r" % rest[:500])
            else:
                fail("unknown reply tag %r" % m[:50])

    def quit(self):
        self.send(b"q")
        self.to_w.close()
        return self.proc.wait(timeout=10)


def bundle_expr(path):
    with open(path, encoding="utf-8") as f:
        source = json.load(f)["source"]
    # what SwingSet's startXSnap evaluates: `(${source}\n)()`, trimmed
    return ("(" + source + "\n)()").strip().encode()


def main():
    if not os.access(WORKER, os.X_OK):
        fail(WORKER + " is missing: run make xsnap")
    label = "v1:smoke"
    t0 = time.monotonic()
    w = Worker(label)

    # a plain value is not an ArrayBuffer: the reply has an empty result
    meter, result = w.command(b"e1+1")
    if result != b"" or "compute" not in meter:
        fail("e1+1 gave meter %r result %r" % (meter, result))
    meter, result = w.command(
        b"e new TextEncoder().encode(String(1+1)).buffer")
    if result != b"2" or "compute" not in meter:
        fail("e 1+1 gave meter %r result %r" % (meter, result))
    print("e 1+1 -> %r, meter %s" % (result.decode(), json.dumps(
        {k: v for k, v in meter.items() if k != "timestamps"})))

    for name, path in (("lockdown", LOCKDOWN), ("supervisor", SUPERVISOR)):
        payload = b"e" + bundle_expr(path)
        meter, result = w.command(payload)
        print("%s bundle: e of %d bytes -> ok, compute %d, result %r" % (
            name, len(payload), meter["compute"], result))

    bundle = json.loads(subprocess.run(
        ["node", "--input-type=module", "-e",
         "import '@endo/init'; import bundleSource from '@endo/bundle-source';"
         "const b = await bundleSource(process.argv[1]);"
         "process.stdout.write(JSON.stringify(b));", VAT_ADMIN],
        cwd=HERE, check=True, capture_output=True).stdout)
    print("vat-admin bundle: %s, endoZipBase64Sha512 %s…" % (
        bundle["moduleFormat"], bundle["endoZipBase64Sha512"][:16]))

    vatstore = {}
    syscalls = []

    def upcall(raw):
        msg = json.loads(raw)
        if msg[0] == "sourcedConsole":
            print("  console:", msg[1:])
            return b'["ok"]'
        if msg[0] != "syscall":
            fail("unexpected upcall %r" % msg)
        vso = msg[1]
        syscalls.append(vso[0])
        if vso[0] == "vatstoreGet":
            ans = ["ok", vatstore.get(vso[1])]
        elif vso[0] == "vatstoreSet":
            vatstore[vso[1]] = vso[2]
            ans = ["ok", None]
        elif vso[0] == "vatstoreDelete":
            vatstore.pop(vso[1], None)
            ans = ["ok", None]
        elif vso[0] == "vatstoreGetNextKey":
            later = sorted(k for k in vatstore if k > vso[1])
            ans = ["ok", later[0] if later else None]
        else:
            ans = ["ok", None]
        return json.dumps(ans, separators=(",", ":")).encode()

    set_bundle = ["setBundle", "v1", bundle,
                  {"enableDisavow": False, "relaxDurabilityRules": False}]
    _, result = w.command(b"?" + json.dumps(
        set_bundle, separators=(",", ":")).encode(), upcall)
    if json.loads(result) != ["dispatchReady"]:
        fail("setBundle answered %r" % result[:300])
    print("setBundle -> %s" % result.decode())

    start = ["deliver", ["startVat", {"body": "#{}", "slots": []}]]
    _, result = w.command(b"?" + json.dumps(
        start, separators=(",", ":")).encode(), upcall)
    if json.loads(result)[0] != "ok":
        fail("startVat answered %r" % result[:300])
    print("startVat -> %s after %d syscalls (%d vatstore keys)" % (
        result.decode()[:40], len(syscalls), len(vatstore)))

    code = w.quit()
    if code != 0:
        fail("q: worker exited %d" % code)
    print("q -> exit 0; %.2f s" % (time.monotonic() - t0))

    m = Worker("v2:loop", "-l", "100000000")
    m.send(b"e for (;;) {}")
    if m.recv() is not None:
        fail("metered endless loop answered")
    code = m.proc.wait(timeout=60)
    if code != 17:
        fail("metered endless loop: exit %d, expected 17" % code)
    print("-l 100000000, endless loop -> no reply, exit 17")
    print("smoke: ok")


if __name__ == "__main__":
    main()
