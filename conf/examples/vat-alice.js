// vat-alice.js — the example vat of conf/example-swingset.json (also the
// named bundle "alice", which vat "bob" runs).
import { Far } from '@endo/far';

export const buildRootObject = (_vatPowers, vatParameters) =>
  Far('root', {
    hello(from) {
      return `${vatParameters.name || 'alice'} greets ${from}`;
    },
  });
