// lib/bootstrap-util.js — helpers the scenarios' bootstrap vats share
// (bundled into each by a relative import).
import { E } from '@endo/far';

/** The vat-admin service, from bootstrap()'s vats and devices. */
export const adminService = (vats, devices) =>
  E(vats.vatAdmin).createVatAdminService(devices.vatAdmin);

/** An error's message (a rejection reason may also be a plain value). */
export const errText = e =>
  e && typeof e === 'object' && 'message' in e ? e.message : String(e);

/**
 * A line for the outcome of `p`, which is expected to reject:
 * "WHAT rejected: MESSAGE", or "WHAT fulfilled (unexpected): VALUE".
 */
export const rejection = (p, what) =>
  Promise.resolve(p).then(
    v => `${what} fulfilled (unexpected): ${String(v)}`,
    e => `${what} rejected: ${errText(e)}`,
  );
