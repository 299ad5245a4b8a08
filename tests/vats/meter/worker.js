// meter/worker.js — a vat that does as much work as it is asked to
// (work(n): n rounds of arithmetic), or quits with a failure.
import { Far } from '@endo/far';

export const buildRootObject = vatPowers =>
  Far('worker', {
    work(n) {
      let x = 0;
      for (let i = 0; i < n; i += 1) x = (x * 31 + i) % 1000003;
      return x;
    },
    quit() {
      vatPowers.exitVatWithFailure(Error('worker quits'));
      return 'quitting';
    },
  });
