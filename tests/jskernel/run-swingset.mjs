#!/usr/bin/env node
// run-swingset.mjs — run a SwingSet config on Agoric's JavaScript kernel.
//
//   node tests/jskernel/run-swingset.mjs CONFIG.json [ACTION ...]
//   node tests/jskernel/run-swingset.mjs --bench [BENCH-CONFIG.json]
//
// The reference the C daemon is compared to.  Uses @agoric/swingset-vat
// 0.33.0 from workers/xsnap/node_modules (make xsnap, then make jskernel
// for its native addon better-sqlite3), with the same xsnap-worker build,
// lockdown and supervisor bundles.  No comms or vattp vat; the timer vat
// (vat-timer.js) only when the config has a timer device ("devices":
// {"timer": {"sourceSpec": …device-timer.js}}), which gets SwingSet's
// own timer endowments (buildTimer) so --poll can feed it times.
//
// CONFIG is SwingSet's config.json: "sourceSpec"/"bundleSpec" paths are
// relative to the config file; a top-level "daemon" key (swingsetd's own
// settings) is dropped.  Every sourceSpec is bundled with
// workers/xsnap/bundle.mjs, so both kernels run the same bundles.
//
// It initialises the swingset, runs to quiescence, then performs the
// ACTIONs in order:
//   --queue METHOD[:ARGS-JSON]  queue METHOD(...ARGS) to the bootstrap
//                               vat's root object, run to quiescence, and
//                               record its result
//   --restart                   commit, shut the kernel down (its workers
//                               too) and start a new one on the same store
//                               (then kept in a temporary folder); vats come
//                               back from heap snapshots and transcripts
//   --snapshot                  snapshot every vat's worker now
//   --mailbox JSON              the mailbox's deliverInbound(peer, messages,
//                               ack), JSON = [peer, [[num, body], …], ack],
//                               as a host calls it, then run to quiescence;
//                               the output then has "mailbox": the outbox
//                               (exportMailboxData)
//   --bridge JSON               the bridge's deliverInbound(srcID, obj),
//                               JSON = [srcID, obj], as a host calls it,
//                               then run to quiescence.  A config with a
//                               bridge device gets buildBridge() with a
//                               host callback that answers callOutbound(
//                               dstID, obj) with {dstID, obj}, undefined
//                               for dstID "undef", and throws for dstID
//                               "throw" (test_bridge.py's producer answers
//                               the same); the output then has
//                               "bridgeCalls": [[dstID, obj], …], the
//                               calls the host saw
//   --poll T                    the timer device's poll(T) (T a decimal
//                               integer, a bigint), as a host calls it
//                               between blocks, then run to quiescence
//   --terminate VAT:MESSAGE     controller.terminateVat(VAT's ID, an Error
//                               with MESSAGE as its capdata), as the
//                               daemon's terminateVat op with swingctl's
//                               reason, then run to quiescence
// Also, with any ACTIONs (and given anywhere after CONFIG):
//   --kv REGEX                  after the last ACTION, before shutdown,
//                               the output gets "kv": {key: value, …},
//                               every kernel kvStore key (swing-store's
//                               kernelStorage.kvStore, walked with
//                               getNextKey from '') that the JavaScript
//                               RegExp REGEX matches (unanchored: write
//                               ^…$ for whole keys), in key order
// and prints one JSON object on stdout:
//   {"testLog": [...], "bootstrapResult": {"status", "value", "capdata"},
//    "cranks": N, "queued": [{"method", "status", "value", "capdata"}],
//    "replayedTestLog": [...]}
// "value" is the capdata decoded to JSON (see decode() below); "queued"
// is present only when --queue was given; "replayedTestLog" only when a
// vat was rebuilt by replaying its transcript after --restart: the lines
// its replayed deliveries logged again (they are not in "testLog").  Everything else the kernel or
// the workers print goes to stderr.
//
// SWINGSET_BUNDLE_CACHE=DIR keeps every bundle made here (the config's
// sourceSpecs, the vat-admin vat and device, the kernel itself) in DIR, keyed by the
// source's absolute path, and takes it from there on later runs: a test
// suite that runs the kernel several times gives it a fresh folder of its
// own, and must not change the sources while that folder is in use.
//
// --bench runs bench/vats/config.json (or the one given) and prints timing
// JSON instead; see runBench().

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import url from 'node:url';
import { spawn as ambientSpawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

// Only our JSON goes to stdout: the kernel's console goes to stderr, and
// so does the workers' fd 1 (see spawnToStderr).
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

const here = path.dirname(url.fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const xsnapDir = path.join(repo, 'workers/xsnap');
const nm = path.join(xsnapDir, 'node_modules');
const load = rel => import(url.pathToFileURL(path.join(nm, rel)).href);

const die = msg => {
  process.stderr.write(`run-swingset: ${msg}\n`);
  process.exit(1);
};

if (!fs.existsSync(path.join(nm, '@agoric/swingset-vat'))) {
  die('workers/xsnap/node_modules is missing: run make xsnap');
}
if (!fs.existsSync(path.join(nm, 'better-sqlite3/build/Release/better_sqlite3.node'))) {
  die('better-sqlite3 is not built: run make jskernel');
}

await load('@endo/init/index.js');
const {
  initializeSwingset,
  makeSwingsetController,
  buildTimer,
  buildMailbox,
  buildMailboxStateMap,
  buildBridge,
} = await load('@agoric/swingset-vat/src/index.js');
const { exportMailboxData } = await load(
  '@agoric/swingset-vat/src/devices/mailbox/mailbox.js',
);
const { initSwingStore, openSwingStore } = await load(
  '@agoric/swing-store/src/index.js',
);
const { bundleFile: makeBundle } = await import(
  url.pathToFileURL(path.join(xsnapDir, 'bundle.mjs')).href
);

// makeBundle, through SWINGSET_BUNDLE_CACHE when it is set (see above).
const cacheDir = process.env.SWINGSET_BUNDLE_CACHE;
const bundleFile = async file => {
  if (!cacheDir) return makeBundle(file);
  const abs = path.resolve(file);
  const key = createHash('sha256').update(abs).digest('hex').slice(0, 32);
  const cached = path.join(cacheDir, `${key}.json`);
  if (fs.existsSync(cached)) return JSON.parse(fs.readFileSync(cached, 'utf8'));
  const bundle = await makeBundle(abs);
  const tmp = `${cached}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(bundle));
  fs.renameSync(tmp, cached);
  return bundle;
};

// Workers inherit fd 1 from the kernel; send it to our stderr instead.
const spawnToStderr = (cmd, args, opts = {}) =>
  ambientSpawn(cmd, args, {
    ...opts,
    stdio: (opts.stdio || []).map((s, i) => (i === 1 && s === 'inherit' ? 2 : s)),
  });

// ---- config -------------------------------------------------------------

const loadConfig = async file => {
  let config;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die(`${file}: ${e.message}`);
  }
  delete config.daemon;
  const dir = path.dirname(path.resolve(file));
  const bundles = new Map(); // absolute path -> bundle (a file is bundled once)
  const fix = async (group, name, desc) => {
    for (const key of ['sourceSpec', 'bundleSpec']) {
      if (typeof desc[key] !== 'string') continue;
      const p = path.resolve(dir, desc[key]);
      if (key === 'bundleSpec') {
        desc.bundleSpec = p;
        continue;
      }
      if (!bundles.has(p)) bundles.set(p, bundleFile(p));
      try {
        desc.bundle = await bundles.get(p);
      } catch (e) {
        die(`config.${group}.${name}: ${e.message}`);
      }
      delete desc.sourceSpec;
    }
  };
  const jobs = [];
  for (const group of ['vats', 'bundles', 'devices']) {
    for (const [name, desc] of Object.entries(config[group] || {})) {
      jobs.push(fix(group, name, desc));
    }
  }
  await Promise.all(jobs);
  return config;
};

// ---- capdata to JSON ----------------------------------------------------

// Decodes smallcaps ("#..." bodies) to plain JSON: slots become
// {"@slot": kref, "iface": ...}, errors {"@error": message, "name": ...},
// bigints "123n", undefined {"@undefined": true}, other special numbers
// and symbols their string.  Old-style bodies are returned as parsed.
const decode = capdata => {
  const { body, slots } = capdata;
  if (typeof body !== 'string' || !body.startsWith('#')) {
    return JSON.parse(body);
  }
  const walk = v => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      if (v['#error'] !== undefined) {
        return { '@error': v['#error'], name: v.name };
      }
      if (v['#tag'] !== undefined) return { '@tag': v['#tag'], payload: walk(v.payload) };
      const o = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x);
      return o;
    }
    if (typeof v !== 'string' || v === '') return v;
    const rest = v.slice(1);
    switch (v[0]) {
      case '!':
        return rest;
      case '$':
      case '&': {
        const [index, iface] = rest.split('.');
        return { '@slot': slots[Number(index)], iface: iface || undefined };
      }
      case '+':
        return `${rest}n`;
      case '-':
        return `-${rest}n`;
      case '#':
        return rest === 'undefined' ? { '@undefined': true } : `#${rest}`;
      case '%':
        return `@@${rest}`;
      default:
        return v;
    }
  };
  return walk(JSON.parse(body.slice(1)));
};

