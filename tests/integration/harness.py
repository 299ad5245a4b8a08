"""harness.py — start the real swingsetd on a temporary state directory and
talk to it over its real control socket.  Used by every integration suite.

SWINGSET_BIN names the folder with swingsetd and swingctl (bin or bin-san).
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, os.environ.get("SWINGSET_BIN", "bin"))
SWINGSETD = os.path.join(BIN, "swingsetd")
SWINGCTL = os.path.join(BIN, "swingctl")
TESTWORKER = os.path.join(BIN, "testworker")
HASH_LOG = os.environ.get("SWINGSET_HASH_LOG")
# The tests' runs leave terminated vats as they are (run's "cleanup":
# false), so that status still lists them as terminated; a test of the
# cleanup itself sets this to None (runs then clean up as the daemon
# does by default, unless they say otherwise).
RUN_CLEANUP = False

# Default vats: name -> testworker behaviour.
BEHAVIOURS = {"bootstrap": "bootstrap", "alice": "echo", "bob": "counter",
              "carol": "pingpong", "dave": "pingpong"}


def testworker_bundle(vat, **options):
    return {"moduleFormat": "testworker", "vat": vat, "options": options}


def capdata(value, slots=()):
    """Smallcaps capdata whose body encodes value (already smallcaps-shaped:
    "$0.Alleged: x" for slot 0, plain strings must not start with a
    special character)."""
    return {"body": "#" + json.dumps(value, separators=(",", ":")),
            "slots": list(slots)}


def decode(data):
    """The value of smallcaps capdata, refs replaced by their slots."""
    def walk(v):
        if isinstance(v, str) and v[:1] in "$&" and "." in v:
            return data["slots"][int(v[1:].split(".", 1)[0])]
        if isinstance(v, str) and v[:1] in "$&":
            return data["slots"][int(v[1:])]
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    assert data["body"].startswith("#"), data
    return walk(json.loads(data["body"][1:]))


def default_config(tmp, vats=("bootstrap", "alice", "bob"), options=None):
    """A SwingSet-style config with a daemon section pointing into tmp.
    vats: names (behaviour from BEHAVIOURS, else the name itself) or a dict
    name -> bundle."""
    if not isinstance(vats, dict):
        vats = {v: testworker_bundle(BEHAVIOURS.get(v, v), **((options or {}).get(v, {})))
                for v in vats}
    return {
        "bootstrap": next(iter(vats)),
        # the tests queue messages to the bootstrap vat's root (Daemon)
        "pinBootstrapRoot": True,
        # these tests count deliveries and cranks; SwingSet's default
        # (a bringOutYourDead after every delivery) is test_reap's
        "defaultReapInterval": "never",
        "defaultManagerType": "testworker",
        "vats": {v: {"bundle": b} for v, b in vats.items()},
        "daemon": {
            "stateDir": os.path.join(tmp, "state"),
            "socket": os.path.join(tmp, "control.sock"),
            "mapSize": 4 * 1024 * 1024,
            "logLevel": "debug",
            "workers": {"testworker": [TESTWORKER]},
        },
    }


def current_test():
    """The id of the unittest test running this call, or "?"."""
    f = sys._getframe(1)
    while f is not None:
        obj = f.f_locals.get("self")
        if isinstance(obj, unittest.TestCase):
            return obj.id().split(".", 1)[-1]
        f = f.f_back
    return "?"


class Client:
    """A control-socket connection: line in, line out."""

    def __init__(self, path, timeout=120):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except BlockingIOError:
                # A full listen backlog (e.g. right after a burst of
                # connections): a timed connect says EAGAIN; wait and retry.
                if time.time() > deadline:
                    self.sock.close()
                    raise
                time.sleep(0.01)
            except OSError:
                self.sock.close()
                raise
        self.buf = b""
        self.next_id = 1

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, op, **fields):
        if op == "run" and RUN_CLEANUP is not None:
            fields.setdefault("cleanup", RUN_CLEANUP)
        req = {"id": self.next_id, "op": op}
        self.next_id += 1
        req.update(fields)
        self.send_raw(json.dumps(req).encode() + b"\n")
        resp = self.read_line()
        assert resp["id"] == req["id"], (resp, req)
        if op == "commit" and resp.get("ok") and HASH_LOG:
            # SWINGSET_HASH_LOG=FILE: every committed block's hash, in
            # order, so two builds can be compared suite by suite.
            with open(HASH_LOG, "a") as f:
                f.write("%s %s %s %s\n" % (os.path.basename(sys.argv[0]),
                    current_test(), resp["result"].get("height"),
                    resp["result"].get("activityHash")))
        return resp

    def ok(self, op, **fields):
        """call, asserting success; the result."""
        resp = self.call(op, **fields)
        assert resp.get("ok"), (op, fields, resp)
        return resp["result"]

    def close(self):
        self.sock.close()


class Daemon:
    """One swingsetd process.  Its stderr goes to tmp/daemon.log."""

    def __init__(self, tmp, config=None, extra_args=(), env=None):
        self.tmp = tmp
        self.config = config if config is not None else default_config(tmp)
        # The tests queue messages to the bootstrap vat's root, which the
        # kernel collects after bootstrap() unless pinned (as SwingSet
        # does): pinned unless the test's config says otherwise.
        if "bootstrap" in self.config:
            self.config.setdefault("pinBootstrapRoot", True)
        self.config_path = os.path.join(tmp, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(self.config, f)
        self.socket = self.config.get("daemon", {}).get("socket")
        self.extra_args = list(extra_args)
        self.env = env
        self.stack_bytes = None     # RLIMIT_STACK for the daemon, if set
        self.proc = None
        self.log_path = os.path.join(tmp, "daemon.log")

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.update(self.env or {})
        limit = self.stack_bytes

        def small_stack():
            resource.setrlimit(resource.RLIMIT_STACK, (limit, limit))
        self.proc = subprocess.Popen(
            [SWINGSETD, "--config", self.config_path] + self.extra_args,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            preexec_fn=small_stack if limit else None)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("swingsetd exited %d:\n%s" % (
                    self.proc.returncode, self.log()))
            c = None
            try:
                c = Client(self.socket, timeout=5)
                c.call("status")
                c.close()
                return
            except (OSError, EOFError):
                if c is not None:
                    c.close()
                time.sleep(0.02)
        raise AssertionError("swingsetd not ready:\n" + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def client(self):
        return Client(self.socket)

    def call(self, op, **fields):
        c = self.client()
        try:
            return c.call(op, **fields)
        finally:
            c.close()

    def status(self):
        r = self.call("status")
        assert r["ok"], r
        return r["result"]

    def ok(self, op, **fields):
        c = self.client()
        try:
            return c.ok(op, **fields)
        finally:
            c.close()

    def test_logs(self, vat_id=None):
        """testLog lines from the daemon log: (vatID, text) in order."""
        out = []
        for m in re.finditer(r" vat: (v\d+) testLog: (\[.*\])$", self.log(),
                             re.M):
            args = json.loads(m.group(2))
            text = " ".join(str(a) for a in args[1:]) if args[:1] == ["testLog"] \
                else " ".join(str(a) for a in args)
            if vat_id is None or m.group(1) == vat_id:
                out.append((m.group(1), text))
        return out

    def vat(self, name):
        """status.vats entry of the vat called name."""
        for v in self.status()["vats"]:
            if v["name"] == name:
                return v
        raise KeyError(name)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        return self.proc.wait(20)

    def alive(self):
        return self.proc.poll() is None


def root_krefs(client, names, bootstrap="bootstrap", echo="alice"):
    """The krefs of the named vats' roots, learnt through the bootstrap
    vat's run(script): echo vat `echo` echoes each "@NAME" back.  Queues
    and runs to idle (so it adds cranks to the open block)."""
    script = [{"send": echo, "method": "echo", "args": ["@" + n]} for n in names]
    kpid = client.ok("queue", vat=bootstrap, method="run",
                     args=capdata([script]))["kpid"]
    r = client.ok("run")
    assert r["idle"] and r["halted"] is None, r
    p = client.ok("promise", kpid=kpid)
    assert p["state"] == "fulfilled", p
    return dict(zip(names, decode(p["data"])))


def kv_table(state_dir, regex=None, table="kv"):
    """The daemon's kernel kv table (LMDB table "kv", store.c's
    store_table_names; or another, such as "transcripts") in state_dir,
    read with mdb_dump: {key: value}, only the keys that re.search(regex)
    matches if regex is given.

    Only committed blocks are in the LMDB file: the open block lives in
    the store's redo log and its LMDB transaction, and a stop (shutdown
    op, SIGTERM) does not commit it (daemon_stop).  So commit the block
    (op commit, height = status height + 1) before stopping the daemon;
    a commit is mdb_txn_commit, in the file when it answers."""
    # In hex, not -p: mdb_dump 0.9.24's -p writes a backslash as it is,
    # so that "\\41" could be the byte 0x41 or the three characters.
    p = subprocess.run(["mdb_dump", "-s", table, state_dir],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("mdb_dump -s %s %s: %s" % (table, state_dir,
                                                      p.stderr))
    # after HEADER=END: a key line, a value line, …, DATA=END; each data
    # line is a space and the bytes in hex
    body = p.stdout.split("HEADER=END\n", 1)[1].split("DATA=END", 1)[0]
    lines = body.split("\n")[:-1]
    assert len(lines) % 2 == 0 and all(t[:1] == " " for t in lines), lines[:4]
    out = {}
    for k, v in zip(lines[0::2], lines[1::2]):
        key = bytes.fromhex(k[1:]).decode("utf-8")
        if regex is None or re.search(regex, key):
            out[key] = bytes.fromhex(v[1:]).decode("utf-8")
    return out


def swingctl(*args, sock=None, env=None):
    cmd = [SWINGCTL] + (["--socket", sock] if sock else []) + list(args)
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


class DaemonTest(unittest.TestCase):
    """Each test gets a fresh temporary folder; daemons are stopped after."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swingsetd-test-")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            if d.proc is not None and d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait(10)
        for d in self.daemons:
            ok = (0, -9, None, getattr(d, "expect_exit", 0))
            if d.proc is not None and d.proc.returncode not in ok:
                # ASan/UBSan findings make the daemon exit non-zero.
                self.fail("swingsetd exited %d:\n%s" % (d.proc.returncode, d.log()))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def other_daemon(self, config, name, expect_exit):
        """A second daemon with its own config file and log, expected to
        refuse to start with expect_exit."""
        d = Daemon(self.tmp, config)
        d.config_path = os.path.join(self.tmp, name + ".json")
        with open(d.config_path, "w") as f:
            json.dump(config, f)
        d.log_path = os.path.join(self.tmp, name + ".log")
        d.expect_exit = expect_exit
        self.daemons.append(d)
        d.start(wait=False)
        self.assertEqual(d.proc.wait(20), expect_exit, d.log())
        return d

    def daemon(self, config=None, start=True, **kw):
        d = Daemon(self.tmp, config, **kw)
        self.daemons.append(d)
        if start:
            d.start()
        return d


def main():
    unittest.main(verbosity=2)
