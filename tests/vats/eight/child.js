// eight/child.js — makes 50 baggage writes in buildRootObject.
// vatParameters: { name, index, svc?, cap? }: with the vat-admin service
// and a bundlecap, it also creates a grandchild "g<index>" (from the same
// bundle, without svc) during buildRootObject, i.e. sends createVat()
// from inside its own startVat delivery.
import { E, Far } from '@endo/far';

export const buildRootObject = (_vatPowers, vatParameters, baggage) => {
  const { name, index, svc, cap } = vatParameters;
  for (let k = 0; k < 50; k += 1) {
    baggage.init(`key-${k}`, `${name}:${k * (index + 1)}`);
  }
  const gcP =
    svc &&
    E(svc).createVat(cap, {
      name: `g${index}`,
      vatParameters: { name: `g${index}`, index: 100 + index },
    });
  const summary = () => {
    let sum = 0;
    let count = 0;
    for (const k of baggage.keys()) {
      count += 1;
      sum += Number(baggage.get(k).split(':')[1]);
    }
    return `${name}: ${count} keys, sum ${sum}`;
  };
  return Far('root', {
    async ping() {
      if (!gcP) return summary();
      const { root } = await gcP;
      return `${summary()}; grandchild ${await E(root).ping()}`;
    },
  });
};
