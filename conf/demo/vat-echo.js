// vat-echo.js — "alice" of `make demo`: answers what it is sent.
import { Far } from '@endo/far';

export const buildRootObject = () =>
  Far('echo', {
    echo: what => `echo: ${what}`,
  });
