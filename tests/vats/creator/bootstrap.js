// creator/bootstrap.js — creates 5 dynamic vats (c0..c4, from the bundle
// named 'child'), pings them, pipelines through one, fails to create one
// ('bad'), and terminates one.  Every testLog line is written here, after
// awaiting, in program order, except the children's own
// "cN: buildRootObject ..." lines, which all come before the first line of
// this vat (it waits for every child first).
import { E, Far } from '@endo/far';
import { adminService, rejection } from '../lib/bootstrap-util.js';

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  return Far('root', {
    async bootstrap(vats, devices) {
      const svc = await adminService(vats, devices);
      const childCap = await E(svc).getNamedBundleCap('child');
      const badCap = await E(svc).getNamedBundleCap('bad');

      // create 5 children concurrently, then wait for all of them
      const names = ['c0', 'c1', 'c2', 'c3', 'c4'];
      const created = await Promise.all(
        names.map((name, i) =>
          E(svc).createVat(childCap, {
            name,
            vatParameters: { name, greeting: `hello-${i}` },
          }),
        ),
      );
      log(`created ${created.length} children`);

      // ping each, in order
      for (const [i, { root }] of created.entries()) {
        log(await E(root).ping('bootstrap'));
        log(`${names[i]} bump -> ${await E(root).bump()}`);
      }

      // pipelining: send to the result of a send before it resolves
      const c1 = created[1].root;
      const counterP = E(c1).makeCounter(41);
      const p1 = E(counterP).incr();
      const p2 = E(counterP).incr();
      log(`pipelined incr -> ${await p1}, ${await p2}`);
      log(`pipelined E(E(root).makeCounter()).incr() -> ${await E(E(created[2].root).makeCounter()).incr()}`);

      // a child whose buildRootObject throws: createVat() rejects
      log(
        await rejection(
          E(svc).createVat(badCap, { name: 'bad', vatParameters: { name: 'bad' } }),
          'bad createVat',
        ),
      );

      // terminate c4 with a failure; done() rejects with the reason
      const { root: c4, adminNode } = created[4];
      const doneP = E(adminNode).done();
      await E(adminNode).terminateWithFailure(Error('c4 terminated by bootstrap'));
      log(await rejection(doneP, 'c4 done()'));
      log(await rejection(E(c4).ping('bootstrap'), 'ping to terminated c4'));

      // the others still answer
      log(await E(created[0].root).ping('bootstrap again'));

      return `creator done: ${names.length} created, 1 failed to start, 1 terminated`;
    },
  });
};
