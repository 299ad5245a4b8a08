// decider.js — a static vat that decides promises it never settles, for
// the host's terminateVat (controller.terminateVat on SwingSet): each
// method logs, so the order of what reaches it shows.
import { Far } from '@endo/far';

export const buildRootObject = vatPowers => {
  const log = vatPowers.testLog;
  const pending = [];
  const never = () => {
    const p = new Promise(resolve => pending.push(resolve));
    return p;
  };
  return Far('root', {
    // a promise this vat exports and decides
    getForever: () => {
      log('decider: getForever');
      return harden({ forever: never() });
    },
    // a result promise this vat decides
    hang: n => {
      log(`decider: hang ${n}`);
      return never();
    },
    ping: n => {
      log(`decider: ping ${n}`);
      return `pong ${n}`;
    },
  });
};
