// loop/spinner.js — spin() never returns.  vatParameters: { name }.
import { Far } from '@endo/far';

export const buildRootObject = (_vatPowers, vatParameters) => {
  const { name } = vatParameters;
  let pings = 0;
  return Far('root', {
    ping(from) {
      pings += 1;
      return `${name} pong ${pings} to ${from}`;
    },
    spin() {
      for (;;) {
        // forever: only the worker's per-crank compute limit stops this
      }
    },
  });
};
