// The mailbox scenario: the bootstrap vat registers itself as the
// mailbox device's inbound handler and logs what the producer delivers
// (test_mailbox.py: mailboxDeliver, the JavaScript kernel's
// deliverInbound); the producer queues add/remove/ackInbound calls, and
// the outbox is compared at the end.
import { Far } from '@endo/far';

export const buildRootObject = vatPowers => {
  const { D } = vatPowers;
  const log = s => vatPowers.testLog(s);
  let mb;
  const handler = Far('inbound', {
    deliverInboundMessages(peer, messages) {
      log(`messages ${peer} ${JSON.stringify(messages)}`);
    },
    deliverInboundAck(peer, ack) {
      log(`ack ${peer} ${ack}`);
    },
  });
  const attempt = (what, f) => {
    try {
      return `${what}: ${f()}`;
    } catch (e) {
      return `${what} threw: ${e.message}`;
    }
  };

  return Far('root', {
    bootstrap(_vats, devices) {
      mb = devices.mailbox;
      D(mb).registerInboundHandler(handler);
      log(attempt('again', () => D(mb).registerInboundHandler(handler)));
      return 'ready';
    },
    add(peer, num, body) {
      return attempt(`add ${peer} ${num}`, () => D(mb).add(peer, num, body));
    },
    remove(peer, num) {
      return attempt(`remove ${peer} ${num}`, () => D(mb).remove(peer, num));
    },
    ack(peer, num) {
      return attempt(`ack ${peer} ${num}`, () => D(mb).ackInbound(peer, num));
    },
    bad() {
      return [
        attempt('negative', () => D(mb).add('p', -1, 'x')),
        attempt('nomethod', () => D(mb).frob()),
      ].join('; ');
    },
  });
};
