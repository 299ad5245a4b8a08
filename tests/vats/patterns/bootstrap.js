// patterns/bootstrap.js — runs every pattern of patterns.js, one at a
// time: alice's method NAME, awaited, then a round trip through each of
// the three vats so that nothing of one pattern is still in flight when
// the next starts.  Logs "NAME settled: RESULT" (or "NAME failed: ...")
// after each.
import { E, Far } from '@endo/far';
import { errText } from '../lib/bootstrap-util.js';
import { makeRole } from './patterns.js';

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  // only for the list of names (and their order)
  const { names } = makeRole('bootstrap', () => {});
  return Far('root', {
    async bootstrap(vats) {
      const { alice, bob, carol } = vats;
      await Promise.all([
        E(alice).setup({ bob, carol }),
        E(bob).setup({ alice, carol }),
        E(carol).setup({ alice, bob }),
      ]);
      const sync = async () => {
        await E(alice).sync();
        await E(bob).sync();
        await E(carol).sync();
      };
      let failed = 0;
      for (const name of names) {
        try {
          log(`${name} settled: ${await E(alice)[name]()}`);
        } catch (e) {
          failed += 1;
          log(`${name} failed: ${errText(e)}`);
        }
        await sync();
      }
      return `${names.length} patterns, ${failed} failed`;
    },
  });
};
