// creator/child.js — a dynamic vat with baggage, a durable kind and a
// virtual kind.  vatParameters: { name, greeting }.
import { Far } from '@endo/far';
import {
  defineDurableKind,
  defineKind,
  makeKindHandle,
  provide,
} from '@agoric/vat-data';

export const buildRootObject = (vatPowers, vatParameters, baggage) => {
  const { name, greeting } = vatParameters;

  // baggage: plain data, written once per incarnation's first start
  provide(baggage, 'name', () => name);
  provide(baggage, 'greeting', () => greeting);
  provide(baggage, 'squares', () => harden([1, 4, 9, 16]));

  // a durable kind, its handle kept in baggage, one instance in baggage
  const thingKH = provide(baggage, 'thingKH', () => makeKindHandle('thing'));
  const makeThing = defineDurableKind(
    thingKH,
    label => ({ label, bumps: 0 }),
    {
      bump: ({ state }) => {
        state.bumps += 1;
        return state.bumps;
      },
      describe: ({ state }) => `${state.label}#${state.bumps}`,
    },
  );
  const thing = provide(baggage, 'thing', () => makeThing(`${name}-thing`));
  thing.bump();

  // a virtual (non-durable) kind: one instance held here, more on demand
  const makeCounter = defineKind('counter', start => ({ n: start }), {
    incr: ({ state }) => {
      state.n += 1;
      return state.n;
    },
    get: ({ state }) => state.n,
  });
  const counters = [makeCounter(100), makeCounter(200)];
  counters[1].incr();

  vatPowers.testLog(`${name}: buildRootObject ${greeting}`);

  return Far('root', {
    ping(from) {
      const b = `${baggage.get('name')}/${baggage.get('greeting')}/${baggage
        .get('squares')
        .join(',')}`;
      return `${name} pong to ${from}: baggage=${b} thing=${thing.describe()} counters=${counters[0].get()},${counters[1].get()}`;
    },
    makeCounter(start = 0) {
      return makeCounter(start);
    },
    bump() {
      return thing.bump();
    },
  });
};
