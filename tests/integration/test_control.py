"""test_control.py — the control socket and swingctl against the real
daemon: status, commit, shutdown, and bad input of every kind, after which
the daemon must still be up and answer status with unchanged state."""
import json
import os
import random
import signal
import socket
import stat
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, DaemonTest, main, swingctl  # noqa: E402


class StatusAndCommit(DaemonTest):
    def test_status_json_fields(self):
        d = self.daemon()
        st = d.status()
        for key in ("height", "activityHash", "blockOpen", "runQueueLength",
                    "creationQueueLength", "vats", "crankNumber", "halted"):
            self.assertIn(key, st)
        self.assertEqual(st["height"], 0)
        self.assertTrue(st["blockOpen"], "first start leaves the boot crank's block open")
        self.assertEqual(st["crankNumber"], 2)  # first start: records, then queues
        self.assertEqual(len(st["activityHash"]), 64)
        self.assertEqual([(v["vatID"], v["name"], v["state"]) for v in st["vats"]],
                         [("v1", "bootstrap", "offline"), ("v2", "alice", "offline"),
                          ("v3", "bob", "offline")])
        # three startVat items and bootstrap() await the first run
        self.assertEqual(st["runQueueLength"], 4)

    def test_swingctl_status_text_and_json(self):
        d = self.daemon()
        rc, out, err = swingctl("status", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertIn("height                0 (block open)", out)
        self.assertIn("v1", out)
        self.assertIn("bootstrap", out)
        rc, out, err = swingctl("status", "--json", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["activityHash"], d.status()["activityHash"])
        # $SWINGSET_SOCKET picks the socket when --socket is absent
        rc, out, _ = swingctl("--json", "status", env={"SWINGSET_SOCKET": d.socket})
        self.assertEqual(rc, 0)
        self.assertEqual(json.loads(out)["height"], 0)

    def test_swingctl_without_daemon(self):
        rc, out, err = swingctl("status", sock=os.path.join(self.tmp, "none.sock"))
        self.assertEqual(rc, 69)
        self.assertIn("no swingsetd answers", err)

    def test_commit_sequence(self):
        d = self.daemon()
        h0 = d.status()["activityHash"]
        rc, out, err = swingctl("commit", "1", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertIn("committed block 1", out)
        st = d.status()
        self.assertEqual((st["height"], st["blockOpen"], st["committedActivityHash"]),
                         (1, False, h0))
        # empty blocks are legal: height advances, hash stays defined
        self.assertTrue(d.call("commit", height=2)["ok"])
        st = d.status()
        self.assertEqual((st["height"], st["activityHash"]), (2, h0))
        # out of order
        rc, out, err = swingctl("commit", "2", sock=d.socket)
        self.assertEqual(rc, 1)
        self.assertIn("bad_height", err)
        self.assertIn("expected 3", err)
        r = d.call("commit", height=7)
        self.assertEqual(r["error"]["code"], "bad_height")
        self.assertEqual(d.status()["height"], 2)
        rc, _, err = swingctl("commit", "x", sock=d.socket)
        self.assertEqual(rc, 64)

    def test_shutdown_op(self):
        d = self.daemon()
        rc, out, err = swingctl("shutdown", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertEqual(d.proc.wait(20), 0)
        self.assertFalse(os.path.exists(d.socket), "socket removed on exit")
        self.assertIn("terminated", d.log())

    def test_sigterm_and_notify(self):
        ns_path = os.path.join(self.tmp, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(ns_path)
        ns.settimeout(10)
        d = self.daemon(env={"NOTIFY_SOCKET": ns_path})
        self.assertEqual(ns.recv(100), b"READY=1")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        self.assertEqual(ns.recv(100), b"STOPPING=1")
        ns.close()
        d2 = self.daemon(start=False)
        d2.start()
        self.assertEqual(d2.stop(signal.SIGINT), 0)

    def test_socket_mode(self):
        d = self.daemon()
        self.assertEqual(stat.S_IMODE(os.stat(d.socket).st_mode), 0o660)


class BadInput(DaemonTest):
    def assert_healthy(self, d, before):
        self.assertTrue(d.alive())
        st = d.status()
        for k in ("height", "activityHash", "blockOpen", "crankNumber"):
            self.assertEqual(st[k], before[k], k)

    def test_error_responses_keep_connection(self):
        d = self.daemon()
        before = d.status()
        c = d.client()
        cases = [
            (b"this is not json", "bad_json", None),
            (b"[1,2,3]", "bad_json", None),
            (b'{"id":5,"op":"frobnicate"}', "unknown_op", 5),
            (b'{"id":"x","op":"commit"}', "bad_request", "x"),
            (b'{"id":6,"op":"commit","height":"12"}', "bad_request", 6),
            (b'{"id":7,"op":"commit","height":-1}', "bad_request", 7),
            (b'{"id":8,"op":"status","bogus":1}', "bad_request", 8),
            (b'{"id":9}', "bad_request", 9),
        ]
        for line, code, rid in cases:
            c.send_raw(line + b"\n")
            r = c.read_line()
            self.assertFalse(r["ok"], line)
            self.assertEqual(r["error"]["code"], code, (line, r))
            self.assertEqual(r["id"], rid)
            self.assertTrue(r["error"]["message"])
        r = c.call("status")
        self.assertTrue(r["ok"])
        self.assertIn("height", c.call("commit", height="1")["error"]["message"])
        c.close()
        self.assert_healthy(d, before)

    def test_split_and_batched_requests(self):
        d = self.daemon()
        c = d.client()
        req = b'{"id":1,"op":"status"}\n'
        for b in req:                   # one byte per write
            c.send_raw(bytes([b]))
            time.sleep(0.001)
        self.assertEqual(c.read_line()["id"], 1)
        batch = b"".join(b'{"id":%d,"op":"status"}\n' % i for i in range(2, 102))
        c.send_raw(batch)               # many requests in one write
        ids = [c.read_line()["id"] for _ in range(100)]
        self.assertEqual(ids, list(range(2, 102)))
        c.close()

    def test_garbage_bytes(self):
        d = self.daemon()
        before = d.status()
        rnd = random.Random(7)
        for _ in range(20):
            c = d.client()
            c.send_raw(bytes(rnd.randrange(256) for _ in range(5000)))
            c.close()
        c = d.client()
        c.send_raw(b"\x00\xff\xfe garbage\n")
        self.assertEqual(c.read_line()["error"]["code"], "bad_json")
        c.close()
        self.assert_healthy(d, before)

    def test_half_line_then_close(self):
        d = self.daemon()
        before = d.status()
        for _ in range(50):
            c = d.client()
            c.send_raw(b'{"id":1,"op":"commit","hei')
            c.close()
        self.assert_healthy(d, before)

    def test_huge_line(self):
        d = self.daemon()
        before = d.status()
        c = d.client()
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(100):        # 100 MB, no newline
                c.send_raw(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass                        # the daemon may close first
        r = c.read_line()
        self.assertEqual(r["error"]["code"], "line_too_long")
        # closed: a reset when our unread bytes were still queued there
        with self.assertRaises((EOFError, ConnectionResetError)):
            c.read_line()
        c.close()
        self.assert_healthy(d, before)

    def test_many_connections(self):
        d = self.daemon()
        before = d.status()
        for _ in range(1000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.socket)
            s.close()
        self.assert_healthy(d, before)

    def test_concurrent_clients(self):
        d = self.daemon()
        before = d.status()
        errors = []

        def worker():
            try:
                c = d.client()
                for _ in range(20):
                    r = c.call("status")
                    assert r["ok"] and r["result"]["activityHash"] == before["activityHash"]
                c.close()
            except Exception as e:       # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=worker) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assert_healthy(d, before)

    def test_slow_reader_backpressure(self):
        d = self.daemon()
        c = d.client()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        batch = b'{"op":"status"}\n' * 20000
        sender = threading.Thread(target=lambda: c.send_raw(batch))
        sender.start()
        time.sleep(1.0)                  # the daemon must stop reading, not grow
        self.assertTrue(d.status()["height"] == 0)
        got = 0
        while got < 20000:
            c.read_line()
            got += 1
        sender.join(30)
        c.close()


class Startup(DaemonTest):
    def test_second_daemon_same_state_dir(self):
        d = self.daemon()
        cfg = json.loads(json.dumps(d.config))
        cfg["daemon"]["socket"] = os.path.join(self.tmp, "other.sock")
        d2 = self.other_daemon(cfg, "second", 75)
        self.assertIn("in use by another swingsetd (pid %d)" % d.proc.pid, d2.log())
        self.assertTrue(d.alive())

    def test_live_socket_refused_stale_replaced(self):
        d = self.daemon()
        cfg = json.loads(json.dumps(d.config))
        cfg["daemon"]["stateDir"] = os.path.join(self.tmp, "state2")
        d2 = self.other_daemon(cfg, "second", 75)
        self.assertIn("another daemon answers on", d2.log())
        d.kill9()                       # leaves a stale socket file
        self.assertTrue(os.path.exists(d.socket))
        d3 = self.daemon(d.config)
        self.assertIn("removed stale socket", d3.log())
        self.assertEqual(d3.status()["height"], 0)

    def test_bad_config(self):
        cfg = {"bootstrap": "nobody", "vats": {"a": {"bundleSpec": "missing.json"}},
               "vatz": {}, "daemon": {"socket": os.path.join(self.tmp, "s.sock")}}
        d = self.daemon(cfg, start=False)
        d.expect_exit = 78
        d.start(wait=False)
        self.assertEqual(d.proc.wait(20), 78)
        log = d.log()
        self.assertIn("vats.a.bundleSpec: no such file", log)
        self.assertIn("vatz", log)
        self.assertIn("bootstrap", log)

    def test_bad_command_line(self):
        d = self.daemon(start=False, extra_args=["--log-level", "loud"])
        d.expect_exit = 64
        d.start(wait=False)
        self.assertEqual(d.proc.wait(20), 64)

    def test_command_line_overrides(self):
        d = self.daemon(start=False)
        sock = os.path.join(self.tmp, "override.sock")
        d.extra_args = ["--socket", sock, "--state", os.path.join(self.tmp, "st")]
        d.socket = sock
        d.start()
        self.assertEqual(d.status()["daemon"]["stateDir"], os.path.join(self.tmp, "st"))


if __name__ == "__main__":
    main()
