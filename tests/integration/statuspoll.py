"""statuspoll.py — measure how long the daemon takes to answer `status`
while something else keeps it busy.  Used by test_loop.py and
bench/snapshot_bench.py.

The measurement is open-loop: one thread sends a `status` request every
`interval` seconds on its own connection, whether or not the earlier
ones were answered, and another reads the answers (in order, one per
request) and records, for each, the time from its sending to its
answer.  So a stall of the daemon's loop counts for every request that
arrived during it, as it would for a client asking at a random moment
(a poller that waits for each answer before asking again would see one
slow answer per stall, however long).  A request never answered counts
for as long as it waited until stop().
"""
import json
import socket
import threading
import time


class StatusPoller:

    def __init__(self, path, interval=0.002, timeout=120):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.interval = interval
        self.sent = []          # monotonic send time of request i
        self.samples = []       # seconds from sending to answer, in order
        self.errors = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sender = threading.Thread(target=self._send, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)

    def _send(self):
        try:
            n = 0
            next_at = time.monotonic()
            while not self.stopping.is_set():
                with self.lock:
                    self.sent.append(time.monotonic())
                self.sock.sendall(json.dumps({"id": n, "op": "status"})
                                  .encode() + b"\n")
                n += 1
                next_at += self.interval
                self.stopping.wait(max(0.0, next_at - time.monotonic()))
        except Exception as e:     # reported through errors
            if not self.stopping.is_set():
                self.errors.append("send: %r" % e)

    def _read(self):
        buf = b""
        n = 0
        try:
            while True:
                with self.lock:
                    if self.stopping.is_set() and n >= len(self.sent):
                        return
                while b"\n" not in buf:
                    chunk = self.sock.recv(1 << 20)
                    if not chunk:
                        raise EOFError("the daemon closed the connection")
                    buf += chunk
                line, buf = buf.split(b"\n", 1)
                now = time.monotonic()
                reply = json.loads(line)
                if not reply.get("ok") or reply.get("id") != n:
                    raise AssertionError("bad status reply %r" % reply)
                with self.lock:
                    self.samples.append(now - self.sent[n])
                n += 1
        except Exception as e:
            self.errors.append("read: %r" % e)

    def start(self):
        self.reader.start()
        self.sender.start()
        return self

    def stop(self, wait=10):
        """Stop sending; wait up to `wait` seconds for the answers still
        owed; the samples (seconds), in order of sending."""
        self.stopping.set()
        self.sender.join(5)
        self.reader.join(wait)
        now = time.monotonic()
        with self.lock:
            owed = self.sent[len(self.samples):]
            self.samples.extend(now - t for t in owed)
            samples = list(self.samples)
        self.sock.close()
        return samples


def percentile(samples, p):
    """The p-th percentile (0-100) of samples, nearest rank."""
    s = sorted(samples)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]
