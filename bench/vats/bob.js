// bench/vats/bob.js — answers ping(i) with i + 1.
import { Far } from '@endo/far';

export const buildRootObject = () => {
  let pings = 0;
  return Far('root', {
    ping(i) {
      pings += 1;
      return i + 1;
    },
    count: () => pings,
  });
};
