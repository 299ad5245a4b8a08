// vat-counter.js — "bob" of `make demo`: a counter kept in baggage, so it
// survives restarts (`swingctl queue --vat bob incr`).
import { Far } from '@endo/far';

export const buildRootObject = (_vatPowers, _vatParameters, baggage) => {
  if (!baggage.has('count')) baggage.init('count', 0);
  return Far('counter', {
    incr() {
      const n = baggage.get('count') + 1;
      baggage.set('count', n);
      return n;
    },
  });
};
