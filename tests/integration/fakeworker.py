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
            for sc in opts.get("syscalls", []):
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
