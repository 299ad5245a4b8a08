// churn/taker.js — takes what alice makes, sends it back, lets it go.
import { E, Far } from '@endo/far';

export const buildRootObject = () => {
  return Far('root', {
    async churn(alice, n, m) {
      let things = await E(alice).makeThings(n);
      const promises = [];
      for (let i = 0; i < m; i += 1) {
        promises.push(E(alice).answer(i));
      }
      let answers = await Promise.all(promises);
      const back = await E(alice).check(things);
      const counts = [back, answers.length];
      things = undefined;
      answers = undefined;
      return counts;
    },
  });
};
