"""xsnap_bench.py BINDIR — swingsetd and Agoric's JavaScript SwingSet kernel
side by side, on the same JavaScript vats (bench/vats/), the same
xsnap-worker build and the same bundles, in one run:

  - time to create 10 dynamic vats (bootstrap's createChildren(10): every
    createVat() sent at once, then all roots awaited);
  - messages per second for 2,000 sends between two vats, all at once
    (pingpong) and one after the other (serial);
  - the kernel process's peak RSS (VmHWM);
  - the bringOutYourDead deliveries each kernel made (reaping is on for
    both, with the config's defaultReapInterval).

Each phase is one message queued to the bootstrap vat and run until the
kernel is idle; the time is the run's.  Prints `bench: NAME = VALUE UNIT`
lines: each figure for swingsetd, for the JavaScript kernel, and their
ratio (above 1 means swingsetd is ahead).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("SWINGSET_BIN", sys.argv[1] if len(sys.argv) > 1
                      else "bin")
from harness import Daemon, capdata  # noqa: E402

VATS = os.path.join(ROOT, "bench", "vats")
JSKERNEL = os.path.join(ROOT, "tests", "jskernel", "run-swingset.mjs")


def config(tmp):
    with open(os.path.join(VATS, "config.json")) as f:
        cfg = json.load(f)
    for section in ("vats", "bundles"):
        for entry in cfg.get(section, {}).values():
            if "sourceSpec" in entry:
                entry["sourceSpec"] = os.path.join(VATS, entry["sourceSpec"])
    cfg["daemon"] = {"stateDir": os.path.join(tmp, "state"),
                     "socket": os.path.join(tmp, "control.sock"),
                     "logLevel": "warn",
                     "xsnapDir": os.path.join(ROOT, "workers", "xsnap")}
    return cfg


def peak_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_idle(d):
    """Run until idle; (seconds, cranks)."""
    t0, cranks = time.monotonic(), 0
    while True:
        r = d.ok("run")
        cranks += r["cranks"]
        if r["idle"] or r["halted"]:
            break
    if r["halted"]:
        raise SystemExit("swingsetd halted: %s" % r["halted"])
    return time.monotonic() - t0, cranks


def phase(d, method, n):
    kpid = d.ok("queue", vat="bootstrap", method=method,
                args=capdata([n]))["kpid"]
    seconds, cranks = run_idle(d)
    p = d.ok("promise", kpid=kpid)
    if p["state"] != "fulfilled":
        raise SystemExit("%s(%d) %s: %s" % (method, n, p["state"], p))
    return seconds, cranks


def swingsetd():
    tmp = tempfile.mkdtemp(prefix="swingsetd-bench-")
    d = Daemon(tmp, config(tmp))
    try:
        d.start(wait=False)
        d.wait_ready(timeout=120)
        run_idle(d)
        out = {"create": phase(d, "createChildren", 10),
               "burst": phase(d, "pingpong", 2000),
               "serial": phase(d, "serial", 2000),
               "rss": peak_rss_kb(d.proc.pid),
               "boyds": d.status()["daemon"]["bringOutYourDead"]}
        d.ok("shutdown")
        d.proc.wait(30)
        return out
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def js_kernel():
    p = subprocess.run(["node", JSKERNEL, "--bench"], capture_output=True,
                       text=True, timeout=1800)
    if p.returncode != 0:
        raise SystemExit("run-swingset.mjs --bench failed:\n" +
                         p.stderr[-3000:])
    return json.loads(p.stdout)


def line(name, value, unit):
    print("bench: %s = %s %s" % (name, value, unit), flush=True)


def side_by_side(name, ours, theirs, unit, higher_is_better, fmt="%.3f"):
    line(name + ", swingsetd", fmt % ours, unit)
    line(name + ", JS kernel", fmt % theirs, unit)
    ratio = ours / theirs if higher_is_better else theirs / ours
    line(name + ", swingsetd vs JS kernel", "%.2f" % ratio,
         "x (%s)" % ("swingsetd ahead" if ratio > 1 else
                     "JS kernel ahead"))


def main():
    ours = swingsetd()
    js = js_kernel()
    side_by_side("xsnap create 10 dynamic vats", ours["create"][0],
                 js["create_10_vats_seconds"], "s", False)
    side_by_side("xsnap 2000 sends between two vats, at once",
                 2000 / ours["burst"][0],
                 js["pingpong_2000_burst_msgs_per_sec"], "msgs/s", True,
                 "%.0f")
    side_by_side("xsnap 2000 sends between two vats, one by one",
                 2000 / ours["serial"][0],
                 js["pingpong_2000_serial_msgs_per_sec"], "msgs/s", True,
                 "%.0f")
    side_by_side("xsnap kernel process peak RSS", ours["rss"],
                 js["kernel_peak_rss_kb"], "kB", False, "%d")
    # reaping is on for both (the config's defaultReapInterval)
    line("xsnap bringOutYourDead deliveries, swingsetd", ours["boyds"], "")
    line("xsnap bringOutYourDead deliveries, JS kernel", js["boyds"], "")


if __name__ == "__main__":
    main()
