"""test_timer.py — the timer device and SwingSet's timer vat
(vat-timer.js, unmodified) on the real xsnap-worker, with time given only
by the producer (the poll op, and run's "now"); compared line for line
with Agoric's JavaScript kernel running the same vats on SwingSet's own
timer device, fed the same poll times (run-swingset.mjs --poll T).

The scenario (tests/vats/timer): wake-ups before, at and after the polled
time, two handlers at one time (their order), a wake-up added before an
earlier one, a cancelled one, delay, wakeAt (one cancelled), a repeater
(then disabled) and a notifier; and (tests/vats/timerdev) the device's
own methods called directly by a vat, also compared.  Also: time may not
go back, a poll without a timer device, the device state in status, a
restart, kill -9 mid-block and the block sent again, and the same
activity hash over ten runs with random worker delays.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, DaemonTest, main, swingctl  # noqa: E402
from test_xsnap import (SLOWBOOT, VATS, WORKER, js_kernel,  # noqa: E402
                        scenario_config)

# the producer's actions after bootstrap: ("queue", method) or ("poll", T)
PLAN = [("queue", "plan"), ("poll", 3), ("poll", 5), ("poll", 10),
        ("queue", "later"), ("poll", 12), ("poll", 20), ("queue", "stop"),
        ("poll", 30)]

_ref = {}


def js_reference():
    """The scenario on the JavaScript kernel (once per test run)."""
    if "out" not in _ref:
        args = []
        for kind, x in PLAN:
            args += ["--" + kind, str(x)]
        _ref["out"] = js_kernel("timer", args, timeout=900)
    return _ref["out"]


def timer_config(tmp, **daemon):
    cfg = scenario_config(tmp, "timer", **daemon)
    dev = cfg["devices"]["timer"]
    dev["sourceSpec"] = os.path.join(VATS, "timer", dev["sourceSpec"])
    return cfg


class TimerTest(DaemonTest):

    def fresh(self, name, **daemon):
        """A started daemon of its own in tmp/name."""
        tmp = os.path.join(self.tmp, name)
        os.makedirs(tmp)
        d = Daemon(tmp, timer_config(tmp, **daemon))
        self.daemons.append(d)
        d.start()
        return d

    def drive(self, d, plan=PLAN, restart_at=None, commit=True,
              kill_at=None):
        """Run bootstrap, then the plan, a block per action; the queued
        methods' results, and the activity hash after each block.  At
        restart_at the daemon is stopped and started between blocks; at
        kill_at it is killed (SIGKILL) after the block's action and run,
        before its commit, and the producer sends the block again."""
        height = d.status()["height"]
        results, hashes = [], []
        r = d.ok("run")
        self.assertTrue(r["idle"], r)
        for i, (kind, x) in enumerate(plan):
            if restart_at is not None and i == restart_at:
                d.stop()
                d.start()
            if kill_at is not None and i == kill_at:
                if kind == "poll":
                    d.ok("poll", now=x)
                else:
                    d.ok("queue", vat="bootstrap", method=x)
                d.ok("run")
                d.kill9()
                d.start()
                self.assertEqual(d.status()["height"], height)
            if kind == "poll":
                p = d.ok("poll", now=x)
                self.assertEqual(p["lastPolled"], str(x))
                r = d.ok("run")
            else:
                kpid = d.ok("queue", vat="bootstrap", method=x)["kpid"]
                r = d.ok("run")
                results.append((x, d.ok("promise", kpid=kpid)))
            self.assertTrue(r["idle"], r)
            self.assertIsNone(r["halted"], d.log())
            if commit:
                height += 1
                hashes.append(d.ok("commit", height=height)["activityHash"])
        return results, hashes

    def test_same_as_javascript_kernel(self):
        ref = js_reference()
        d = self.daemon(timer_config(self.tmp))
        results, _ = self.drive(d)
        ours = [t for _, t in d.test_logs()]
        self.assertEqual(ours, [str(x) for x in ref["testLog"]])
        self.assertEqual(len(results), len(ref["queued"]))
        for (method, p), q in zip(results, ref["queued"]):
            self.assertEqual(method, q["method"])
            self.assertEqual(p["state"], q["status"])
            self.assertEqual(p["data"]["body"], q["capdata"]["body"])
        boot = d.ok("promise", kpid=d.status()["bootstrapResult"])
        self.assertEqual(boot["data"]["body"],
                         ref["bootstrapResult"]["capdata"]["body"])

    def test_status_lists_devices_and_time_never_goes_back(self):
        d = self.daemon(timer_config(self.tmp))
        d.ok("run")
        devs = d.status()["devices"]
        self.assertEqual([x["name"] for x in devs], ["timer", "vatAdmin"])
        self.assertEqual(devs[0]["lastPolled"], "0")
        # SwingSet's order: bootstrap, vatAdmin, comms, vattp, timer, others
        self.assertEqual([v["name"] for v in d.status()["vats"]],
                         ["bootstrap", "vatAdmin", "timer"])
        d.ok("queue", vat="bootstrap", method="plan")
        r = d.ok("run", now=4)
        self.assertTrue(r["idle"], r)
        st = d.status()
        self.assertEqual(st["devices"][0]["lastPolled"], "4")
        self.assertEqual(st["devices"][0]["wakeups"], 1)  # vat-timer's one
        hash_before = st["activityHash"]
        e = d.call("poll", now=3)
        self.assertFalse(e["ok"])
        self.assertEqual(e["error"]["code"], "bad_time")
        self.assertIn("3 cannot be less than 4", e["error"]["message"])
        e = d.call("run", now=2)
        self.assertEqual(e["error"]["code"], "bad_time")
        self.assertEqual(d.status()["activityHash"], hash_before)
        self.assertEqual(d.ok("poll", now=4)["woke"], False)
        self.assertEqual(d.ok("poll", now="18446744073709551615")[
            "lastPolled"], "18446744073709551615")
        e = d.call("poll", now="18446744073709551616")
        self.assertEqual(e["error"]["code"], "bad_request")
        e = d.call("poll", now=-1)
        self.assertEqual(e["error"]["code"], "bad_request")
        rc, out, err = swingctl("status", sock=d.socket)
        self.assertEqual(rc, 0, err)
        self.assertIn("devices               2", out)
        self.assertRegex(out, r"d7 +timer +last polled "
                         r"18446744073709551615, 0 wake-ups pending")
        rc, out, err = swingctl("poll", "18446744073709551615",
                                sock=d.socket)
        self.assertEqual((rc, out), (0, "polled 18446744073709551615; "
                                     "nothing due\n"), err)
        rc, out, err = swingctl("run", "--now", "5", sock=d.socket)
        self.assertEqual(rc, 1, out)
        self.assertIn("bad_time", err + out)

    def test_restart_keeps_the_schedule(self):
        """A restart between polls (vats replayed, device state from the
        store) gives the same lines and hashes as a run without one."""
        d = self.fresh("a")
        _, hashes = self.drive(d)
        logs = [t for _, t in d.test_logs()]
        d.stop()
        d2 = self.fresh("b")
        _, hashes2 = self.drive(d2, restart_at=5)
        self.assertEqual(hashes2, hashes)
        self.assertEqual([t for _, t in d2.test_logs()], logs)

    def test_kill_mid_block_and_replay(self):
        """kill -9 after a poll's wake-ups ran, before the commit: the
        producer sends the block again, and every block commits the
        uninterrupted run's activity hash."""
        d = self.fresh("a")
        ref_results, hashes = self.drive(d)
        d.stop()
        d2 = self.fresh("b")
        results, hashes2 = self.drive(d2, kill_at=3)   # the poll at 10
        self.assertEqual(hashes2, hashes)
        self.assertEqual([(m, p["data"]) for m, p in results],
                         [(m, p["data"]) for m, p in ref_results])

    def test_poll_without_a_timer_device(self):
        cfg = scenario_config(self.tmp, "creator")
        d = self.daemon(cfg)
        e = d.call("poll", now=1)
        self.assertEqual(e["error"]["code"], "not_found")
        self.assertIn("no timer device", e["error"]["message"])

    def test_unknown_device_is_refused(self):
        cfg = timer_config(self.tmp)
        cfg["devices"]["mailbx"] = dict(cfg["devices"]["timer"])
        d = self.other_daemon(cfg, "unknown-device", 78)
        self.assertIn("devices.mailbx: swingsetd does not implement a "
                      "device named 'mailbx'", d.log())


