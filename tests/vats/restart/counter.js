// restart/counter.js — a counter kept in baggage (durable) and one kept
// in the heap.  A worker restarted from a heap snapshot and/or by
// transcript replay keeps both; they differ only after an upgrade.
// vatParameters: { name }.
import { Far } from '@endo/far';

export const buildRootObject = (_vatPowers, vatParameters, baggage) => {
  const { name } = vatParameters;
  if (!baggage.has('count')) baggage.init('count', 0);
  let heapCount = 0;
  return Far('root', {
    incr() {
      const n = baggage.get('count') + 1;
      baggage.set('count', n);
      heapCount += 1;
      return `${name}=${n}/${heapCount}`;
    },
  });
};
