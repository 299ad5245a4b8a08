// terminate-order/bootstrap.js — messages queued on promises whose decider
// dies (issue 15, case 1).  One case a decider vat (decider.js), run one
// after the other, each fully settled before the next:
//
//   NAME          how it dies                            talks
//   d-twf         E(adminNode).terminateWithFailure()    no
//   d-twf-talk    the same                               talk() just before
//   d-happy       vatPowers.exitVat(completion)          no
//   d-happy-talk  the same                               talk() just before
//   d-happy-in    the same                               in the dying delivery
//   d-sad         vatPowers.exitVatWithFailure(reason)   no
//   d-sad-talk    the same                               talk() just before
//   d-sad-in      the same                               in the dying delivery
//                                                        (rolled back)
//   s-happy, s-happy-in, s-sad, s-sad-talk: the same on static vats
//
// d-* are dynamic vats, created (and awaited) right before their case;
// s-* are static vats of the config.  In each case the bootstrap vat first
// gets an exported never-resolved promise and the promise that talk()
// resolves, then, in one turn: getForever() and a message pipelined on its
// result (afterForeverP), a message on the exported promise, one on the
// talk() promise (hello), talk() if the case talks before, the death
// (die() or terminateWithFailure()), and foo(4) to the decider.  Every
// outcome is logged "NAME what fulfilled|rejected ..." when this vat sees
// it; then foo(5) to the dead vat.
import { E, Far } from '@endo/far';
import { adminService, errText, rejection } from '../lib/bootstrap-util.js';

const show = v => (v && typeof v === 'object' ? `<${v[Symbol.toStringTag]}>` : String(v));

const CASES = [
  ['d-twf', 'twf', 'none'],
  ['d-twf-talk', 'twf', 'before'],
  ['d-happy', 'happy', 'none'],
  ['d-happy-talk', 'happy', 'before'],
  ['d-happy-in', 'happy', 'inside'],
  ['d-sad', 'sad', 'none'],
  ['d-sad-talk', 'sad', 'before'],
  ['d-sad-in', 'sad', 'inside'],
  ['s-happy', 'happy', 'none'],
  ['s-happy-in', 'happy', 'inside'],
  ['s-sad', 'sad', 'none'],
  ['s-sad-talk', 'sad', 'before'],
];

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  return Far('root', {
    async bootstrap(vats, devices) {
      const svc = await adminService(vats, devices);
      const cap = await E(svc).getNamedBundleCap('decider');
      for (const [tag, how, talk] of CASES) {
        const L = s => log(`${tag} ${s}`);
        const watch = (what, p) =>
          Promise.resolve(p).then(
            v => L(`${what} fulfilled ${show(v)}`),
            e => L(`${what} rejected ${errText(e)}`),
          );
        let dec;
        let adminNode;
        const ws = [];
        if (tag.startsWith('d-')) {
          ({ root: dec, adminNode } = await E(svc).createVat(cap, {
            name: tag,
            vatParameters: { name: tag },
          }));
          ws.push(watch('done', E(adminNode).done()));
        } else {
          dec = vats[tag];
        }
        const observer = Far('observer', {
          heard(text) {
            L(`heard ${text}`);
            return 'ok';
          },
        });
        const { p: exported } = await E(dec).exportForever();
        const { p: later } = await E(dec).getLater();
        L('ready');

        const foreverP = E(dec).getForever();
        ws.push(watch('foreverP', foreverP));
        ws.push(watch('afterForeverP', E(foreverP).something()));
        ws.push(watch('exported', exported));
        ws.push(watch('afterExported', E(exported).something()));
        ws.push(watch('later', later));
        ws.push(watch('hello', E(later).hello(tag)));
        if (talk === 'before') ws.push(watch('talk', E(dec).talk(observer)));
        if (how === 'twf') {
          const reason = Error(`${tag} terminated by bootstrap`);
          ws.push(watch('terminateWithFailure', E(adminNode).terminateWithFailure(reason)));
        } else {
          ws.push(watch('die', E(dec).die(how, observer, talk === 'inside')));
        }
        ws.push(watch('foo4P', E(dec).foo(4)));
        await Promise.allSettled(ws);
        L(await rejection(E(dec).foo(5), 'foo5'));
      }
      return `${CASES.length} deciders died`;
    },
  });
};
