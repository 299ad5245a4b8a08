// The timer scenario: SwingSet's timer vat (vat-timer.js) on the timer
// device, driven by the producer's polls.  bootstrap() makes the timer
// service; the producer then queues plan() and later(), and polls the
// device at chosen times (test_timer.py: 3, 5, 10, 12, 20, 30).  Every
// wake-up, promise and notifier update is a testLog line "<what> <time>".
import { E, Far } from '@endo/far';

export const buildRootObject = vatPowers => {
  const log = s => vatPowers.testLog(s);
  let ts;
  const t = x => (x && typeof x === 'object' ? x.absValue : x);
  const handler = name =>
    Far('handler', {
      wake(time) {
        log(`${name} woke at ${t(time)}`);
      },
    });
  const settle = (what, p) =>
    p.then(
      v => log(`${what} fulfilled ${t(v)}`),
      e => log(`${what} rejected ${e && e.message}`),
    );
  const cancelD = Far('cancelD', {});
  const cancelE = Far('cancelE', {});
  let repeater;

  const watch = async (name, notifier, max) => {
    let count;
    for (let i = 0; i < max; i += 1) {
      // eslint-disable-next-line no-await-in-loop
      const u = await E(notifier).getUpdateSince(count);
      log(`${name} update ${t(u.value)} #${u.updateCount}`);
      count = u.updateCount;
      if (count === undefined) return;
    }
  };

  return Far('root', {
    async bootstrap(vats, devices) {
      ts = await E(vats.timer).createTimerService(devices.timer);
      const now = await E(ts).getCurrentTimestamp();
      log(`start ${t(now)}`);
      return 'ready';
    },
    // at time 0
    async plan() {
      const brand = await E(ts).getTimerBrand();
      const at = n => harden({ timerBrand: brand, absValue: n });
      const rel = n => harden({ timerBrand: brand, relValue: n });
      log(`plan at ${t(await E(ts).getCurrentTimestamp())}`);
      // two handlers at one time, and an earlier one added after them
      await E(ts).setWakeup(at(10n), handler('A'));
      await E(ts).setWakeup(at(10n), handler('B'));
      await E(ts).setWakeup(at(5n), handler('C'));
      // cancelled before it fires
      await E(ts).setWakeup(at(3n), handler('D'), cancelD);
      await E(ts).cancel(cancelD);
      settle('delay 7', E(ts).delay(rel(7n)));
      settle('wakeAt 4', E(ts).wakeAt(at(4n)));
      settle('wakeAt 12 cancelled', E(ts).wakeAt(at(12n), cancelE));
      repeater = await E(ts).makeRepeater(rel(2n), rel(4n));
      await E(repeater).schedule(handler('R'));
      void watch('N', E(ts).makeNotifier(rel(0n), rel(5n)), 6);
      return 'planned';
    },
    // at time 10
    async later() {
      const brand = await E(ts).getTimerBrand();
      const at = n => harden({ timerBrand: brand, absValue: n });
      const now = await E(ts).getCurrentTimestamp();
      log(`later at ${t(now)}`);
      // before, at and after the polled time
      await E(ts).setWakeup(at(8n), handler('before'));
      await E(ts).setWakeup(at(10n), handler('at'));
      await E(ts).setWakeup(at(11n), handler('after'));
      await E(ts).cancel(cancelE);
      return `later ${t(now)}`;
    },
    // at time 20
    async stop() {
      await E(repeater).disable();
      log(`stop at ${t(await E(ts).getCurrentTimestamp())}`);
      return 'stopped';
    },
  });
};
