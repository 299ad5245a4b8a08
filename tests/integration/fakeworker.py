#!/usr/bin/env python3
"""fakeworker.py — a scripted worker for adversarial tests.  It speaks the
xsnap framing and answers setBundle with dispatchReady; on the delivery
named by options.on (default startVat) it makes the syscalls listed in
options.syscalls, each a JSON value or a raw string sent as it is, then
answers ["ok",null,null] (or options.result); each syscall's answer goes to stderr (which
the daemon logs), and with options.log_deliveries each delivery too.  options.marker names a file: when it already
exists (the worker is being rebuilt), the worker exits with
options.rebuild_exit instead of answering setBundle.

options.on_method narrows options.on = "message" to the messages that
call that method.  options.answer resolves every message's result to
"pong" (a vat that answers, for bystanders).  options.misbehave names what the worker does
on that delivery after its syscalls, instead of answering well (the
hostile-worker campaign, test_campaign_hostile.py):

  garbage         raw bytes that are no netstring (options.garbage, text,
                  or options.garbage_hex)
  huge_length     a length prefix of 10^12 (options.length), then waits
  bad_terminator  a well-formed upcall ended with ';' instead of ','
  oversize        one syscall frame of options.frame_size bytes
  partial_frame   a prefix announcing 100 bytes, 10 of them, then waits
  hang            nothing at all: waits
  close_reply     closes fd 4 and waits (still alive)
  exit            exits with options.exit_code (default 1)
  signal          kills itself with options.signum (default SIGSEGV)
  empty_frame     `0:,`
  unknown_tag     a frame whose tag is 'Z'
  bad_upcall_json an upcall whose JSON is cut short
  deep_json       a syscall nested options.depth (default 100000) deep
  double_upcall   two upcalls written at once, then both answers read
  extra_frame     answers, then sends one more frame (no command in
                  flight)
  bad_result      answers with a result that is no JSON
  fork_exit       forks a child that keeps every pipe open and waits,
                  then exits 1
  stdout_flood, stderr_flood
                  writes options.flood_bytes (default 4 MiB) to fd 1 or 2
                  (lines of options.flood_line bytes, 0 = no newline),
                  then answers well

options.on_set_bundle names a misbehaviour for the answer to setBundle
instead (the worker answers dispatchReady if it survives it).

"Waits" is a read of fd 3 until it ends, so a worker the kernel gives up
on exits with its daemon.  options.flood = N makes N vatstore syscalls
(vatstoreSet of flood.K, every tenth a vatstoreGet) before the others;
options.reply_meter is the meter report (text) of that delivery's answer."""
import json
import os
import signal
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


def wait_for_eof():
    """Block on fd 3 until the kernel closes it (or kills us)."""
    while IN.read(65536):
        pass
    sys.exit(0)


def log_answer(what, answer):
    sys.stderr.write("%s %s\n" % (what, answer[1:].decode()))
    sys.stderr.flush()


def syscall(sc):
    """One syscall: its frame, then the answer (logged to stderr)."""
    raw = sc.encode() if isinstance(sc, str) else json.dumps(sc).encode()
    write_frame(b'?["syscall",' + raw + b"]")
    answer = read_frame()
    log_answer("answer", answer)
    return answer


def flood(stream, total, line):
    """total bytes of 'x' on stream, a newline every line bytes (0: none)."""
    chunk = (b"x" * (line - 1) + b"\n") if line else b"x" * 65536
    out = os.fdopen(stream, "wb", buffering=0, closefd=False)
    left = total
    while left > 0:
        piece = chunk[:left]
        out.write(piece)
        left -= len(piece)


