// terminate-order/decider.js — a vat that decides promises it never
// resolves, and dies when told to.  vatParameters.name names it (and the
// case of bootstrap.js it serves).
//
//   getForever()         answers with a promise it never resolves (the
//                        kernel promise of the result stays decided here)
//   exportForever()      {p}: an exported promise it never resolves
//   getLater()           {p}: an exported promise that talk() resolves to
//                        this vat's object bert
//   talk(observer)       "talks": sends observer.heard() twice, resolving
//                        getLater()'s promise between the two
//   die(mode, observer, talkFirst)
//                        talks first if told to, then vatPowers.exitVat
//                        (mode "happy") or exitVatWithFailure ("sad")
//   foo(n)               answers at once
import { E, Far } from '@endo/far';

const makeKit = () => {
  let resolve;
  const promise = new Promise(res => {
    resolve = res;
  });
  return { promise, resolve };
};

export const buildRootObject = (vatPowers, vatParameters) => {
  const { exitVat, exitVatWithFailure } = vatPowers;
  const { name } = vatParameters;
  const kept = []; // promises it never resolves
  const keep = () => {
    const kit = makeKit();
    kept.push(kit);
    return kit.promise;
  };
  let later;
  const bert = Far('bert', {
    hello(from) {
      return `${name} bert says hello to ${from}`;
    },
  });
  const talk = observer => {
    E(observer).heard(`${name} talk 1`);
    later.resolve(bert);
    E(observer).heard(`${name} talk 2`);
  };
  return Far('decider', {
    getForever: () => keep(),
    exportForever: () => harden({ p: keep() }),
    getLater: () => {
      later = makeKit();
      return harden({ p: later.promise });
    },
    talk: observer => {
      talk(observer);
      return `${name} talked`;
    },
    die: (mode, observer, talkFirst) => {
      if (talkFirst) talk(observer);
      if (mode === 'happy') exitVat(`${name} completion`);
      else exitVatWithFailure(Error(`${name} failure`));
      return `${name} died`;
    },
    foo: n => `${name} foo${n}`,
  });
};
