// bench/vats/bootstrap.js — driven from outside (the host queues these to
// the bootstrap vat's root and times each run):
//   createChildren(n)  n dynamic vats from bundle "child", all createVat()
//                      sent before any is awaited; resolves to n when
//                      every root is in hand (and has answered one ping)
//   pingpong(n)        alice sends n messages to bob at once, waits for all
//   serial(n)          the same, one message at a time
import { E, Far } from '@endo/far';

export const buildRootObject = () => {
  let svc;
  let cap;
  let alice;
  let bob;
  let made = 0;
  return Far('root', {
    async bootstrap(vats, devices) {
      svc = await E(vats.vatAdmin).createVatAdminService(devices.vatAdmin);
      cap = await E(svc).getNamedBundleCap('child');
      ({ alice, bob } = vats);
      return 'ready';
    },
    async createChildren(n) {
      const ps = [];
      for (let i = 0; i < n; i += 1) {
        const name = `b${made}`;
        made += 1;
        ps.push(E(svc).createVat(cap, { name, vatParameters: { name } }));
      }
      const created = await Promise.all(ps);
      const pongs = await Promise.all(created.map(({ root }) => E(root).ping()));
      return pongs.length;
    },
    pingpong: n => E(alice).burst(bob, n),
    serial: n => E(alice).serial(bob, n),
  });
};