def misbehave(opts, how):
    """What options.misbehave names; returns True when the worker should
    then answer the delivery as usual."""
    if how == "garbage":
        OUT.write(bytes.fromhex(opts["garbage_hex"]) if "garbage_hex" in
                  opts else opts.get("garbage", "no netstring\n").encode())
        wait_for_eof()
    elif how == "huge_length":
        OUT.write(str(opts.get("length", 10 ** 12)).encode() + b":?[")
        wait_for_eof()
    elif how == "bad_terminator":
        b = b'?["syscall",["vatstoreGet","k"]]'
        OUT.write(str(len(b)).encode() + b":" + b + b";")
        wait_for_eof()
    elif how == "oversize":
        head, tail = b'?["syscall",["vatstoreSet","big","', b'"]]'
        n = opts["frame_size"] - len(head) - len(tail)
        write_frame(head + b"x" * n + tail)
        log_answer("oversize", read_frame())    # if the kernel gives one
        return True
    elif how == "partial_frame":
        OUT.write(b"100:?[\"syscall\"")
        wait_for_eof()
    elif how == "hang":
        wait_for_eof()
    elif how == "close_reply":
        OUT.close()
        wait_for_eof()
    elif how == "exit":
        os._exit(opts.get("exit_code", 1))
    elif how == "signal":
        os.kill(os.getpid(), opts.get("signum", signal.SIGSEGV))
        wait_for_eof()
    elif how == "empty_frame":
        OUT.write(b"0:,")
        wait_for_eof()
    elif how == "unknown_tag":
        write_frame(b"Zhello")
        wait_for_eof()
    elif how == "bad_upcall_json":
        write_frame(b'?["syscall",["vatstoreGet","k"')
        wait_for_eof()
    elif how == "deep_json":
        depth = opts.get("depth", 100000)
        write_frame(b'?["syscall",' + b"[" * depth + b"]" * depth + b"]")
        read_frame()
        return True
    elif how == "double_upcall":
        write_frame(b'?["syscall",["vatstoreGet","a"]]')
        write_frame(b'?["syscall",["vatstoreGet","b"]]')
        log_answer("first", read_frame())
        log_answer("second", read_frame())
        return True
    elif how in ("stdout_flood", "stderr_flood"):
        flood(1 if how == "stdout_flood" else 2,
              opts.get("flood_bytes", 4 << 20), opts.get("flood_line", 100))
        return True
    elif how == "extra_frame":
        return True             # after the answer, in main()
    elif how == "bad_result":
        write_frame(b'.{"compute":1}\x01this is not JSON')
        wait_for_eof()
    elif how == "fork_exit":
        if os.fork() == 0:
            wait_for_eof()      # holds fds 1-4 until the kernel lets go
        os._exit(1)
    else:
        sys.stderr.write("fakeworker: unknown misbehaviour %r\n" % how)
        os._exit(3)
    return True


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


def answer_syscalls(opts, vdo):
    """options.answer: resolve the message's result to "pong"."""
    if opts.get("answer") and vdo[0] == "message" and vdo[2].get("result"):
        return [["resolve", [[vdo[2]["result"], False,
                              {"body": '#"pong"', "slots": []}]]]]
    return []


def flood_syscalls(n):
    """n vatstore syscalls, every tenth a vatstoreGet."""
    for i in range(n):
        yield ["vatstoreGet", "flood.%d" % (i - 1)] if i % 10 == 9 else \
            ["vatstoreSet", "flood.%d" % i, str(i)]


def method(vdo):
    """The method a message delivery calls (its smallcaps body's first
    element)."""
    try:
        return json.loads(vdo[2]["methargs"]["body"][1:])[0]
    except (IndexError, KeyError, TypeError, ValueError):
        return None


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
            if opts.get("on_set_bundle"):
                misbehave(opts, opts["on_set_bundle"])
            write_frame(b'.{"compute":1}\x01["dispatchReady"]')
            continue
        if opts.get("log_deliveries"):
            sys.stderr.write("delivery %s\n" % json.dumps(msg[1]))
            sys.stderr.flush()
        if msg[1][0] == opts.get("on", "startVat") and opts.get(
                "on_method", method(msg[1])) == method(msg[1]):
            for sc in flood_syscalls(opts.get("flood", 0)):
                raw = json.dumps(sc).encode()
                write_frame(b'?["syscall",' + raw + b"]")
                read_frame()
            for sc in generated(opts, msg[1]) + opts.get("syscalls", []):
                syscall(sc)
            if opts.get("misbehave"):
                misbehave(opts, opts["misbehave"])
            for sc in answer_syscalls(opts, msg[1]):
                syscall(sc)
            if "result" in opts:        # the scripted delivery's answer
                write_frame(b'.{"compute":1}\x01' +
                            json.dumps(opts["result"]).encode())
                continue
            write_frame(b"." + opts.get("reply_meter", '{"compute":1}')
                        .encode() + b'\x01["ok",null,null]')
            if opts.get("misbehave") == "extra_frame":
                write_frame(b'?["syscall",["vatstoreGet","late"]]')
            continue
        for sc in answer_syscalls(opts, msg[1]):
            syscall(sc)
        write_frame(b'.{"compute":1}\x01["ok",null,null]')


main()
