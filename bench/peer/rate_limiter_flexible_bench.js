#!/usr/bin/env node
// Peer benchmark for `make bench`: rate-limiter-flexible's RateLimiterRedis on one
// ioredis connection, `--callers` concurrent async loops calling consume(), the same
// shape as gcra_bench's BM_GcraLimiter_RedisCheck (64 callers, 64 keys, every check
// allowed). tools/bench-report.py divides distkit's checks/s by this consumes/s.
//
//   node rate_limiter_flexible_bench.js --port 6399 [--callers 64] [--seconds 5]
//        [--keys 64] [--out peer.json]
'use strict';

const fs = require('fs');
const path = require('path');

const WARMUP_SECONDS = 1;
// Connecting, warming up and quitting must all fit in this on top of --seconds;
// past it the process gives up instead of hanging `make bench`.
const WATCHDOG_SLACK_SECONDS = 15;

function fail(message) {
  process.stderr.write(`rate_limiter_flexible_bench: ${message}\n`);
  process.exit(1);
}

const USAGE =
  'usage: rate_limiter_flexible_bench.js --port N [--callers 64] [--seconds 5] ' +
  '[--keys 64] [--out FILE]';

function parseArgs(argv) {
  const opts = {port: null, callers: 64, seconds: 5, keys: 64, out: null};
  const positiveInt = (name, text) => {
    if (!/^[0-9]+$/.test(text) || Number(text) < 1) fail(`--${name} wants a positive integer, got "${text}"`);
    return Number(text);
  };
  for (let i = 0; i < argv.length; ++i) {
    let arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else {
      if (i + 1 >= argv.length) fail(`${arg} wants a value (${USAGE})`);
      value = argv[++i];
    }
    switch (arg) {
      case '--port': {
        const port = positiveInt('port', value);
        if (port > 65535) fail(`--port out of range: ${value}`);
        opts.port = port;
        break;
      }
      case '--callers':
        opts.callers = positiveInt('callers', value);
        break;
      case '--keys':
        opts.keys = positiveInt('keys', value);
        break;
      case '--seconds': {
        const s = Number(value);
        if (!Number.isFinite(s) || s <= 0) fail(`--seconds wants a positive number, got "${value}"`);
        opts.seconds = s;
        break;
      }
      case '--out':
        if (value === '') fail('--out wants a file name');
        opts.out = value;
        break;
      default:
        fail(`unknown argument "${arg}" (${USAGE})`);
    }
  }
  if (opts.port === null) fail(`--port is required (${USAGE})`);
  return opts;
}

// The installed version, read from the package's own package.json: walk up from the
// resolved entry point, since a package's "exports" may hide package.json.
function installedVersion(name) {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (pkg.name === name) return pkg.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

function loadPeer() {
  try {
    return {Redis: require('ioredis'), RateLimiterRedis: require('rate-limiter-flexible').RateLimiterRedis};
  } catch (e) {
    fail(`cannot load ioredis / rate-limiter-flexible (${e.code || e.message}); run "npm ci" in ${__dirname}`);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// A failing command on a closed client rejects without touching the event loop; yielding
// after an error keeps the timers (and so the end of the run) able to fire.
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const {Redis, RateLimiterRedis} = loadPeer();

  const watchdog = setTimeout(() => {
    fail(`no result after ${opts.seconds + WARMUP_SECONDS + WATCHDOG_SLACK_SECONDS} s; giving up`);
  }, (opts.seconds + WARMUP_SECONDS + WATCHDOG_SLACK_SECONDS) * 1000);
  watchdog.unref();

  const redis = new Redis({
    host: '127.0.0.1',
    port: opts.port,
    lazyConnect: true,  // so a refused connection surfaces from connect() below
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,  // a benchmark should fail, not reconnect forever
    enableOfflineQueue: true,
  });
  let lastError = null;
  redis.on('error', (e) => {
    lastError = e;  // also silences ioredis' "Unhandled error event" noise
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    // The 'error' event carries the cause (ECONNREFUSED, ...); the rejection only says
    // "Connection is closed".
    fail(`redis-server unreachable on 127.0.0.1:${opts.port}: ${(lastError || e).message}`);
  }

  // Plenty of points: every consume is allowed and writes, the common case (as in
  // gcra_bench, whose limit is never reached either).
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: 'distkit-bench-peer',
    points: 1e9,
    duration: 1,
  });
  const keys = Array.from({length: opts.keys}, (_, i) => `k${i}`);

  let measuring = false;
  let stopped = false;
  let operations = 0;
  let errors = 0;
  let rejected = 0;
  let firstError = null;

  async function caller(id) {
    let next = id % keys.length;
    while (!stopped) {
      const key = keys[next];
      next = (next + 1) % keys.length;
      try {
        await limiter.consume(key);
        if (measuring) ++operations;
      } catch (e) {
        // consume() rejects with a RateLimiterRes when the limit is hit, with an Error
        // when Redis failed.
        if (e instanceof Error) {
          if (measuring) ++errors;
          if (firstError === null) firstError = e.message;
          if (redis.status === 'end') stopped = true;
          await yieldToLoop();
        } else if (measuring) {
          ++rejected;
        }
      }
    }
  }

  const loops = [];
  for (let c = 0; c < opts.callers; ++c) loops.push(caller(c));

  await sleep(WARMUP_SECONDS * 1000);
  measuring = true;
  const start = process.hrtime.bigint();
  await sleep(opts.seconds * 1000);
  measuring = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  stopped = true;
  await Promise.all(loops);

  const lost = redis.status === 'end';
  await redis.quit().catch(() => redis.disconnect());
  if (lost) {
    fail(`lost the connection to redis-server during the run: ${(lastError && lastError.message) || firstError}`);
  }
  if (operations === 0) fail(`no consume completed in ${elapsed.toFixed(2)} s (first error: ${firstError})`);

  const result = {
    name: 'rate-limiter-flexible+ioredis',
    rate_limiter_flexible_version: installedVersion('rate-limiter-flexible'),
    ioredis_version: installedVersion('ioredis'),
    node_version: process.version,
    callers: opts.callers,
    keys: opts.keys,
    seconds: Number(elapsed.toFixed(3)),
    operations,
    errors,
    rejected,
    items_per_second: operations / elapsed,
  };
  const json = JSON.stringify(result, null, 2) + '\n';
  if (opts.out) {
    try {
      fs.writeFileSync(opts.out, json);
    } catch (e) {
      fail(`cannot write ${opts.out}: ${e.message}`);
    }
  } else {
    process.stdout.write(json);
  }
  if (errors > 0 || rejected > 0) {
    process.stderr.write(
        `rate_limiter_flexible_bench: warning: ${errors} errors, ${rejected} rejected (first error: ${firstError})\n`);
  }
  process.stderr.write(
      `rate_limiter_flexible_bench: ${operations} consumes in ${elapsed.toFixed(2)} s = ` +
      `${Math.round(result.items_per_second)}/s (${opts.callers} callers, ${opts.keys} keys)\n`);
}

main().catch((e) => fail(e.stack || String(e)));
