/**
 * Loads @vladmandic/face-api on the project's own tfjs-core instance.
 *
 * face-api's Node builds (dist/face-api.node*.js) are CommonJS bundles that
 * `require('@tensorflow/tfjs')` (the umbrella package, which would pull in
 * tfjs-converter, tfjs-data and tfjs-backend-webgl) plus one backend package. Every
 * tf symbol they touch is a tfjs-core op or `tf.io` (checked for 1.7.15), so instead of
 * installing the umbrella we evaluate the bundle with a `require` that hands it our
 * `@tensorflow/tfjs-core`: one tfjs-core instance, one engine, one set of backends,
 * and tensors that pass face-api's `instanceof tf.Tensor` checks. The umbrella's other
 * side effect, chained tensor methods (`t.as4D()`), is supplied by ./chained-ops.ts.
 * `npm ls @tensorflow/tfjs-core` stays a single deduped version.
 *
 * The backend is whatever the caller has set (src/engine decides); nothing here picks one.
 * @internal
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compileFunction } from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import type * as FaceApiModule from '@vladmandic/face-api';
import { registerChainedOps } from './chained-ops.js';

export type FaceApi = typeof FaceApiModule;

const require = createRequire(import.meta.url);

/** The face-api build we evaluate: the wasm one, since its only other import is a backend we ship. */
const BUNDLE = '@vladmandic/face-api/dist/face-api.node-wasm.js';

const PACKAGE_DIR = dirname(dirname(require.resolve(BUNDLE)));

/** Where the package keeps its weights (JSON manifests + .bin shards). */
export const FACE_API_MODEL_DIR = join(PACKAGE_DIR, 'model');

/** The installed face-api version, read from its package.json. */
export const FACE_API_VERSION: string = (
  JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }
).version;

let faceApi: FaceApi | undefined;

/** What face-api's bundle gets when it asks `require` for a module. */
function bundleRequire(id: string): unknown {
  switch (id) {
    case '@tensorflow/tfjs':
      return tf;
    case '@tensorflow/tfjs-backend-wasm':
      // The bundle re-exports the backend package; it does not need it to run. The
      // engine imports the real backend when it wants wasm.
      return {};
    case 'fs':
      return fs;
    default:
      throw new Error(`face-api bundle asked for unexpected module '${id}'`);
  }
}

/** face-api, evaluated once per process. */
export function getFaceApi(): FaceApi {
  if (faceApi) return faceApi;
  registerChainedOps();
  const filename = require.resolve(BUNDLE);
  const source = readFileSync(filename, 'utf8');
  const run = compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
  const module = { exports: {} as Record<string, unknown> };
  run(module.exports, bundleRequire, module, filename, dirname(filename));
  faceApi = module.exports as unknown as FaceApi;
  return faceApi;
}
