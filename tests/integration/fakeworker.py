#!/usr/bin/env python3
"""fakeworker.py — a scripted worker for adversarial tests.  It speaks the
xsnap framing and answers setBundle with dispatchReady; on the delivery
named by options.on (default startVat) it makes the syscalls listed in
options.syscalls, each a JSON value or a raw string sent as it is, then
answers ["ok",null,null] (or options.result); each syscall's answer goes to stderr (which
the daemon logs), and with options.log_deliveries each delivery too.  options.marker names a file: when it already
exists (the worker is being rebuilt), the worker exits with
options.rebuild_exit instead of answering setBundle."""
import json
import os
import sys

IN = os.fdopen(3, "rb", buffering=0)
OUT = os.fdopen(4, "wb", buffering=0)


def read_frame():
    n = b""
    while True:
        c = IN.read(1)
        if not c:
            sys.exit(0 if not n else 2)
        if c == b":":
            break
        n += c
    n, data = int(n), b""
    while len(data) < n:
        chunk = IN.read(n - len(data))
        if not chunk:
            sys.exit(2)
        data += chunk
    if IN.read(1) != b",":
        sys.exit(2)
    return data


def write_frame(b):
    OUT.write(str(len(b)).encode() + b":" + b + b",")


def generated(opts, vdo):
    """Syscalls made from the delivery itself: options.chain = N resolves
    the message's result to a promise p+1 settled to data holding p+2,
    and so on, N long (in syscalls of 10,000 resolutions, under the
    kernel's frame limit); options.subscribe_arg subscribes to the
    message's first slot; options.big_set = N sets a vatstore value of N
    bytes."""
    out = []
    if opts.get("big_set"):
        out.append(["vatstoreSet", "big", "x" * opts["big_set"]])
    if vdo[0] != "message":
        return out
    msg = vdo[2]
    if opts.get("chain") and msg.get("result"):
        def data(n):
            return {"body": '#["&0"]', "slots": ["p+%d" % n]}
        batch = [[msg["result"], False, data(1)]]
        for n in range(1, opts["chain"] + 1):
            last = n == opts["chain"]
            batch.append(["p+%d" % n, False, {"body": "#1", "slots": []}
                          if last else data(n + 1)])
            if len(batch) == 10000 or last:
                out.append(["resolve", batch])
                batch = []
    if opts.get("subscribe_arg"):
        out.append(["subscribe", msg["methargs"]["slots"][0]])
    return out


def main():
    opts = {}
    while True:
        m = read_frame()
        if m[:1] == b"q":
            sys.exit(0)
        msg = json.loads(m[1:])
        if msg[0] == "setBundle":
            opts = msg[2].get("options", {})
            marker = opts.get("marker")
            if marker and os.path.exists(marker):
                sys.exit(opts.get("rebuild_exit", 17))
            if marker:
                open(marker, "w").close()
            write_frame(b'.{"compute":1}\x01["dispatchReady"]')
            continue
        if opts.get("log_deliveries"):
            sys.stderr.write("delivery %s\n" % json.dumps(msg[1]))
            sys.stderr.flush()
        if msg[1][0] == opts.get("on", "startVat"):
            for sc in generated(opts, msg[1]) + opts.get("syscalls", []):
                raw = sc.encode() if isinstance(sc, str) else json.dumps(sc).encode()
                write_frame(b'?["syscall",' + raw + b"]")
                answer = read_frame()
                sys.stderr.write("answer %s\n" % answer[1:].decode())
                sys.stderr.flush()
            if "result" in opts:        # the scripted delivery's answer
                write_frame(b'.{"compute":1}\x01' +
                            json.dumps(opts["result"]).encode())
                continue
        write_frame(b'.{"compute":1}\x01["ok",null,null]')


main()
