// bootstrap.js — the host terminates the decider vat (terminateVat) while
// messages wait on promises it decides: one pipelined to its exported
// promise, results of messages it received, messages still queued for it.
// Every outcome is a testLog line, in the order this vat learns of it.
import { E, Far } from '@endo/far';
import { errText } from '../lib/bootstrap-util.js';

export const buildRootObject = vatPowers => {
  const log = vatPowers.testLog;
  let decider;
  const watch = (p, what) =>
    Promise.resolve(p).then(
      v => log(`${what} fulfilled: ${String(v)}`),
      e => log(`${what} rejected: ${errText(e)}`),
    );
  return Far('root', {
    bootstrap: async vats => {
      decider = vats.decider;
      const { forever } = await E(decider).getForever();
      watch(E(forever).something(), 'afterForever');
      watch(forever, 'forever');
      watch(E(decider).hang(1), 'hang1');
      watch(E(decider).ping(1), 'ping1');
      log('bootstrap: done');
    },
    // queued by the host after the termination
    afterwards: () => {
      watch(E(decider).ping(2), 'ping2');
      log('afterwards: sent');
    },
  });
};
