// patterns/patterns.js — message patterns among three vats (alice, bob,
// carol), for comparing the order in which the two kernels deliver.  Every
// vat of the scenario imports this file and builds its root object from
// its own part (makeRole).  Pattern NAME starts with alice's method NAME
// (called by the bootstrap vat, one pattern at a time); the methods bob and
// carol answer are called NAME_something.  Every testLog line is
// "NAME VAT: text", written by the vat that observes the event, at the
// moment it observes it, so the interleaving of lines from the three vats
// is the order of the deliveries.
//
// Each alice method returns (a promise for) a string once every promise
// the pattern made has settled.  A pattern's events are in flight
// together; one pattern does not overlap the next (the bootstrap waits,
// and then makes a round trip through every vat, before starting the
// next one).
import { E, Far } from '@endo/far';

/** A promise with its resolvers (like @endo/promise-kit's). */
export const makeKit = () => {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const errText = e =>
  e && typeof e === 'object' && 'message' in e ? e.message : String(e);

/** Text for a value: presences by their alleged name, errors by message. */
const show = v => {
  if (v instanceof Error) return `Error(${v.message})`;
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
  if (v && typeof v === 'object') {
    const tag = v[Symbol.toStringTag];
    if (tag) return `<${tag}>`;
    return `{${Object.keys(v)
      .map(k => `${k}:${show(v[k])}`)
      .join(',')}}`;
  }
  return String(v);
};

/**
 * The part of vat `me` ('alice', 'bob' or 'carol') in every pattern.
 * log(tag, text) writes "TAG ME: TEXT".  Returns { names, methods,
 * setPeers }: names lists the patterns in the order the bootstrap runs
 * them; methods are the root object's methods of this vat.
 */
export const makeRole = (me, testLog) => {
  const log = (tag, text) => testLog(`${tag} ${me}: ${text}`);
  /** Log p's outcome when this vat sees it; a promise for that. */
  const watch = (tag, what, p) =>
    Promise.resolve(p).then(
      v => log(tag, `${what} fulfilled ${show(v)}`),
      e => log(tag, `${what} rejected ${errText(e)}`),
    );
  const settled = async (...ps) => {
    await Promise.allSettled(ps);
    return 'settled';
  };
  /** A Far object that logs each call "NAME.method(args)". */
  const thing = (tag, name, answer = m => `${name}.${m} done`) =>
    Far(name, {
      m(x) {
        log(tag, `${name}.m(${show(x)})`);
        return answer('m');
      },
      n(x) {
        log(tag, `${name}.n(${show(x)})`);
        return answer('n');
      },
      o(x) {
        log(tag, `${name}.o(${show(x)})`);
        return answer('o');
      },
    });

  const peers = {};
  const A = {}; // alice's methods
  const B = {}; // bob's
  const C = {}; // carol's
  const names = [];
  const pattern = (name, alice) => {
    names.push(name);
    A[name] = alice;
  };

  // ---- plain sends to objects ------------------------------------------

  // p01: alice -> bob, data in, data out
  pattern('p01', async () => {
    const t = 'p01';
    log(t, `answer ${await E(peers.bob).p01_hello('data')}`);
    return 'ok';
  });
  B.p01_hello = d => {
    log('p01', `hello(${d})`);
    return 'hello back';
  };

  // p02: four sends to two vats in one turn; answers seen in order
  pattern('p02', async () => {
    const t = 'p02';
    const ps = [
      E(peers.bob).p02_m(1),
      E(peers.carol).p02_m(2),
      E(peers.bob).p02_m(3),
      E(peers.carol).p02_m(4),
    ].map((p, i) => watch(t, `m(${i + 1})`, p));
    return settled(...ps);
  });
  B.p02_m = n => {
    log('p02', `m(${n})`);
    return n * 10;
  };
  C.p02_m = B.p02_m;

  // p03: alice passes her object amy to bob, who calls it back and answers
  pattern('p03', async () => {
    const t = 'p03';
    const amy = Far('amy', {
      hi(from) {
        log(t, `amy.hi(${from})`);
        return 'hi from amy';
      },
    });
    const p1 = watch(t, 'take1', E(peers.bob).p03_take(amy));
    const p2 = watch(t, 'take2', E(peers.bob).p03_take(amy));
    return settled(p1, p2);
  });
  let p03amy;
  B.p03_take = async amy => {
    log('p03', `take: same amy ${p03amy === undefined ? 'first' : p03amy === amy}`);
    p03amy = amy;
    const r = E(amy).hi('bob');
    log('p03', 'sent hi');
    return `bob got ${await r}`;
  };

  // p04: bob returns a new object (bill) twice; alice sends to it
  pattern('p04', async () => {
    const t = 'p04';
    const bill1 = await E(peers.bob).p04_bill();
    const bill2 = await E(peers.bob).p04_bill();
    log(t, `same bill ${bill1 === bill2} ${show(bill1)}`);
    const a = watch(t, 'bill.m', E(bill1).m('a'));
    const b = watch(t, 'bill.n', E(bill2).n('b'));
    return settled(a, b);
  });
  const p04bill = thing('p04', 'bill');
  B.p04_bill = () => p04bill;

  // p05: bob throws; alice sees the rejection, and a send after it
  pattern('p05', async () => {
    const t = 'p05';
    const a = watch(t, 'fail', E(peers.bob).p05_fail());
    const b = watch(t, 'ok', E(peers.bob).p05_ok());
    return settled(a, b);
  });
  B.p05_fail = () => {
    log('p05', 'fail called');
    throw Error('p05 nope');
  };
  B.p05_ok = () => {
    log('p05', 'ok called');
    return 'fine';
  };

  // p06: bob's answer holds a rejected promise (a44)
  pattern('p06', async () => {
    const t = 'p06';
    const ret = await E(peers.bob).p06_get();
    log(t, `got array of ${ret.length}`);
    await watch(t, 'ret[0]', ret[0]);
    return 'ok';
  });
  B.p06_get = () => {
    const p = Promise.reject(Error('p06 inner nope'));
    p.catch(() => {});
    return harden([p]);
  };

  // ---- pipelining ---------------------------------------------------------

  // p07: a chain of pipelined sends, each result .then'd (a70)
  pattern('p07', async () => {
    const t = 'p07';
    const p1 = E(peers.bob).p07_pipe1();
    const p2 = E(p1).pipe2();
    const p3 = E(p2).pipe3();
    return settled(
      watch(t, 'p1.then', p1),
      watch(t, 'p2.then', p2),
      watch(t, 'p3.then', p3),
    );
  });
  B.p07_pipe1 = () => {
    log('p07', 'pipe1');
    return Far('pipe2', {
      pipe2() {
        log('p07', 'pipe2');
        return Far('pipe3', {
          pipe3() {
            log('p07', 'pipe3');
            return 'end';
          },
        });
      },
    });
  };

  // p08: the chain starts on px, which bob resolves on a later message (a71)
  pattern('p08', async () => {
    const t = 'p08';
    const px = E(peers.bob).p08_getpx();
    const p1 = E(px).pipe1();
    const p2 = E(p1).pipe2();
    const p3 = E(p2).pipe3();
    const ws = [
      watch(t, 'px.then', px),
      watch(t, 'p1.then', p1),
      watch(t, 'p2.then', p2),
      watch(t, 'p3.then', p3),
    ];
    ws.push(watch(t, 'resolvex', E(peers.bob).p08_resolvex()));
    return settled(...ws);
  });
  const pipeChain = (tag, n = 1) =>
    Far(`pipe${n}`, {
      [`pipe${n}`]() {
        log(tag, `pipe${n}`);
        return n === 3 ? 'end' : pipeChain(tag, n + 1);
      },
    });
  const p08kit = makeKit();
  B.p08_getpx = () => p08kit.promise;
  B.p08_resolvex = () => {
    log('p08', 'resolvex');
    p08kit.resolve(pipeChain('p08'));
  };

  // p09: as p08, but px is resolved only after a round trip (a72)
  pattern('p09', async () => {
    const t = 'p09';
    const px = E(peers.bob).p09_getpx();
    const p1 = E(px).pipe1();
    const p2 = E(p1).pipe2();
    const p3 = E(p2).pipe3();
    const ws = [
      watch(t, 'px.then', px),
      watch(t, 'p1.then', p1),
      watch(t, 'p2.then', p2),
      watch(t, 'p3.then', p3),
    ];
    await E(peers.bob).p09_wait();
    log(t, 'wait answered');
    ws.push(watch(t, 'resolvex', E(peers.bob).p09_resolvex()));
    return settled(...ws);
  });
  const p09kit = makeKit();
  B.p09_getpx = () => p09kit.promise;
  B.p09_wait = () => 0;
  B.p09_resolvex = () => {
    log('p09', 'resolvex');
    p09kit.resolve(pipeChain('p09'));
  };

  // p10: three sends pipelined on one result, which is also .then'd
  pattern('p10', async () => {
    const t = 'p10';
    const p1 = E(peers.bob).p10_make();
    const ws = [watch(t, 'p1.then', p1)];
    for (const i of [1, 2, 3]) ws.push(watch(t, `pipe${i}`, E(p1).m(`pipe${i}`)));
    return settled(...ws);
  });
  const p10thing = thing('p10', 'thing');
  B.p10_make = () => {
    log('p10', 'make');
    return p10thing;
  };

  // p11: a send to a promise that bob resolves on a second message, sent
  // before the pipelined one (a86, YB1)
  pattern('p11', async () => {
    const t = 'p11';
    const billP = E(peers.bob).p11_one();
    const two = E(peers.bob).p11_two();
    const three = E(billP).m('three');
    return settled(
      watch(t, 'billP', billP),
      watch(t, 'two', two),
      watch(t, 'bill.m', three),
    );
  });
  const p11kit = makeKit();
  B.p11_one = () => p11kit.promise;
  B.p11_two = () => {
    log('p11', 'two: resolving');
    p11kit.resolve(thing('p11', 'bill'));
  };

  // p12: as p11, but the pipelined send comes first and the promise is
  // resolved to alice's own object (a84, YA1)
  pattern('p12', async () => {
    const t = 'p12';
    const aliceP = E(peers.bob).p12_one();
    const three = E(aliceP).m('three');
    const two = E(peers.bob).p12_two(thing(t, 'ally'));
    return settled(
      watch(t, 'aliceP', aliceP),
      watch(t, 'ally.m', three),
      watch(t, 'two', two),
    );
  });
  const p12kit = makeKit();
  B.p12_one = () => p12kit.promise;
  B.p12_two = ally => {
    log('p12', 'two: resolving');
    p12kit.resolve(ally);
  };

  // ---- sends to promises resolved to data, or rejected ---------------------

  // p13: a send pipelined on a promise that is resolved to data, with a
  // message to carol between the two
  pattern('p13', async () => {
    const t = 'p13';
    const p = E(peers.bob).p13_num();
    const x = E(peers.carol).p13_x();
    const foo = E(p).foo();
    return settled(watch(t, 'num', p), watch(t, 'x', x), watch(t, 'foo', foo));
  });
  B.p13_num = () => {
    log('p13', 'num');
    return 42;
  };
  C.p13_x = () => {
    log('p13', 'x');
    return 'x done';
  };

  // p14: the same with a promise that is rejected
  pattern('p14', async () => {
    const t = 'p14';
    const p = E(peers.bob).p14_fail();
    const x = E(peers.carol).p14_x();
    const foo = E(p).foo();
    return settled(watch(t, 'fail', p), watch(t, 'x', x), watch(t, 'foo', foo));
  });
  B.p14_fail = () => {
    log('p14', 'fail');
    throw Error('p14 refused');
  };
  C.p14_x = () => {
    log('p14', 'x');
    return 'x done';
  };

  // p15: sends to promises already settled (to an object, to data,
  // rejected) when they are sent
  pattern('p15', async () => {
    const t = 'p15';
    const objP = E(peers.bob).p15_obj();
    const numP = E(peers.bob).p15_num();
    const badP = E(peers.bob).p15_bad();
    await Promise.allSettled([objP, numP, badP]);
    log(t, 'all three settled');
    return settled(
      watch(t, 'obj.m', E(objP).m('after')),
      watch(t, 'num.foo', E(numP).foo()),
      watch(t, 'bad.foo', E(badP).foo()),
      watch(t, 'carol.x', E(peers.carol).p15_x()),
    );
  });
  const p15thing = thing('p15', 'obj');
  B.p15_obj = () => p15thing;
  B.p15_num = () => 7;
  B.p15_bad = () => Promise.reject(Error('p15 bad'));
  C.p15_x = () => {
    log('p15', 'x');
    return 'x done';
  };

  // p16: a chain whose first step rejects: the pipelined send splats with
  // the same reason, with a message to carol between
  pattern('p16', async () => {
    const t = 'p16';
    const p = E(peers.bob).p16_failing();
    const c = E(peers.carol).p16_c();
    const next = E(p).next();
    const after = E(next).after();
    return settled(
      watch(t, 'failing', p),
      watch(t, 'c', c),
      watch(t, 'next', next),
      watch(t, 'after', after),
    );
  });
  B.p16_failing = async () => {
    log('p16', 'failing');
    throw Error('p16 broken');
  };
  C.p16_c = () => {
    log('p16', 'c');
    return 'c done';
  };

  // ---- promises in arguments ------------------------------------------------

  // p17: alice passes her unresolved promise to bob, who sends to it; alice
  // resolves it to amy when carol answers her first message
  pattern('p17', async () => {
    const t = 'p17';
    const kit = makeKit();
    const ping = E(peers.carol).p17_ping().then(v => {
      log(t, `ping answered ${v}, resolving`);
      kit.resolve(thing(t, 'amy'));
    });
    const take = E(peers.bob).p17_take(harden({ p: kit.promise }));
    return settled(ping, watch(t, 'take', take));
  });
  C.p17_ping = () => {
    log('p17', 'ping');
    return 'pong';
  };
  B.p17_take = async ({ p }) => {
    const r = E(p).m('from bob');
    log('p17', 'sent m to the promise');
    const w = watch('p17', 'arg promise', p);
    const v = await r;
    await w;
    return `amy answered ${v}`;
  };

  // p18: bob awaits a promise from alice's argument; alice resolves it
  // after bob's acknowledgement (a60, a91)
  pattern('p18', async () => {
    const t = 'p18';
    const kit = makeKit();
    const p2 = E(peers.bob).p18_wait(harden({ p: kit.promise }));
    const ack = await E(peers.bob).p18_ack();
    log(t, `ack ${ack}, resolving`);
    const amy = thing(t, 'amy');
    kit.resolve(amy);
    const back = await p2;
    log(t, `bob answered amy: ${back === amy}`);
    return 'ok';
  });
  B.p18_wait = async ({ p }) => {
    const v = await p;
    log('p18', `arg resolved ${show(v)}`);
    return v;
  };
  B.p18_ack = () => 'ack';

  // p19: carol gets a promise for bert (bob's object) and sends to it;
  // alice resolves it only after carol's answer (a91)
  pattern('p19', async () => {
    const t = 'p19';
    const bert = await E(peers.bob).p19_bert();
    const kit = makeKit();
    await E(peers.carol).p19_take(kit.promise);
    log(t, 'carol took it, resolving to bert');
    kit.resolve(bert);
    await E(peers.carol).p19_done();
    return 'ok';
  });
  const p19bert = thing('p19', 'bert');
  B.p19_bert = () => p19bert;
  let p19sent;
  C.p19_take = pBert => {
    log('p19', 'take');
    p19sent = watch('p19', 'bert.m', E(pBert).m('carol'));
  };
  C.p19_done = () => p19sent;

  // p20: alice gives bob's object to carol, who calls it (a90)
  pattern('p20', async () => {
    const t = 'p20';
    const bert = await E(peers.bob).p20_bert();
    await watch(t, 'carol.call', E(peers.carol).p20_call(bert));
    return 'ok';
  });
  const p20bert = thing('p20', 'bert');
  B.p20_bert = () => p20bert;
  C.p20_call = async bert => {
    log('p20', 'carol got bert');
    return E(bert).m('hi bert');
  };

  // ---- resolutions holding promises, forwarding ------------------------------

  // p21: bob's answer holds a promise that he resolves on a second message;
  // alice sends to that promise before it is resolved (a62, a82)
  pattern('p21', async () => {
    const t = 'p21';
    const { inner } = await E(peers.bob).p21_outer();
    log(t, 'got outer');
    const two = E(peers.bob).p21_two();
    const m = E(inner).m('three');
    return settled(watch(t, 'inner', inner), watch(t, 'two', two), watch(t, 'inner.m', m));
  });
  const p21kit = makeKit();
  B.p21_outer = () => harden({ inner: p21kit.promise });
  B.p21_two = () => {
    log('p21', 'two: resolving inner');
    p21kit.resolve(thing('p21', 'bill'));
  };

  // p22: bob forwards his answer to carol's (a promise for carol's object);
  // alice sends to bob's answer before it settles
  pattern('p22', async () => {
    const t = 'p22';
    const rP = E(peers.bob).p22_fwd();
    const use = E(rP).m('use');
    const x = E(peers.carol).p22_x();
    return settled(watch(t, 'rP', rP), watch(t, 'use', use), watch(t, 'x', x));
  });
  B.p22_fwd = () => {
    log('p22', 'fwd');
    return E(peers.carol).p22_make();
  };
  const p22thing = thing('p22', 'cthing');
  C.p22_make = () => {
    log('p22', 'make');
    return p22thing;
  };
  C.p22_x = () => {
    log('p22', 'x');
    return 'x';
  };

  // p23: bob hands alice carol's object through a result; alice's send
  // pipelined on that result goes to carol
  pattern('p23', async () => {
    const t = 'p23';
    const p = E(peers.bob).p23_getCarols();
    const use = E(p).m('use');
    return settled(watch(t, 'p', p), watch(t, 'use', use));
  });
  let p23thing;
  B.p23_getCarols = async () => {
    log('p23', 'getCarols');
    if (!p23thing) p23thing = await E(peers.carol).p23_thing();
    return p23thing;
  };
  const p23cthing = thing('p23', 'cthing');
  C.p23_thing = () => p23cthing;

  // p24, p25: bob resolves a promise, on which alice sent two messages, to
  // carol's object, on a second message; alice also sends to that object
  // directly.  In p24 the resolving message is sent before alice's
  // messages on the promise, in p25 after them.
  const forwardTo = (t, resolveFirst) => {
    const kit = makeKit();
    const cthing = thing(t, 'cthing');
    C[`${t}_thing`] = () => cthing;
    B[`${t}_later`] = () => kit.promise;
    B[`${t}_resolveTo`] = x => {
      log(t, 'resolveTo');
      kit.resolve(x);
    };
    pattern(t, async () => {
      const ct = await E(peers.carol)[`${t}_thing`]();
      const p = E(peers.bob)[`${t}_later`]();
      const ws = [watch(t, 'p', p)];
      const resolve = () =>
        ws.push(watch(t, 'resolveTo', E(peers.bob)[`${t}_resolveTo`](ct)));
      if (resolveFirst) resolve();
      ws.push(watch(t, 'x1', E(p).m('x1')));
      ws.push(watch(t, 'x2', E(p).n('x2')));
      if (!resolveFirst) resolve();
      ws.push(watch(t, 'y', E(ct).o('y')));
      return settled(...ws);
    });
  };
  forwardTo('p24', true);
  forwardTo('p25', false);

  // p26: bob answers with carol's result promise, which carol resolves only
  // when alice releases it; alice sends to bob's answer meanwhile
  pattern('p26', async () => {
    const t = 'p26';
    const rP = E(peers.bob).p26_getP();
    const hi = E(rP).m('hi');
    const rel = E(peers.carol).p26_release();
    return settled(watch(t, 'rP', rP), watch(t, 'hi', hi), watch(t, 'release', rel));
  });
  B.p26_getP = () => {
    log('p26', 'getP');
    return E(peers.carol).p26_slow();
  };
  const p26kit = makeKit();
  C.p26_slow = () => {
    log('p26', 'slow');
    return p26kit.promise;
  };
  C.p26_release = () => {
    log('p26', 'release');
    p26kit.resolve(thing('p26', 'slowthing'));
  };

  // p27: E() on a promise for a remote object, before and after it settles
  pattern('p27', async () => {
    const t = 'p27';
    const p = E(peers.bob).p27_bert();
    const a = watch(t, 'a', E(p).m('a'));
    const bert = await p;
    log(t, `bert is ${show(bert)}`);
    const b = watch(t, 'b', E(p).n('b'));
    const c = watch(t, 'c', E(bert).o('c'));
    return settled(a, b, c);
  });
  const p27bert = thing('p27', 'bert');
  B.p27_bert = () => p27bert;

  // p28: bob answers with a record holding a promise already resolved and
  // one resolved later; alice awaits both (notify carries settled
  // promises along)
  pattern('p28', async () => {
    const t = 'p28';
    const rec = await E(peers.bob).p28_rec();
    log(t, 'got rec');
    const w1 = watch(t, 'done', rec.done);
    const w2 = watch(t, 'later', rec.later);
    const fire = watch(t, 'fire', E(peers.bob).p28_fire());
    return settled(w1, w2, fire);
  });
  const p28kit = makeKit();
  B.p28_rec = () => harden({ done: Promise.resolve('early'), later: p28kit.promise });
  B.p28_fire = () => {
    log('p28', 'fire');
    p28kit.resolve(harden({ inner: Promise.resolve('nested') }));
  };

  // p29: cross-referencing resolutions (a100)
  pattern('p29', async () => {
    const t = 'p29';
    const [pa] = await E(peers.bob).p29_one();
    const [pb] = await E(peers.bob).p29_two();
    const wa = watch(t, 'pa', pa);
    const wb = watch(t, 'pb', pb);
    E(peers.bob).p29_three([pa], [pb]);
    const pa2 = (await pa)[0];
    const pb2 = (await pb)[0];
    log(t, `pa2 is pb: ${pa2 === pb} pb2 is pa: ${pb2 === pa}`);
    return settled(wa, wb);
  });
  const p29a = makeKit();
  const p29b = makeKit();
  B.p29_one = () => harden([p29a.promise]);
  B.p29_two = () => harden([p29b.promise]);
  B.p29_three = (apa, apb) => {
    log('p29', 'three');
    p29a.resolve(apb);
    p29b.resolve(apa);
  };

  // ---- .then chains interleaved with sends -------------------------------------

  // p30: a .then chain that sends on each step, beside direct sends
  pattern('p30', async () => {
    const t = 'p30';
    const chain = E(peers.bob)
      .p30_m(1)
      .then(v => {
        log(t, `then1 ${v}`);
        return E(peers.carol).p30_m(v + 1);
      })
      .then(v => {
        log(t, `then2 ${v}`);
        return E(peers.bob).p30_m(v + 1);
      });
    const d1 = watch(t, 'direct carol', E(peers.carol).p30_m(100));
    const d2 = watch(t, 'direct bob', E(peers.bob).p30_m(200));
    return settled(watch(t, 'chain', chain), d1, d2);
  });
  B.p30_m = n => {
    log('p30', `m(${n})`);
    return n;
  };
  C.p30_m = B.p30_m;

  // p31: bob and carol each pipeline on the other's unresolved answer
  pattern('p31', async () => {
    const t = 'p31';
    const b = E(peers.bob).p31_ask();
    const c = E(peers.carol).p31_ask();
    const x = E(peers.bob).p31_answer();
    const y = E(peers.carol).p31_answer();
    return settled(
      watch(t, 'bob ask', b),
      watch(t, 'carol ask', c),
      watch(t, 'bob answer', x),
      watch(t, 'carol answer', y),
    );
  });
  const p31 = (self, other) => {
    const kit = makeKit();
    return {
      ask: async () => {
        const op = E(peers[other]).p31_get();
        const r = E(op).m(`from ${self}`);
        op.then(() => log('p31', `${other}'s object arrived`));
        return r;
      },
      get: () => kit.promise,
      answer: () => {
        log('p31', 'answer');
        kit.resolve(thing('p31', `${self}thing`));
      },
    };
  };
  const p31b = p31('bob', 'carol');
  const p31c = p31('carol', 'bob');
  B.p31_ask = p31b.ask;
  B.p31_get = p31b.get;
  B.p31_answer = p31b.answer;
  C.p31_ask = p31c.ask;
  C.p31_get = p31c.get;
  C.p31_answer = p31c.answer;

  // p32: bob hands out a promise inside a record; alice asks bob to
  // resolve it and sends to it in the same turn (a82, XB1)
  pattern('p32', async () => {
    const t = 'p32';
    const [billP] = await E(peers.bob).p32_one();
    const w = watch(t, 'billP', billP);
    const two = E(peers.bob).p32_two();
    const three = E(billP).m('three');
    return settled(w, watch(t, 'two', two), watch(t, 'three', three));
  });
  const p32kit = makeKit();
  B.p32_one = () => harden([p32kit.promise]);
  B.p32_two = () => {
    log('p32', 'two: resolving');
    p32kit.resolve(thing('p32', 'bill'));
  };

  // p33: a promise alice got from bob, passed on to carol, who sends to it;
  // bob resolves it when carol's message is already on its way
  pattern('p33', async () => {
    const t = 'p33';
    const [p] = await E(peers.bob).p33_one();
    const viaCarol = E(peers.carol).p33_use(p);
    const two = E(peers.bob).p33_two();
    return settled(watch(t, 'via carol', viaCarol), watch(t, 'two', two), watch(t, 'p', p));
  });
  const p33kit = makeKit();
  B.p33_one = () => harden([p33kit.promise]);
  B.p33_two = () => {
    log('p33', 'two: resolving');
    p33kit.resolve(thing('p33', 'bill'));
  };
  C.p33_use = p => {
    log('p33', 'use');
    const w = watch('p33', 'p (carol)', p);
    const r = E(p).m('carol');
    return Promise.all([w, r]).then(([_, v]) => v);
  };

  // p34: several messages queued on one promise from two vats, resolved
  // to data: each splats
  pattern('p34', async () => {
    const t = 'p34';
    const p = E(peers.bob).p34_later();
    const a = E(p).foo();
    const viaCarol = E(peers.carol).p34_use(p);
    const b = E(p).bar();
    const res = E(peers.bob).p34_resolve();
    return settled(
      watch(t, 'p', p),
      watch(t, 'foo', a),
      watch(t, 'via carol', viaCarol),
      watch(t, 'bar', b),
      watch(t, 'resolve', res),
    );
  });
  const p34kit = makeKit();
  B.p34_later = () => p34kit.promise;
  B.p34_resolve = () => {
    log('p34', 'resolving to data');
    p34kit.resolve('plain data');
  };
  C.p34_use = p => {
    log('p34', 'use');
    return watch('p34', 'baz (carol)', E(p).baz());
  };

  // p35: a promise rejected while messages wait on it in the kernel
  pattern('p35', async () => {
    const t = 'p35';
    const p = E(peers.bob).p35_later();
    const a = E(p).foo();
    const res = E(peers.bob).p35_reject();
    const b = E(p).bar();
    const x = E(peers.carol).p35_x();
    return settled(
      watch(t, 'p', p),
      watch(t, 'foo', a),
      watch(t, 'reject', res),
      watch(t, 'bar', b),
      watch(t, 'x', x),
    );
  });
  const p35kit = makeKit();
  B.p35_later = () => p35kit.promise;
  B.p35_reject = () => {
    log('p35', 'rejecting');
    p35kit.reject(Error('p35 rejected'));
  };
  C.p35_x = () => {
    log('p35', 'x');
    return 'x';
  };

  const mine = { alice: A, bob: B, carol: C }[me];
  return harden({
    names,
    methods: mine,
    setPeers: p => Object.assign(peers, p),
  });
};
