// patterns/vat.js — alice, bob or carol (vatParameters.name): its part of
// every pattern in patterns.js.  setup() gives it the other two roots;
// sync() is the bootstrap's round trip between patterns.
import { Far } from '@endo/far';
import { makeRole } from './patterns.js';

export const buildRootObject = (vatPowers, vatParameters) => {
  const { name } = vatParameters;
  const { methods, setPeers } = makeRole(name, vatPowers.testLog);
  return Far(name, {
    ...methods,
    setup(peers) {
      setPeers(peers);
      return name;
    },
    sync() {
      return name;
    },
  });
};
