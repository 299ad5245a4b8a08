// churn/bootstrap.js — garbage on purpose (issue 16's churn test).
// bootstrap() runs one small batch; batch(n, m) (queued by the host, as
// many times as it likes) has bob take n objects and m promises from
// alice, send every object back to her once, then let go of all of it.
// Nothing here keeps what a batch made: once every vat has brought out
// its dead, the kernel's objects, promises and c-lists are back where
// they were.  Logs "batch N: K objects, K promises" per batch.
import { E, Far } from '@endo/far';

export const buildRootObject = vatPowers => {
  const { testLog: log } = vatPowers;
  let alice;
  let bob;
  let batches = 0;
  const batch = async (n, m = n) => {
    const [objects, answers] = await E(bob).churn(alice, n, m);
    batches += 1;
    log(`batch ${batches}: ${objects} objects, ${answers} promises`);
    return objects + answers;
  };
  return Far('root', {
    async bootstrap(vats) {
      ({ alice, bob } = vats);
      return batch(10);
    },
    batch,
  });
};
