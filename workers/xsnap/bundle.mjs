#!/usr/bin/env node
// bundle.mjs ENTRY.js [OUT.json] — make an endoZipBase64 bundle of a vat.
//
// Bundles ENTRY with the pinned @endo/bundle-source of this folder (the
// same one SwingSet 0.33.0 uses), in its default format, and writes the
// bundle JSON to OUT (atomically: a temporary file beside it, then
// rename) or to stdout.  Exits 1 with a one-line message naming the file
// on any error (missing entry, syntax error, unresolvable import).
//
// Package resolution.  bundle-source resolves imports as Node does, from
// the package that contains ENTRY: the nearest package.json above ENTRY
// must exist, have a "name", and list every package the vat imports in
// its "dependencies" (tests/vats/package.json and bench/vats/package.json
// are such packages).  Those dependencies come from this folder's
// node_modules (the install of `make xsnap`) and from nowhere else: a
// node_modules folder above the vat's package is not looked at, so the
// bundle, and the bundle ID the kernel records, is the same on every host
// and wherever the checkout is (the archive names packages, not paths).
// A vat may import only packages of the pinned install.
//
// Also a module: `bundleFile(path)` returns the bundle object.

import '@endo/init';

import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

import bundleSource from '@endo/bundle-source';

const here = path.dirname(url.fileURLToPath(import.meta.url));
const fallbackModules = path.join(here, 'node_modules');

const realUrl = async (location) => {
  const dir = location.endsWith('/');
  const p = url.fileURLToPath(location).replace(/\/$/, '');
  const real = await fs.promises.realpath(p);
  return `${url.pathToFileURL(real).href}${dir ? '/' : ''}`;
};

// The compartment mapper finds a dependency NAME of a package by
// canonicalising DIR/node_modules/NAME/ for DIR = the package's folder and
// each of its ancestors.  For a package outside the pinned install every
// such step is sent to the pinned install's NAME (or fails), so the walk
// never reaches the host's own node_modules folders; inside the install,
// Node's nesting rules apply as they are.
const nodeModulesStep = /^(file:\/\/.*?\/)node_modules\/((?:@[^/]+\/)?[^/]+\/)$/;
const pinnedHref = `${url.pathToFileURL(fallbackModules).href}/`;

const canonical = async (location) => {
  const m = nodeModulesStep.exec(location);
  if (m && !location.startsWith(pinnedHref)) {
    try {
      return await realUrl(`${pinnedHref}${m[2]}`);
    } catch {
      return location; // not pinned: not found
    }
  }
  try {
    return await realUrl(location);
  } catch {
    return location;
  }
};

/**
 * Bundle the vat at `entry` (a path); resolves to the bundle object
 * ({moduleFormat: 'endoZipBase64', endoZipBase64, endoZipBase64Sha512}).
 *
 * @param {string} entry
 */
export const bundleFile = async (entry) => {
  const abs = path.resolve(entry);
  let st;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    throw Error(`${entry}: no such file`);
  }
  if (!st.isFile()) throw Error(`${entry}: not a file`);
  return bundleSource(abs, { format: 'endoZipBase64' }, { canonical });
};

const writeAtomically = (out, text) => {
  const dir = path.dirname(path.resolve(out));
  const tmp = path.join(dir, `.${path.basename(out)}.tmp-${process.pid}`);
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, out);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created
    }
    throw e;
  }
};

const main = async (argv) => {
  if (argv.length < 1 || argv.length > 2 || argv[0].startsWith('-')) {
    process.stderr.write('usage: node workers/xsnap/bundle.mjs ENTRY.js [OUT.json]\n');
    return 2;
  }
  const [entry, out] = argv;
  let text;
  try {
    const bundle = await bundleFile(entry);
    text = `${JSON.stringify(bundle)}\n`;
  } catch (e) {
    const msg = String((e && e.message) || e).replace(/\s+/g, ' ').trim();
    process.stderr.write(`bundle.mjs: cannot bundle ${entry}: ${msg}\n`);
    return 1;
  }
  try {
    if (out) writeAtomically(out, text);
    else await new Promise((res, rej) => {
      process.stdout.once('error', rej); // e.g. EPIPE: the reader went away
      process.stdout.write(text, (err) => (err ? rej(err) : res()));
    });
  } catch (e) {
    process.stderr.write(`bundle.mjs: cannot write ${out || 'stdout'}: ${e.message}\n`);
    return 1;
  }
  return 0;
};

const isMain = () => {
  try {
    return fs.realpathSync(process.argv[1]) ===
      fs.realpathSync(url.fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (process.argv[1] && isMain()) {
  process.exitCode = await main(process.argv.slice(2));
}
