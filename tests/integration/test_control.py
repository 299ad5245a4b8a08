"""test_control.py — the control socket and swingctl against the real
daemon: status, commit, shutdown, and bad input of every kind, after which
the daemon must still be up and answer status with unchanged state; the
limits that keep clients from wedging it (peer uids, slots reserved for
the producer, idle timeout, buffer budget) and their configuration."""
import json
import os
import random
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, DaemonTest, SWINGSETD, default_config,  # noqa: E402
                     main, swingctl)

NOBODY = 65534      # uid and gid of the "other user" clients


class StatusAndCommit(DaemonTest):
    def test_status_json_fields(self):
        d = self.daemon()
        st = d.status()
        for key in ("height", "activityHash", "blockOpen",
                    "acceptanceQueueLength", "runQueueLength",
                    "creationQueueLength", "vats", "crankNumber", "halted"):
            self.assertIn(key, st)
        self.assertEqual(st["height"], 0)
        self.assertTrue(st["blockOpen"], "first start leaves the boot crank's block open")
        self.assertEqual(st["crankNumber"], 2)  # first start: records, then queues
        self.assertEqual(len(st["activityHash"]), 64)
        self.assertEqual([(v["vatID"], v["name"], v["state"]) for v in st["vats"]],
                         [("v1", "bootstrap", "offline"), ("v2", "alice", "offline"),
                          ("v3", "bob", "offline")])
        # three startVat items and bootstrap() await the first run, on the
        # acceptance queue (routing cranks move them to the run-queue)
        self.assertEqual((st["acceptanceQueueLength"], st["runQueueLength"]),
                         (4, 0))
        # SwingSet's kernel statistics, as its kernel counts the first
        # start: three vats, their roots exported for bootstrap() (one
        # c-list entry each), its result promise, and the four events
        ks = st["kernelStats"]
        self.assertEqual({n: ks[n] for n in (
            "vats", "vatsUp", "kernelObjects", "clistEntries",
            "kernelPromises", "kpUnresolved", "acceptanceQueueLength",
            "acceptanceQueueLengthMax", "runQueueLength", "syscalls",
            "syscallSend")},
            {"vats": 3, "vatsUp": 3, "kernelObjects": 3, "clistEntries": 3,
             "kernelPromises": 1, "kpUnresolved": 1,
             "acceptanceQueueLength": 4, "acceptanceQueueLengthMax": 4,
             "runQueueLength": 0, "syscalls": 1, "syscallSend": 1})

    def test_swingctl_status_text_and_json(self):
        d = self.daemon()
        rc, out, err = swingctl("status", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertIn("height                0 (block open)", out)
        self.assertIn("kernel objects        3\n", out)
        self.assertIn("kernel promises       1 (1 unresolved, 0 fulfilled, "
                      "0 rejected)\n", out)
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


def limits_config(tmp, options=None, **daemon):
    cfg = default_config(tmp, options=options)
    cfg["daemon"].update(daemon)
    return cfg


def expect_refusal(c, code):
    """The one error line a refused connection gets, then its close."""
    r = c.read_line()
    assert r["ok"] is False and r["error"]["code"] == code, r
    try:
        extra = c.sock.recv(1)
    except ConnectionResetError:
        extra = b""
    assert extra == b"", extra
    return r["error"]["message"]


class AsUser:
    """A forked child that drops to uid:gid, runs fn(report) (report sends
    one JSON value to the parent), then keeps what fn returns (its open
    connections) until release().  Root only."""

    def __init__(self, uid, gid, fn):
        rep_r, rep_w = os.pipe()
        hold_r, hold_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:           # the child: never back into unittest
            code = 1
            try:
                os.close(rep_r)
                os.close(hold_w)
                out = os.fdopen(rep_w, "w", buffering=1)
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                kept = fn(lambda v: out.write(json.dumps(v) + "\n"))
                os.read(hold_r, 1)  # until the parent closes hold_w
                for c in kept or ():    # fn's connections, open until now
                    c.close()
                code = 0
            except BaseException as e:      # reported to the parent
                os.write(rep_w, (json.dumps({"child error": repr(e)}) +
                                 "\n").encode())
            os._exit(code)
        os.close(rep_w)
        os.close(hold_r)
        self.reports, self.buf = rep_r, b""
        self.hold = hold_w

    def report(self, timeout=15):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.reports], [], [],
                                        max(0, deadline - time.time()))
            assert ready, "no report from the child"
            chunk = os.read(self.reports, 4096)
            assert chunk, "the child exited without reporting"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        v = json.loads(line)
        assert not (isinstance(v, dict) and "child error" in v), v
        return v

    def release(self):
        if self.hold is not None:
            os.close(self.hold)
            self.hold = None
            _, st = os.waitpid(self.pid, 0)
            os.close(self.reports)
            return os.waitstatus_to_exitcode(st)


