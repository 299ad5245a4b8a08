// eight/bootstrap.js — creates 8 children at once (every createVat() sent
// before any is awaited), waits for all, then pings them in index order.
// Children with an even index each create a grandchild while starting.
import { E, Far } from '@endo/far';
import { adminService } from '../lib/bootstrap-util.js';

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  return Far('root', {
    async bootstrap(vats, devices) {
      const svc = await adminService(vats, devices);
      const cap = await E(svc).getNamedBundleCap('child');
      const ps = [];
      for (let i = 0; i < 8; i += 1) {
        const name = `c${i}`;
        const vatParameters =
          i % 2 === 0 ? { name, index: i, svc, cap } : { name, index: i };
        ps.push(E(svc).createVat(cap, { name, vatParameters }));
      }
      const created = await Promise.all(ps);
      log(`created ${created.length} children`);
      const answers = [];
      for (const { root } of created) {
        answers.push(await E(root).ping());
      }
      for (const a of answers) log(a);
      return answers.length;
    },
  });
};