// A result read as swingsetd's promise op reads it: from the kernel's
// state, without kpResolution, which would also let go of the host's
// interest in the promise (and take one on its data's objects), changing
// the reference counts the tests compare.
const settle = (store, kpid) => {
  const kv = store.kernelStorage.kvStore;
  const status = kv.get(`${kpid}.state`) || 'unknown';
  if (status !== 'fulfilled' && status !== 'rejected') {
    return { status, value: null, capdata: null };
  }
  const slots = kv.get(`${kpid}.data.slots`) || '';
  const capdata = {
    body: kv.get(`${kpid}.data.body`),
    slots: slots ? slots.split(',') : [],
  };
  return { status, value: decode(capdata), capdata };
};

// ---- a kernel -----------------------------------------------------------

const runtimeOptions = { env: process.env, spawn: spawnToStderr };
const initOptions = { addComms: false, addVattp: false, addTimer: false };

// Only the vat-admin vat and device (and the timer vat, for a config with
// a timer device) are added, so only they are bundled (SwingSet's
// default would also bundle comms and vattp).
const svDir = path.join(nm, '@agoric/swingset-vat/src');
const kernelBundlesP = Promise.all([
  bundleFile(path.join(svDir, 'vats/vat-admin/vat-vat-admin.js')),
  bundleFile(path.join(svDir, 'devices/vat-admin/device-vat-admin.js')),
]).then(([adminVat, adminDevice]) => ({ adminVat, adminDevice }));
let timerBundleP;
const hasTimer = config => Boolean(config.devices && config.devices.timer);

