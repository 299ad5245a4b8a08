// bootstrap.js — the example bootstrap vat of conf/example-swingset.json.
import { E, Far } from '@endo/far';

export const buildRootObject = (_vatPowers, vatParameters) =>
  Far('root', {
    async bootstrap(vats) {
      const reply = await E(vats.alice).hello(vatParameters.greeting);
      return E(vats.bob).hello(reply);
    },
  });