class TimerDeviceTest(DaemonTest):
    """The device's own methods (tests/vats/timerdev, D(devices.timer)
    without the timer vat): answers, errors, repeaters, and the order of
    wake() at one time, as on the JavaScript kernel."""

    DEV_PLAN = [("poll", 4), ("queue", "middle"), ("poll", 7), ("poll", 7),
                ("queue", "end"), ("poll", 13), ("poll", 20)]

    def test_same_as_javascript_kernel(self):
        args = []
        for kind, x in self.DEV_PLAN:
            args += ["--" + kind, str(x)]
        ref = js_kernel("timerdev", args, timeout=900)
        tmp = os.path.join(self.tmp, "dev")
        os.makedirs(tmp)
        cfg = scenario_config(tmp, "timerdev")
        cfg["devices"]["timer"]["sourceSpec"] = os.path.join(
            VATS, "timerdev", cfg["devices"]["timer"]["sourceSpec"])
        d = Daemon(tmp, cfg)
        self.daemons.append(d)
        d.start()
        results, _ = TimerTest.drive(self, d, plan=self.DEV_PLAN)
        self.assertEqual([t for _, t in d.test_logs()],
                         [str(x) for x in ref["testLog"]])
        self.assertIn("rep wake 16n", ref["testLog"])
        self.assertEqual([p["data"]["body"] for _, p in results],
                         [q["capdata"]["body"] for q in ref["queued"]])
        self.assertIn("invoke failed: setWakeup: baseTime is not a Nat",
                      d.log())


class TimerDeterminismTest(DaemonTest):
    """The timer scenario ten times, each with its own seeded random
    delay (0-300 ms) before every worker boots: one activity hash."""

    RUNS = 10

    def run_once(self, seed):
        d = TimerTest.fresh(self, "run%d" % seed, workers={
            "xsnap": [sys.executable, SLOWBOOT, str(seed), WORKER]})
        results, hashes = TimerTest.drive(self, d)
        out = (hashes, [t for _, t in d.test_logs()],
               [(m, p["data"]) for m, p in results])
        d.stop()
        return out

    def test_ten_runs_same_hash(self):
        first = self.run_once(0)
        self.assertIn("A woke at 10", first[1])
        for seed in range(1, self.RUNS):
            again = self.run_once(seed)
            self.assertEqual(again, first, "seed %d" % seed)


if __name__ == "__main__":
    main()
