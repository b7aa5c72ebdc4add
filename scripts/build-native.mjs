#!/usr/bin/env node
// Builds native/ (OpenBLAS kernels for the tfjs cpu backend) with node-gyp.
// Optional by design: on any failure it prints one line and exits 0, and training
// falls back to wasm/JS. Never downloads anything (Node headers must be local).
// FAKEFACE_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const buildDir = join(nativeDir, 'build');
const addonPath = join(buildDir, 'Release', 'fakeface_blas.node');
const require = createRequire(import.meta.url);

function fallback(reason) {
  console.log(
    `fakeface: native BLAS kernels not built (${reason}); training falls back to wasm/JS — ` +
      'install libopenblas-dev and run `npm run build:native` for full speed',
  );
  process.exit(0);
}

/** node-gyp's CLI: the project's devDependency, else the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((path) => existsSync(path)) ?? null;
}

/** Local Node headers, so node-gyp never fetches them: a nodedir, or node-gyp's cache. */
function findNodeHeaders() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include', 'node', 'node_api.h'))) return { nodedir: configured };
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return { nodedir: prefix };
  const version = process.version.slice(1);
  const devDirs = [process.env.npm_config_devdir, join(homedir(), '.cache', 'node-gyp'), join(homedir(), '.node-gyp')];
  for (const dir of devDirs) {
    if (dir && existsSync(join(dir, version, 'include', 'node', 'node_api.h'))) return { devdir: dir };
  }
  return null;
}

/** One short reason from node-gyp's output. */
function diagnose(log) {
  if (/cannot find -lopenblas|library not found for -lopenblas/i.test(log)) return 'libopenblas not found';
  if (/gyp ERR! find Python|Could not find any Python/i.test(log)) return 'python3 not found';
  if (/\b(cc|gcc|g\+\+|c\+\+|clang|make)['"]?: (command )?not found|not found: make|No such file or directory: '[^']*\b(cc|gcc|g\+\+|c\+\+|clang)'/i.test(log)) {
    return 'no C compiler or make';
  }
  const error = log.split('\n').find((line) => /error:/i.test(line) && !/gyp ERR!/.test(line));
  return error ? error.trim().slice(0, 160) : 'node-gyp failed';
}

if (process.env.FAKEFACE_SKIP_NATIVE === '1') fallback('FAKEFACE_SKIP_NATIVE=1');

const nodeGyp = findNodeGyp();
if (!nodeGyp) fallback('node-gyp not found');
const headers = findNodeHeaders();
if (!headers) fallback(`no local Node ${process.version} headers; set npm's nodedir`);

const args = [nodeGyp, 'rebuild', '--release'];
if (headers.nodedir) args.push(`--nodedir=${headers.nodedir}`);
if (headers.devdir) args.push(`--devdir=${headers.devdir}`);
const env = { ...process.env };
if (headers.nodedir) env.npm_config_nodedir = headers.nodedir;
else delete env.npm_config_nodedir;
const result = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', timeout: 10 * 60_000, env });
const log = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
try {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'build-native.log'), log);
} catch {
  // the log is a convenience
}
if (result.error) fallback(result.error.message);
if (result.status !== 0) fallback(`${diagnose(log)}; log: native/build/build-native.log`);

try {
  const addon = require(addonPath);
  const dnnl = addon.dnnlInfo?.() ?? { available: false, reason: 'no oneDNN support' };
  const convolutions = dnnl.available ? `convolutions on oneDNN ${dnnl.version} (${dnnl.isa})` : `convolutions on im2col + sgemm: ${dnnl.reason}`;
  console.log(`fakeface: native BLAS kernels built (${addon.blasInfo()}); ${convolutions}`);
} catch (error) {
  fallback(`built but does not load: ${String(error instanceof Error ? error.message : error).split('\n')[0]}`);
}