// The device endowments of one controller: a fresh buildTimer() each
// time (its poll reaches the device of the controller it was given to).
// The mailbox's state is the host's (here one Map for the whole run,
// restarts included); "mailbox" in the output is exportMailboxData's.
let timer;
let mailbox;
const mailboxState = new Map();
let bridge;
const bridgeCalls = [];
const bridgeHost = (dstID, obj) => {
  bridgeCalls.push([dstID, obj]);
  if (dstID === 'throw') throw Error(`host refuses ${JSON.stringify(obj)}`);
  if (dstID === 'undef') return undefined;
  return { dstID, obj };
};
const deviceEndowments = config => {
  const out = {};
  if (hasTimer(config)) {
    timer = buildTimer();
    out.timer = { ...timer.endowments };
  }
  if (config.devices && config.devices.mailbox) {
    mailbox = buildMailbox(buildMailboxStateMap(mailboxState));
    out.mailbox = { ...mailbox.endowments };
  }
  if (config.devices && config.devices.bridge) {
    bridge = buildBridge(bridgeHost);
    out.bridge = { ...bridge.endowments };
  }
  return out;
};

// makeSwingsetController bundles the kernel itself (src/kernel/kernel.js,
// about 15 s) on every start unless it is given the bundle: with
// SWINGSET_BUNDLE_CACHE that bundle is made once, here, and kept too.
if (cacheDir) {
  runtimeOptions.kernelBundle = await bundleFile(path.join(svDir, 'kernel/kernel.js'));
}

