// vat-worker.js — the bundle "worker" of `make demo`, created three times
// by the bootstrap vat: adds its base to what it is given, and makes
// tallies (objects of a virtual kind).
import { Far } from '@endo/far';
import { defineKind } from '@agoric/vat-data';

export const buildRootObject = (_vatPowers, { name, base }, baggage) => {
  baggage.init('name', name);
  const makeTally = defineKind(
    'tally',
    () => ({ n: 0 }),
    { bump: ({ state }, by) => (state.n += by) },
  );
  return Far('worker', {
    add: x => base + x,
    makeTally,
  });
};
