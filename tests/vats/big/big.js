// big/big.js — a vat whose heap is as big as it is told: grow(mb) keeps a
// string of mb MiB in the heap, so the worker's next heap snapshot is
// about that much bigger (tests/integration/test_loop.py, make bench).
// ping() counts in the heap, so a worker rebuilt wrongly answers wrongly.
import { Far } from '@endo/far';

export const buildRootObject = () => {
  let ballast = '';
  let pings = 0;
  return Far('big', {
    grow(mb) {
      // 16 bytes × 65536 = 1 MiB; XS keeps the string as one chunk
      ballast = 'swingsetd-ballas'.repeat(mb * 65536);
      return ballast.length;
    },
    ping() {
      pings += 1;
      return [pings, ballast.length];
    },
  });
};