const startKernel = async (config, storeDir, extraOptions = {}) => {
  const kernelBundles = { ...(await kernelBundlesP) };
  const opts = { ...initOptions };
  if (hasTimer(config)) {
    timerBundleP ||= bundleFile(path.join(svDir, 'vats/timer/vat-timer.js'));
    kernelBundles.timer = await timerBundleP;
    opts.addTimer = true;
  }
  const store = storeDir ? initSwingStore(storeDir) : initSwingStore();
  // argv [] as buildVatController gives: the bootstrap vat's parameters
  // get "argv": []
  const kpid = await initializeSwingset(
    config,
    [],
    store.kernelStorage,
    { ...opts, kernelBundles },
    runtimeOptions,
  );
  const c = await makeSwingsetController(store.kernelStorage,
    deviceEndowments(config), { ...runtimeOptions, ...extraOptions });
  return { store, c, kpid };
};

// Messages queued from outside go to the bootstrap vat's root object,
// which the kernel drops once bootstrap() is done unless the config pins
// it (liveslots then forgets o+0 and the vat dies on the next message:
// "I don't remember allocating o+0").
const needPinned = (config, what) => {
  if (!config.pinBootstrapRoot) {
    die(`${what} needs "pinBootstrapRoot": true in the config`);
  }
};

// Every kvStore key that re matches, with its value, in key order.
const kvMatching = (kvStore, re) => {
  const out = {};
  for (let k = kvStore.getNextKey(''); k !== undefined; k = kvStore.getNextKey(k)) {
    if (re.test(k)) out[k] = kvStore.get(k);
  }
  return out;
};

const runConfig = async (file, actions, kvRegex) => {
  const config = await loadConfig(file);
  if (actions.some(a => a.kind === 'queue')) needPinned(config, '--queue');
  const needsDisk = actions.some(a => a.kind === 'restart');
  const storeDir = needsDisk
    ? fs.mkdtempSync(path.join(os.tmpdir(), 'run-swingset-'))
    : undefined;
  // A vat rebuilt by transcript replay (after --restart) calls testLog
  // again for every replayed delivery, and SwingSet keeps those lines;
  // they go to "replayedTestLog" instead of "testLog".  A new controller
  // brings its vats online (replaying) before it is returned, so every
  // line it has by then is a replayed one; later replays (a vat evicted
  // and reloaded) are marked by the slog's start-replay/finish-replay.
  let c;
  let replayFrom = 0;
  let replayed = [];
  const slogSender = needsDisk
    ? obj => {
        if (!c) return; // still being built: see restart below
        if (obj.type === 'start-replay') replayFrom = c.dump().log.length;
        else if (obj.type === 'finish-replay') replayed.push([replayFrom, c.dump().log.length]);
      }
    : undefined;
  const testLog = [];
  const replayedTestLog = [];
  const takeLog = () => {
    const log = c.dump().log;
    let i = 0;
    for (const [from, to] of replayed) {
      testLog.push(...log.slice(i, from));
      replayedTestLog.push(...log.slice(from, to));
      i = to;
    }
    testLog.push(...log.slice(i));
    replayed = [];
  };
  const extra = slogSender ? { slogSender } : {};
  try {
    let store;
    let kpid;
    ({ store, c, kpid } = await startKernel(config, storeDir, extra));
    let cranks = 0;
    const run = async () => {
      cranks += await c.run();
      await store.hostStorage.commit();
    };
    await run();
    const bootstrapResult = settle(store, kpid);
    const queued = [];
    for (const a of actions) {
      if (a.kind === 'queue') {
        const p = c.queueToVatRoot(config.bootstrap, a.method, a.args, 'ignore');
        await run();
        queued.push({ method: a.method, ...settle(store, p) });
      } else if (a.kind === 'mailbox') {
        if (!mailbox) die('--mailbox needs a mailbox device in the config');
        mailbox.deliverInbound(...a.args);
        await run();
      } else if (a.kind === 'bridge') {
        if (!bridge) die('--bridge needs a bridge device in the config');
        bridge.deliverInbound(...a.args);
        await run();
      } else if (a.kind === 'poll') {
        if (!timer) die('--poll needs a timer device in the config');
        timer.poll(a.time);
        await run();
      } else if (a.kind === 'terminate') {
        const body = `#${JSON.stringify({ '#error': a.message, name: 'Error' })}`;
        c.terminateVat(c.vatNameToID(a.vat), { body, slots: [] });
        await run();
      } else if (a.kind === 'snapshot') {
        await c.snapshotAllVats();
        await store.hostStorage.commit();
      } else if (a.kind === 'restart') {
        takeLog();
        await store.hostStorage.commit();
        await c.shutdown();
        await store.hostStorage.close();
        store = openSwingStore(storeDir);
        c = undefined;
        const next = await makeSwingsetController(store.kernelStorage,
          deviceEndowments(config), { ...runtimeOptions, ...extra });
        c = next;
        replayed.push([0, c.dump().log.length]);
        await run();
      }
    }
    takeLog();
    const kv = kvRegex ? kvMatching(store.kernelStorage.kvStore, kvRegex) : undefined;
    await c.shutdown();
    await store.hostStorage.close();
    const out = { testLog, bootstrapResult, cranks };
    if (kv) out.kv = kv;
    if (actions.some(a => a.kind === 'queue')) out.queued = queued;
    if (mailbox) out.mailbox = exportMailboxData(mailboxState);
    if (bridge) out.bridgeCalls = bridgeCalls;
    if (replayedTestLog.length) out.replayedTestLog = replayedTestLog;
    return out;
  } finally {
    if (storeDir) fs.rmSync(storeDir, { recursive: true, force: true });
  }
};

