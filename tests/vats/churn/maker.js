// churn/maker.js — makes objects and answers; keeps none of them.
import { Far } from '@endo/far';

export const buildRootObject = () => {
  let made = 0;
  return Far('root', {
    makeThings(n) {
      const out = [];
      for (let i = 0; i < n; i += 1) {
        made += 1;
        const id = made;
        out.push(Far('thing', { id: () => id }));
      }
      return out;
    },
    answer(i) {
      return i * 2;
    },
    check(things) {
      return things.length;
    },
  });
};
