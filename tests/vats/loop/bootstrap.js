// loop/bootstrap.js — a metered dynamic vat that is sent spin(), which
// loops forever.  A dynamic vat created with a meter runs in a worker with
// a per-crank compute limit (xsnap-worker -l 100000000), so the crank is
// stopped and the vat terminated; without a meter it would hang the
// kernel.  Then: the spin result and done() are rejected, and both
// another vat made the same way and this vat still work.
import { E, Far } from '@endo/far';
import { adminService, rejection } from '../lib/bootstrap-util.js';

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  return Far('root', {
    async bootstrap(vats, devices) {
      const svc = await adminService(vats, devices);
      const cap = await E(svc).getNamedBundleCap('spinner');
      // remaining is far above what the test uses: only the per-crank
      // limit can stop spin()
      const meter = await E(svc).createMeter(10n ** 15n, 0n);
      const { root: looper, adminNode } = await E(svc).createVat(cap, {
        name: 'looper',
        meter,
        vatParameters: { name: 'looper' },
      });
      const { root: other } = await E(svc).createVat(cap, {
        name: 'other',
        meter,
        vatParameters: { name: 'other' },
      });
      log(`looper: ${await E(looper).ping('bootstrap')}`);
      const doneP = E(adminNode).done();
      log(await rejection(E(looper).spin(), 'spin()'));
      log(await rejection(doneP, 'looper done()'));
      log(await rejection(E(looper).ping('bootstrap'), 'ping to looper'));
      log(`other: ${await E(other).ping('bootstrap')}`);
      const { remaining } = await E(meter).get();
      log(`meter remaining < start: ${remaining < 10n ** 15n}`);
      return 'loop done';
    },
  });
};
