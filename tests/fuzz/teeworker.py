#!/usr/bin/env python3
"""teeworker.py REAL_WORKER OUTDIR ARGS... — stand in for a worker and
record its protocol traffic, for tests/fuzz/capture.py.

Started by the daemon in the worker's place (fd 3: commands from the
kernel, fd 4: replies to it).  Runs REAL_WORKER ARGS... on pipes of its
own as the child's fds 3 and 4, relays both ways, and appends every byte to
OUTDIR/<pid>.k2w (kernel to worker) and OUTDIR/<pid>.w2k (worker to
kernel).  Exits as the worker did (the same code, or the same signal).
The worker is killed when the relay dies (PR_SET_PDEATHSIG): a daemon
that kills its worker kills the relay, and a vat in an endless loop must
not outlive it.
"""
PR_SET_PDEATHSIG = 1
import ctypes
import os
import select
import signal
import sys


def main():
    real, outdir, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    cmd_r, cmd_w = os.pipe()      # our fd-3 relay -> the worker's fd 3
    rep_r, rep_w = os.pipe()      # the worker's fd 4 -> our fd-4 relay
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or \
                os.getppid() != parent:
            os._exit(111)
        os.dup2(cmd_r, 3, inheritable=True)
        os.dup2(rep_w, 4, inheritable=True)
        os.closerange(5, 256)
        os.execv(real, [real] + args)
    os.close(cmd_r)
    os.close(rep_w)
    base = os.path.join(outdir, str(os.getpid()))
    k2w = open(base + ".k2w", "ab")
    w2k = open(base + ".w2k", "ab")
    # kernel fd 3 -> worker, worker -> kernel fd 4
    routes = {3: (cmd_w, k2w), rep_r: (4, w2k)}
    while routes:
        ready, _, _ = select.select(list(routes), [], [])
        for src in ready:
            dst, log = routes[src]
            try:
                data = os.read(src, 65536)
            except OSError:
                data = b""
            if data:
                log.write(data)
                log.flush()
                try:
                    while data:
                        data = data[os.write(dst, data):]
                    continue
                except OSError:
                    pass
            os.close(dst)
            del routes[src]
    k2w.close()
    w2k.close()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
