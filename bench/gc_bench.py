"""gc_bench.py BINDIR — the kernel's garbage collection at scale, on the
real xsnap worker (tests/vats/churn): five batches in which bob takes
2,000 objects and 200 promises from alice, sends the objects back and
lets go; after each batch, reapAllVats and a run.  Prints

  bench: gc churn 10000 objects, kernel objects after reap = N  (the
         baseline, after the first batch: what the vats hold for good)
  bench: gc churn 10000 objects, kernel objects, baseline = N
  bench: gc churn kv entries growth = N   (kv entries after the last
         batch minus after the first: 0 when nothing leaks)
  bench: gc churn seconds per batch = S
"""
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("SWINGSET_BIN", sys.argv[1] if len(sys.argv) > 1
                      else "bin")
from harness import Daemon  # noqa: E402
from test_churn import census  # noqa: E402
from test_xsnap import scenario_config  # noqa: E402

BATCHES, OBJECTS, PROMISES = 5, 2000, 200


def line(name, value, unit=""):
    print("bench: %s = %s %s" % (name, value, unit), flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="swingsetd-gcbench-")
    cfg = scenario_config(tmp, "churn")
    cfg.update(pinBootstrapRoot=True, defaultReapInterval=1000)
    cfg["daemon"]["logLevel"] = "warn"
    d = Daemon(tmp, cfg)
    height = 0
    try:
        d.start(wait=False)
        d.wait_ready(timeout=120)

        def block(batch):
            nonlocal height
            if batch:
                kp = d.ok("queue", vat="bootstrap", method="batch",
                          args={"body": "#[%d,%d]" % (OBJECTS, PROMISES),
                                "slots": []})["kpid"]
                d.ok("run")
                d.ok("promise", kpid=kp, release=True)
            d.ok("reapAllVats")
            d.ok("run")
            height += 1
            d.ok("commit", height=height)
            return census(cfg["daemon"]["stateDir"])

        d.ok("run")
        base = block(False)
        t0 = time.monotonic()
        first = last = block(True)
        for _ in range(BATCHES - 1):
            last = block(True)
        per_batch = (time.monotonic() - t0) / BATCHES
        d.ok("shutdown")
        d.proc.wait(30)
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    total = BATCHES * OBJECTS
    line("gc churn %d objects, kernel objects after reap" % total,
         last["objects"])
    line("gc churn %d objects, kernel objects, baseline" % total,
         base["objects"])
    line("gc churn kv entries growth", last["kv"] - first["kv"])
    line("gc churn seconds per batch", "%.2f" % per_batch, "s")


if __name__ == "__main__":
    main()
