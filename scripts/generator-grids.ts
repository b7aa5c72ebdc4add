/**
 * The pictures in models/README.md: two generators side by side from the same noise
 * (the same seed gives both the same latent vectors), and a conditional generator's
 * faces on request. Generated faces only; no photo is read.
 *
 *   npx tsx scripts/generator-grids.ts --old models/dcgan64-utkface --new models/faces64-utkface --out models/faces64-utkface
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { parseConditionRequest } from '../src/data/conditions.js';
import { initEngine } from '../src/engine/index.js';
import { generateFromRun } from '../src/generate/index.js';
import { renderGridPng } from '../src/train/samples.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string', default: '0' },
    count: { type: 'string', default: '36' },
  },
});
if (!values.old || !values.new || !values.out) throw new Error('usage: --old GENERATOR --new GENERATOR --out DIR [--seed N] [--count N]');
await initEngine({ backend: 'cpu', threads: 1 });
const seed = Number(values.seed);
const count = Number(values.count);
const GAP = 16;

/** Two PNGs side by side with a white gap. */
async function sideBySide(left: Buffer, right: Buffer): Promise<Buffer> {
  const [a, b] = [await sharp(left).metadata(), await sharp(right).metadata()];
  return sharp({ create: { width: a.width! + GAP + b.width!, height: Math.max(a.height!, b.height!), channels: 3, background: '#ffffff' } })
    .composite([{ input: left, left: 0, top: 0 }, { input: right, left: a.width! + GAP, top: 0 }])
    .png()
    .toBuffer();
}

const oldGrid = await renderGridPng(await generateFromRun(values.old, count, seed));
const newGrid = await renderGridPng(await generateFromRun(values.new, count, seed));
await writeFile(join(values.out, 'old-vs-new.png'), await sideBySide(oldGrid, newGrid));
for (const [file, request] of [
  ['women-60-80.png', { age: '60-80', gender: 'female' }],
  ['men-20-30.png', { age: '20-30', gender: 'male' }],
] as const) {
  await writeFile(join(values.out, file), await renderGridPng(await generateFromRun(values.new, 16, seed, parseConditionRequest(request))));
}
console.log(`wrote old-vs-new.png, women-60-80.png, men-20-30.png to ${values.out} (seed ${seed})`);
