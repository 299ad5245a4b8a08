// bench/vats/alice.js — sends messages to another vat.
import { E, Far } from '@endo/far';

export const buildRootObject = () =>
  Far('root', {
    // n sends at once, then wait for every answer; returns their sum
    async burst(bob, n) {
      const ps = [];
      for (let i = 0; i < n; i += 1) ps.push(E(bob).ping(i));
      const answers = await Promise.all(ps);
      return answers.reduce((a, b) => a + b, 0);
    },
    // n sends, each after the previous answer
    async serial(bob, n) {
      let sum = 0;
      for (let i = 0; i < n; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        sum += await E(bob).ping(i);
      }
      return sum;
    },
  });