class ClientLimits(DaemonTest):
    """Issue 11, defect 7: no client can take the daemon's slots, memory or
    attention from the producer."""

    def need_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to run clients as uid %d" % NOBODY)

    def settle(self, d):
        """Until the daemon has closed our earlier connections."""
        deadline = time.time() + 10
        while d.status()["daemon"]["clients"] != 1 and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)                 # the last status connection's, too

    def as_nobody(self, d, fn):
        """fn(report) as uid/gid NOBODY, with the socket opened to it."""
        os.chmod(self.tmp, 0o755)
        os.chmod(d.socket, 0o666)
        child = AsUser(NOBODY, NOBODY, fn)
        self.addCleanup(child.release)
        return child

    def test_idle_clients_do_not_stop_the_producer(self):
        self.need_root()
        d = self.daemon(limits_config(self.tmp, maxClients=3, reservedClients=1,
                                      allowedUids=[0, NOBODY],
                                      clientIdleTimeoutMs=60000))
        sock = d.socket
        self.settle(d)

        def idle_then_one_more(report):
            held = [Client(sock, timeout=10) for _ in range(3)]  # never write
            extra = Client(sock, timeout=10)
            report(expect_refusal(extra, "too_many_clients"))
            extra.close()
            report(len(held))
            return held

        child = self.as_nobody(d, idle_then_one_more)
        self.assertIn("all 3 client slots are in use", child.report())
        self.assertEqual(child.report(), 3)
        # root is a producer (producerUids defaults to the daemon's uid and
        # root): the reserved slot answers at once
        c = Client(sock, timeout=5)
        st = c.ok("status")
        self.assertEqual(st["daemon"]["clients"], 4)
        c.close()
        self.assertRegex(d.log(), r"refused a client \(pid \d+, uid %d, gid %d\): "
                         r"too_many_clients" % (NOBODY, NOBODY))
        self.assertEqual(child.release(), 0)

    def test_idle_connections_are_closed(self):
        d = self.daemon(limits_config(self.tmp, clientIdleTimeoutMs=300))
        silent, partial, busy = d.client(), d.client(), d.client()
        partial.send_raw(b'{"id":1,"op":"sta')
        t0 = time.time()
        for _ in range(8):              # complete requests keep it open
            self.assertTrue(busy.call("status")["ok"])
            time.sleep(0.1)
        busy.send_raw(b"\n")             # a blank line is a keep-alive
        for c in (silent, partial):
            msg = expect_refusal(c, "idle_timeout")
            self.assertIn("no complete request in 300 ms", msg)
            c.close()
        self.assertGreater(time.time() - t0, 0.25)
        time.sleep(0.15)
        self.assertTrue(busy.call("status")["ok"], "active client kept")
        busy.close()
        self.assertEqual(len(re.findall(r"client \d+ \(pid \d+, uid \d+\): "
                                        r"idle_timeout", d.log())), 2)

    def test_request_in_progress_is_not_idle(self):
        # the first run boots bob's worker, which takes 1 s to be ready
        d = self.daemon(limits_config(self.tmp, options={"bob": {"readyDelayMs": 1000}},
                                      clientIdleTimeoutMs=300))
        c = d.client()
        t0 = time.time()
        r = c.ok("run")
        self.assertGreater(time.time() - t0, 0.9)
        self.assertTrue(r["idle"], r)
        self.assertTrue(c.call("status")["ok"], "still open after the run")
        c.close()
        self.assertNotIn("idle_timeout", d.log())

    def test_partial_lines_over_budget(self):
        d = self.daemon(limits_config(self.tmp, maxRequestLine=600000,
                                      clientBufferBudget=1000000))
        a, b = d.client(), d.client()
        big_id = "a" * 500000
        # a small send buffer: once sent, the daemon has read nearly all
        a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        a.send_raw(b'{"op":"status","id":"' + big_id.encode())
        time.sleep(0.1)                 # the daemon holds a's 500 kB
        try:
            b.send_raw(b"b" * 700000)   # more than fits beside it
        except (BrokenPipeError, ConnectionResetError):
            pass                        # refused before it was all sent
        self.assertIn("clientBufferBudget, 1000000 bytes",
                      expect_refusal(b, "over_budget"))
        b.close()
        a.send_raw(b'"}\n')              # a's request is served
        r = a.read_line()
        self.assertTrue(r["ok"])
        self.assertEqual(r["id"], big_id)
        a.close()
        self.assertTrue(d.status()["height"] == 0, "others still served")
        self.assertRegex(d.log(), r"client \d+ \(pid \d+, uid \d+\): over_budget")

    def test_producer_has_its_own_budget(self):
        self.need_root()
        d = self.daemon(limits_config(self.tmp, maxRequestLine=600000,
                                      clientBufferBudget=1000000,
                                      allowedUids=[0, NOBODY]))
        sock = d.socket

        def fill_the_budget(report):
            # a client that does not read its 590 kB reply: the ordinary
            # clients' 1 MB is in use until it does (or times out)
            hog = Client(sock, timeout=10)
            hog.send_raw(b'{"op":"status","id":"' + b"h" * 590000 + b'"}\n')
            hog.sock.recv(1, socket.MSG_PEEK)   # its reply is queued
            late = Client(sock, timeout=10)
            late.send_raw(b'{"op":"status"}\n')
            report(expect_refusal(late, "over_budget"))
            late.close()
            return [hog]

        child = self.as_nobody(d, fill_the_budget)
        self.assertIn("buffers for ordinary clients are full", child.report())
        c = Client(sock, timeout=5)     # root, a producer: a budget of its own
        self.assertEqual(c.ok("status")["height"], 0)
        c.send_raw(json.dumps({"id": "p" * 500000, "op": "status"}).encode() + b"\n")
        self.assertEqual(c.read_line()["id"], "p" * 500000)
        c.close()
        self.assertEqual(child.release(), 0)

    def test_peer_uid_not_allowed(self):
        self.need_root()
        d = self.daemon()               # allowed: root, the daemon's uid and gid
        sock = d.socket

        def try_status(report):
            c = Client(sock, timeout=10)
            report(expect_refusal(c, "denied"))
            c.close()
            report(swingctl("status", sock=sock)[::2])

        child = self.as_nobody(d, try_status)
        self.assertIn("uid %d, gid %d may not use this socket" % (NOBODY, NOBODY),
                      child.report())
        rc, err = child.report()        # swingctl says why, exits 1
        self.assertEqual(rc, 1, err)
        self.assertIn("the daemon refused: denied: uid %d" % NOBODY, err)
        self.assertRegex(d.log(), r"refused a client \(pid \d+, uid %d, gid %d\): "
                         r"denied" % (NOBODY, NOBODY))
        self.assertTrue(d.status()["height"] == 0)
        self.assertEqual(child.release(), 0)

    def test_peer_gid_allowed(self):
        self.need_root()
        d = self.daemon(limits_config(self.tmp, allowedGids=[NOBODY]))
        sock = d.socket

        def status(report):
            c = Client(sock, timeout=10)
            ok = c.call("status")["ok"]
            # not a producer: it may look, not change anything
            r = c.call("queue", vat="alice", method="echo")
            report(ok and not r["ok"] and r["error"]["code"] == "denied"
                   and "producerUids" in r["error"]["message"])
            c.close()

        before = d.status()["runQueueLength"]
        self.assertTrue(self.as_nobody(d, status).report())
        self.assertEqual(d.status()["runQueueLength"], before)

    def test_new_keys_in_the_config_dump(self):
        cfg = default_config(self.tmp)
        path = os.path.join(self.tmp, "check.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        p = subprocess.run([SWINGSETD, "--config", path, "-n"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        dm = json.loads(p.stdout.rsplit("configuration OK", 1)[0])["daemon"]
        own = [os.geteuid()] + ([0] if os.geteuid() != 0 else [])
        self.assertEqual((dm["reservedClients"], dm["clientIdleTimeoutMs"],
                          dm["clientBufferBudget"], dm["allowedUids"],
                          dm["allowedGids"], dm["producerUids"]),
                         (2, 60000, 256 << 20, own, [os.getegid()], own))

    def test_new_keys_validated(self):
        cfg = limits_config(self.tmp, reservedClients=-1, clientIdleTimeoutMs="1s",
                            maxRequestLine=4096, clientBufferBudget=4096,
                            allowedUids=[0, -1], allowedGids="wheel",
                            producerUids=[4294967295])
        d = self.daemon(cfg, start=False)
        d.expect_exit = 78
        d.start(wait=False)
        self.assertEqual(d.proc.wait(20), 78)
        log = d.log()
        for line in ("daemon.reservedClients: must be an integer from 0 to 1024",
                     "daemon.clientIdleTimeoutMs: must be an integer >= 0",
                     "daemon.allowedUids[1]: must be an integer from 0 to 4294967294",
                     "daemon.allowedGids: must be an array of integers",
                     "daemon.producerUids[0]: must be an integer from 0 to 4294967294",
                     "daemon.clientBufferBudget: must be greater than maxRequestLine "
                     "(4096)"):
            self.assertIn(line, log)
        cfg = limits_config(self.tmp, allowedUids=[], allowedGids=[], producerUids=[])
        d2 = self.other_daemon(cfg, "empty", 78)
        self.assertIn("daemon.allowedUids: allowedUids, allowedGids and producerUids "
                      "are all empty", d2.log())


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