// ---- bench --------------------------------------------------------------

const kb = (status, key) => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : null;
};

// VmHWM of our xsnap workers (children of this process) that are alive.
const workersPeakRss = () => {
  let sum = 0;
  let count = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = fs.readFileSync(`/proc/${d}/status`, 'utf8');
      const ppid = /^PPid:\s+(\d+)/m.exec(status);
      if (!ppid || Number(ppid[1]) !== process.pid) continue;
      if (!/^Name:\s+xsnap-worker/m.test(status)) continue;
      sum += kb(status, 'VmHWM') || 0;
      count += 1;
    } catch {
      // gone
    }
  }
  return { count, sumKB: sum };
};

// The bench config's bootstrap vat has createChildren(n) (creates n
// dynamic vats at once and waits for all their roots) and pingpong(n)
// (vat "alice" sends n messages to vat "bob", all at once, and waits for
// every answer) and serial(n) (the same, one at a time).  Each is queued
// from here and timed around the run that executes it.
const runBench = async file => {
  const t0 = performance.now();
  const config = await loadConfig(file);
  needPinned(config, '--bench');
  const tBundled = performance.now();
  // the bringOutYourDead deliveries, counted from the slog
  let boyds = 0;
  const slogSender = obj => {
    if (obj.type === 'deliver' && obj.kd && obj.kd[0] === 'bringOutYourDead') boyds += 1;
  };
  const { store, c, kpid } = await startKernel(config, undefined, { slogSender });
  const tStarted = performance.now();
  let cranks = await c.run();
  const tBoot = performance.now();
  const boot = settle(store, kpid);
  if (boot.status !== 'fulfilled') die(`bootstrap ${boot.status}: ${JSON.stringify(boot.value)}`);
  const phase = async (method, args) => {
    const p = c.queueToVatRoot(config.bootstrap, method, args, 'ignore');
    const s = performance.now();
    const n = await c.run();
    const seconds = (performance.now() - s) / 1000;
    cranks += n;
    const r = settle(store, p);
    if (r.status !== 'fulfilled') die(`${method} ${r.status}: ${JSON.stringify(r.value)}`);
    return { seconds, cranks: n, result: r.value };
  };
  const create = await phase('createChildren', [10]);
  const burst = await phase('pingpong', [2000]);
  const serial = await phase('serial', [2000]);
  const workers = workersPeakRss();
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  await c.shutdown();
  await store.hostStorage.close();
  const round = x => Math.round(x * 1000) / 1000;
  return {
    kernel: 'js (@agoric/swingset-vat 0.33.0, xsnap-worker 0.15.0)',
    bundle_seconds: round((tBundled - t0) / 1000),
    init_seconds: round((tStarted - tBundled) / 1000),
    bootstrap_seconds: round((tBoot - tStarted) / 1000),
    create_10_vats_seconds: round(create.seconds),
    create_10_vats_cranks: create.cranks,
    pingpong_2000_burst_seconds: round(burst.seconds),
    pingpong_2000_burst_msgs_per_sec: Math.round(2000 / burst.seconds),
    pingpong_2000_burst_cranks: burst.cranks,
    pingpong_2000_serial_seconds: round(serial.seconds),
    pingpong_2000_serial_msgs_per_sec: Math.round(2000 / serial.seconds),
    pingpong_2000_serial_cranks: serial.cranks,
    cranks,
    results: { createChildren: create.result, pingpong: burst.result, serial: serial.result },
    kernel_peak_rss_kb: kb(status, 'VmHWM'),
    boyds,
    workers_alive: workers.count,
    workers_peak_rss_kb_sum: workers.sumKB,
  };
};

