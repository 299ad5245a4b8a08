"""slowboot.py SEED WORKER LABEL [ARGS...] — start WORKER late: sleep a
delay of 0-300 ms drawn from SEED and the worker's label (argv's first
worker argument, e.g. "v6:c3"), then exec WORKER LABEL ARGS... in place,
keeping every file descriptor (3 and 4 are the protocol pipes).  The
daemon runs it as daemon.workers.xsnap in test_xsnap.py's determinism test,
so that worker boot times vary from run to run while the inputs do not.
"""
import hashlib
import os
import sys
import time


def main():
    seed, worker, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    label = rest[0] if rest else ""
    h = hashlib.sha256(("%s/%s" % (seed, label)).encode()).digest()
    time.sleep(int.from_bytes(h[:4], "big") % 301 / 1000.0)
    os.execv(worker, [worker] + rest)


if __name__ == "__main__":
    main()
