// bootstrap.js — the bootstrap vat of `make demo` (conf/demo.json).
// Talks to the static vats alice (echo) and bob (a counter kept in
// baggage), then creates three vats from the bundle named "worker"
// through the vat-admin service, pipelines a message through one of
// them, and returns a summary.  It also makes SwingSet's timer service
// (the timer vat on the timer device): wakeMeAt(t) asks it for a wake-up
// at time t, which comes when the producer's `run --now` reaches t.
import { E, Far } from '@endo/far';

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  let timerService;
  // the static vats' roots, kept: the producer queues to bob later, and a
  // root nobody holds is collected once its vat brings out its dead
  let staticVats;
  return Far('root', {
    async wakeMeAt(t) {
      const handler = Far('alarm', {
        wake: time => log(`woken by the timer at ${time.absValue}`),
      });
      const when = await E(timerService).setWakeup(BigInt(t), handler);
      log(`asked the timer for a wake-up at ${when.absValue}`);
    },
    async bootstrap(vats, devices) {
      staticVats = vats;
      timerService = await E(vats.timer).createTimerService(devices.timer);
      log(`alice says: ${await E(vats.alice).echo('hello from bootstrap')}`);
      log(`bob counts: ${await E(vats.bob).incr()}`);
      const svc = await E(vats.vatAdmin).createVatAdminService(
        devices.vatAdmin,
      );
      const cap = await E(svc).getNamedBundleCap('worker');
      const names = ['w0', 'w1', 'w2'];
      const workers = await Promise.all(
        names.map((name, i) =>
          E(svc).createVat(cap, { name, vatParameters: { name, base: 10 * i } }),
        ),
      );
      log(`created ${workers.map((_w, i) => names[i]).join(', ')}`);
      const sums = await Promise.all(workers.map(({ root }) => E(root).add(7)));
      log(`w0..w2 add(7): ${sums.join(' ')}`);
      // pipelining: send to the result of a send before it resolves
      const n = await E(E(workers[1].root).makeTally()).bump(5);
      log(`w1 tally after bump(5): ${n}`);
      return `bootstrap done: ${sums.length} workers`;
    },
  });
};
