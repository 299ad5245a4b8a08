// The timer device itself, without the timer vat: D(devices.timer)'s
// setWakeup, removeWakeup, getLastPolled, makeRepeater, deleteRepeater
// and schedule, their answers and errors, and the wake() messages polls
// send (test_timer.py TimerDeviceTest: polls at 4, 7, 7, 13, 20).
import { Far } from '@endo/far';

export const buildRootObject = vatPowers => {
  const { D } = vatPowers;
  const log = s => vatPowers.testLog(s);
  let dev;
  const show = v =>
    typeof v === 'bigint' ? `${v}n` : Array.isArray(v) ? `[${v.map(show)}]` : `${v}`;
  const call = (what, f) => {
    try {
      log(`${what} -> ${show(f())}`);
    } catch (e) {
      log(`${what} threw ${e.message}`);
    }
  };
  const handler = name =>
    Far('handler', {
      wake(time) {
        log(`${name} wake ${show(time)}`);
      },
    });
  const h1 = handler('h1');
  const h2 = handler('h2');
  const h3 = handler('h3');
  const rep = handler('rep');

  return Far('root', {
    bootstrap(_vats, devices) {
      dev = devices.timer;
      call('getLastPolled', () => D(dev).getLastPolled());
      call('setWakeup 5 h1', () => D(dev).setWakeup(5n, h1));
      call('setWakeup 5 h2', () => D(dev).setWakeup(5, h2));
      call('setWakeup 3 h1', () => D(dev).setWakeup(3n, h1));
      call('setWakeup 9 h3', () => D(dev).setWakeup(9n, h3));
      call('setWakeup 9 h1', () => D(dev).setWakeup(9n, h1));
      call('setWakeup -1', () => D(dev).setWakeup(-1n, h1));
      call('makeRepeater 2 5', () => D(dev).makeRepeater(2n, 5n));
      call('makeRepeater 10 3', () => D(dev).makeRepeater(10n, 3n));
      call('schedule 0 rep', () => D(dev).schedule(0, rep));
      call('schedule 1 rep', () => D(dev).schedule(1, rep));
      call('schedule 7', () => D(dev).schedule(7, rep));
      call('frob', () => D(dev).frob());
      return 'ready';
    },
    // after the poll at 4
    middle() {
      call('getLastPolled', () => D(dev).getLastPolled());
      call('removeWakeup h1', () => D(dev).removeWakeup(h1));
      call('removeWakeup h1 again', () => D(dev).removeWakeup(h1));
      call('setWakeup 2 h1 (past)', () => D(dev).setWakeup(2n, h1));
      return 'middle';
    },
    // after the polls at 7
    end() {
      call('deleteRepeater 0', () => D(dev).deleteRepeater(0));
      call('schedule 0 deleted', () => D(dev).schedule(0, rep));
      call('getLastPolled', () => D(dev).getLastPolled());
      return 'end';
    },
  });
};
