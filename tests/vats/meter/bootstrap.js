// meter/bootstrap.js — meters charged by the kernel: what startVat and a
// message cost (exact computrons, which the JavaScript kernel must agree
// on), a failed delivery (exitVatWithFailure) is still charged, and a
// meter that cannot pay for a delivery terminates its vat ("meter
// underflow") and is left empty.
import { E, Far } from '@endo/far';

const errText = e => (e && typeof e === 'object' && 'message' in e ? e.message : String(e));
const BIG = 10n ** 12n;

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  return Far('root', {
    async bootstrap(vats, devices) {
      const svc = await E(vats.vatAdmin).createVatAdminService(devices.vatAdmin);
      const cap = await E(svc).getNamedBundleCap('worker');
      const spent = async (meter, from) => from - (await E(meter).get()).remaining;

      // what things cost
      const m1 = await E(svc).createMeter(BIG, 0n);
      const { root: w1 } = await E(svc).createVat(cap, { name: 'w1', meter: m1 });
      const startCost = await spent(m1, BIG);
      log(`startVat cost ${startCost}`);
      const before = (await E(m1).get()).remaining;
      log(`work(1000) = ${await E(w1).work(1000)}`);
      log(`work(1000) cost ${await spent(m1, before)}`);

      // a failed delivery is charged too
      const m2 = await E(svc).createMeter(BIG, 0n);
      const { root: q, adminNode: qAdmin } = await E(svc).createVat(cap, { name: 'quitter', meter: m2 });
      const qBefore = (await E(m2).get()).remaining;
      const qDone = E(qAdmin).done();
      log(await E(q).quit().then(v => `quit() returned ${v}`, e => `quit() rejected: ${errText(e)}`));
      log(await qDone.then(v => `quitter done: ${v}`, e => `quitter done() rejected: ${errText(e)}`));
      log(`quit() charged: ${(await spent(m2, qBefore)) > 0n}`);

      // enough for startVat and a little more: the next big delivery
      // underflows
      const m3 = await E(svc).createMeter(startCost + 1000n, 0n);
      const { root: w3, adminNode: a3 } = await E(svc).createVat(cap, { name: 'w3', meter: m3 });
      log(`w3 left after startVat: ${(await E(m3).get()).remaining}`);
      const w3Done = E(a3).done();
      log(await E(w3).work(100000).then(v => `work(100000) = ${v} (unexpected)`, e => `work(100000) rejected: ${errText(e)}`));
      log(await w3Done.then(v => `w3 done: ${v}`, e => `w3 done() rejected: ${errText(e)}`));
      log(`w3 meter after underflow: ${(await E(m3).get()).remaining}`);

      // an unlimited meter never runs out
      const mu = await E(svc).createUnlimitedMeter();
      const { root: wu } = await E(svc).createVat(cap, { name: 'wu', meter: mu });
      log(`unlimited: work(100000) = ${await E(wu).work(100000)}, remaining ${(await E(mu).get()).remaining}`);
      return 'meter done';
    },
  });
};
