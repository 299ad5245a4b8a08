// restart/bootstrap.js — bootstrap() creates two counter vats, c0 and c1.
// tick() (queued from outside, e.g. across daemon restarts) increments
// both and its own counter, testLogs "tick N: c0=N/N c1=N/N" and returns
// the same string.
import { E, Far } from '@endo/far';
import { adminService } from '../lib/bootstrap-util.js';

export const buildRootObject = (vatPowers, _vatParameters, baggage) => {
  const { testLog: log } = vatPowers;
  if (!baggage.has('ticks')) baggage.init('ticks', 0);
  let counters = baggage.has('counters') ? baggage.get('counters') : undefined;
  return Far('root', {
    async bootstrap(vats, devices) {
      const svc = await adminService(vats, devices);
      const cap = await E(svc).getNamedBundleCap('counter');
      const made = await Promise.all(
        ['c0', 'c1'].map(name =>
          E(svc).createVat(cap, { name, vatParameters: { name } }),
        ),
      );
      counters = harden(made.map(({ root }) => root));
      baggage.init('counters', counters);
      log('restart: 2 counters created');
      return 'ready';
    },
    async tick() {
      if (!counters) throw Error('tick before bootstrap');
      const answers = await Promise.all(counters.map(c => E(c).incr()));
      const n = baggage.get('ticks') + 1;
      baggage.set('ticks', n);
      const line = `tick ${n}: ${answers.join(' ')}`;
      log(line);
      return line;
    },
  });
};