// ---- main ---------------------------------------------------------------

const usage = () =>
  die('usage: run-swingset.mjs CONFIG.json [--queue METHOD[:ARGS-JSON]] [--poll T] [--mailbox JSON] [--bridge JSON] [--restart] [--snapshot] [--terminate VAT:MESSAGE] [--kv REGEX] ...\n' +
      '       run-swingset.mjs --bench [BENCH-CONFIG.json]');

const argv = process.argv.slice(2);
let out;
if (argv[0] === '--bench') {
  if (argv.length > 2) usage();
  out = await runBench(argv[1] || path.join(repo, 'bench/vats/config.json'));
} else {
  if (argv.length < 1 || argv[0].startsWith('-')) usage();
  const actions = [];
  let kvRegex;
  for (let i = 1; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--kv' && i + 1 < argv.length) {
      i += 1;
      try {
        kvRegex = new RegExp(argv[i]);
      } catch (e) {
        die(`--kv ${argv[i]}: ${e.message}`);
      }
    } else if (a === '--restart') actions.push({ kind: 'restart' });
    else if (a === '--snapshot') actions.push({ kind: 'snapshot' });
    else if (a === '--mailbox' && i + 1 < argv.length) {
      i += 1;
      let args;
      try {
        args = JSON.parse(argv[i]);
      } catch (e) {
        die(`--mailbox ${argv[i]}: ${e.message}`);
      }
      if (!Array.isArray(args) || args.length !== 3) die('--mailbox takes [peer, messages, ack]');
      actions.push({ kind: 'mailbox', args });
    } else if (a === '--bridge' && i + 1 < argv.length) {
      i += 1;
      let args;
      try {
        args = JSON.parse(argv[i]);
      } catch (e) {
        die(`--bridge ${argv[i]}: ${e.message}`);
      }
      if (!Array.isArray(args) || args.length !== 2) die('--bridge takes [srcID, obj]');
      actions.push({ kind: 'bridge', args });
    } else if (a === '--poll' && i + 1 < argv.length && /^[0-9]+$/.test(argv[i + 1])) {
      i += 1;
      actions.push({ kind: 'poll', time: BigInt(argv[i]) });
    }
    else if (a === '--terminate' && i + 1 < argv.length) {
      i += 1;
      const colon = argv[i].indexOf(':');
      if (colon <= 0) die(`--terminate ${argv[i]}: expected VAT:MESSAGE`);
      actions.push({
        kind: 'terminate',
        vat: argv[i].slice(0, colon),
        message: argv[i].slice(colon + 1),
      });
    }
    else if (a === '--queue' && i + 1 < argv.length) {
      i += 1;
      const spec = argv[i];
      const colon = spec.indexOf(':');
      const method = colon < 0 ? spec : spec.slice(0, colon);
      let args = [];
      if (colon >= 0) {
        try {
          args = JSON.parse(spec.slice(colon + 1));
        } catch (e) {
          die(`--queue ${spec}: bad ARGS-JSON: ${e.message}`);
        }
        if (!Array.isArray(args)) die(`--queue ${spec}: ARGS-JSON must be an array`);
      }
      actions.push({ kind: 'queue', method, args });
    } else usage();
  }
  out = await runConfig(argv[0], actions, kvRegex);
}
writeStdout(`${JSON.stringify(out)}\n`, () => process.exit(0));
