// The bridge scenario: the bootstrap vat registers itself as the bridge
// device's inbound handler and logs what the producer sends
// (test_bridge.py: bridgeInbound, the JavaScript kernel's
// deliverInbound); each inbound message is answered with a callOutbound
// whose answer is logged, and the producer queues calls of its own
// (call, unregister, register, bad).  The host answers callOutbound(dstID,
// obj) with {dstID, obj}, undefined for "undef", and throws for "throw".
import { Far } from '@endo/far';

export const buildRootObject = vatPowers => {
  const { D } = vatPowers;
  const log = s => vatPowers.testLog(s);
  let br;
  const attempt = (what, f) => {
    try {
      const r = f();
      return `${what}: ${r === undefined ? 'undefined' : JSON.stringify(r)}`;
    } catch (e) {
      return `${what} threw: ${e.message}`;
    }
  };
  const handler = Far('inbound', {
    inbound(srcID, obj) {
      log(`inbound ${srcID} ${JSON.stringify(obj)}`);
      log(attempt(`reply ${srcID}`, () =>
        D(br).callOutbound(`re-${srcID}`, { got: obj })));
    },
  });

  return Far('root', {
    bootstrap(_vats, devices) {
      br = devices.bridge;
      log(attempt('register', () => D(br).registerInboundHandler(handler)));
      log(attempt('again', () => D(br).registerInboundHandler(handler)));
      return 'ready';
    },
    call(dstID, obj) {
      const r = attempt(`call ${dstID}`, () => D(br).callOutbound(dstID, obj));
      log(r);
      return r;
    },
    twice(a, b) {
      const r = [
        attempt(`first ${a}`, () => D(br).callOutbound(a, 1)),
        attempt(`second ${b}`, () => D(br).callOutbound(b, 2)),
      ].join('; ');
      log(r);
      return r;
    },
    unregister() {
      return attempt('unregister', () => D(br).unregisterInboundHandler());
    },
    register() {
      return attempt('register', () => D(br).registerInboundHandler(handler));
    },
    bad() {
      return [
        attempt('nomethod', () => D(br).frob()),
      ].join('; ');
    },
  });
};
