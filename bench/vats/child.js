// bench/vats/child.js — the smallest useful dynamic vat.
import { Far } from '@endo/far';

export const buildRootObject = (_vatPowers, vatParameters) =>
  Far('root', {
    ping: () => `${vatParameters.name} pong`,
  });
