#!/usr/bin/env node
// scripts/outside-data.mjs — rebuild the OUTSIDE evaluation/training face sets
// (real photos and GAN / diffusion fakes made by other people) from bare git
// mirrors of public GitHub repositories.  git is called through child_process;
// sharp re-encodes the one set marked `reencode`.  Images are otherwise copied
// byte-for-byte from the mirror's blobs; nothing is resized.
//
// Usage:
//   node scripts/outside-data.mjs [--mirrors /work/.mirror] [--out data/outside]
//                                 [--max 400] [--only name1,name2]
//
// Mirror layout expected: <mirrors>/<owner>+<name>/repo (a bare git dir, as
// brought by the session's `fetch` tool).  A set whose mirror is absent is
// skipped with a message; the pinned commit is used when the mirror has it,
// otherwise HEAD is used and a warning is printed and recorded.
//
// Output: <out>/<set>/{real,fake}/<sanitized name>.<true ext> and
//         <out>/<set>/provenance.json.  `data/` is git-ignored: never commit it.
//
// Sets (counts = files available in the repo at the pinned commit; at most
// --max per class are copied, picked evenly spread over the naturally sorted list):
//
// | set                   | repo                                     | commit   | class: family (generator)               | avail | licence (as stated)          |
// |-----------------------|------------------------------------------|----------|-----------------------------------------|-------|------------------------------|
// | hardfake-sg2-unsplash | tharunnayak14/Real-vs-Fake-Face-Detection| 2dade5e9 | fake: gan (StyleGAN2, TPDNE)            |  650  | unstated                     |
// |                       |                                          |          | real: real (Unsplash photos)            |  539  |                              |
// | headshot-tpdne-ffhq   | bhunakit/HeadshotClassification          | d9c8a269 | fake: gan (StyleGAN2, TPDNE)            | 2000  | unstated                     |
// |                       |                                          |          | real: real (FFHQ thumbnails)            | 2000  |                              |
// | stylegan3-pool        | sklinderton/vit-real-vs-fake-faces       | 22d99a04 | fake: gan (StyleGAN3-R FFHQ 1024)       |  300  | unstated (README: StyleGAN3 non-commercial) |
// | sdfd-sd21             | gebaltso/SDFD                            | 3b44460b | fake: diffusion (Stable Diffusion 2.1)  | 1000  | unstated                     |
// | lfw-real              | Rees451/faces-fake-vs-real               | 69c112d3 | real: real (LFW)                        | 6650  | unstated                     |
// | ciplab-real           | Rees451/faces-fake-vs-real               | 69c112d3 | real: real (CIPLab real_and_fake_face)  | 1081  | unstated                     |
//
// See docs/outside-data.md for resolutions, formats and caveats (JPEG vs PNG,
// resolution differences, reals and fakes from different sources).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** @type {Array<{name:string, repo:string, commit:string, licence:string, notes:string[], classes:Record<string,{family:'gan'|'diffusion'|'real', generator:string, source:string, dir:string, pattern:RegExp}>}>} */
const SETS = [
  {
    name: 'hardfake-sg2-unsplash',
    repo: 'tharunnayak14/Real-vs-Fake-Face-Detection',
    commit: '2dade5e926a2c505d22be1232bac8b1e3e4f5e05',
    licence: 'unstated (no licence file; README points to Kaggle dataset hamzaboulahia/hardfakevsrealfaces)',
    notes: [
      'Copy of the Kaggle "Fake-Vs-Real-Faces (Hard)" set: fakes downloaded from thispersondoesnotexist.com (StyleGAN2), reals gathered through the Unsplash API.',
      'All images are 300x300 JPEG in both classes. images/ holds fake_1..650 and 539 reals; test/ (fake_651..700 + 50 reals) and val_images/ are not used here.',
    ],
    classes: {
      fake: { family: 'gan', generator: 'StyleGAN2', source: 'thispersondoesnotexist.com (StyleGAN2), per README', dir: 'images/fake', pattern: /\.jpe?g$/i },
      real: { family: 'real', generator: 'none', source: 'Unsplash photos (via the Unsplash API), per README', dir: 'images/real', pattern: /\.jpe?g$/i },
    },
  },
  {
    name: 'headshot-tpdne-ffhq',
    repo: 'bhunakit/HeadshotClassification',
    commit: 'd9c8a26912a5a1f866855801ac319f365855b8ee',
    licence: 'unstated (no licence file)',
    reencode: { format: 'jpeg', quality: 90 },
    notes: [
      'Fakes: thispersondoesnotexist.com images resized to 128x128 with PIL and saved as JPEG (get_fake_data.py); README names StyleGAN2.',
      'Reals: FFHQ (README). They are 128x128 PNG files named *.jpg (FFHQ thumbnails128x128); this script names them by their true format.',
      'FORMAT SHORTCUT in the source: every real is PNG, every fake is JPEG, so a detector could separate the classes by compression alone.',
      'This script removes it: both classes are decoded and re-encoded alike as JPEG quality 90 (reencode below), so the fakes carry two JPEG passes and the reals one.',
      'data_crossval/ (another 1000+1000) is not used.',
    ],
    classes: {
      fake: { family: 'gan', generator: 'StyleGAN2', source: 'thispersondoesnotexist.com, resized to 128x128 JPEG by the repo author', dir: 'data/fake', pattern: /\.(jpe?g|png)$/i },
      real: { family: 'real', generator: 'none', source: 'FFHQ thumbnails (Flickr photos), per README', dir: 'data/real', pattern: /\.(jpe?g|png)$/i },
    },
  },
  {
    name: 'stylegan3-pool',
    repo: 'sklinderton/vit-real-vs-fake-faces',
    commit: '22d99a04bf2599878981459a48b1cfbac1b8a527',
    licence: 'unstated (no licence file; README lists StyleGAN3 (NVIDIA) as non-commercial use)',
    notes: [
      'Fake-only. dashboard/assets/stylegan3_pool/manifest.json: generator stylegan3-r-ffhq-1024x1024.pkl, seeds 700000..700299, truncation psi cycling 0.5/0.7/0.85/1.0, resized 1024 -> 256 bicubic, saved as PNG.',
    ],
    classes: {
      fake: { family: 'gan', generator: 'StyleGAN3-R (FFHQ 1024)', source: 'generated by the repo authors with NVIDIA stylegan3-r-ffhq-1024x1024.pkl', dir: 'dashboard/assets/stylegan3_pool', pattern: /\.png$/i },
    },
  },
  {
    name: 'sdfd-sd21',
    repo: 'gebaltso/SDFD',
    commit: '3b44460b184a5c2a05e96ceeed7baf0acf84c9d8',
    licence: 'unstated (no licence file; cite Baltsou et al., FG 2024)',
    notes: [
      'Fake-only. SDFD: 1000 synthetic face images made with Stable Diffusion 2.1 from attribute prompts (finalPrompts.csv), 768x768 JPEG.',
      'Prompts ask for photographic realism but include varied accessories, make-up, face paint, head coverings; some images are stylised.',
    ],
    classes: {
      fake: { family: 'diffusion', generator: 'Stable Diffusion 2.1', source: 'SDFD (Stable Diffusion Face Dataset), generated by the repo authors', dir: 'allImages', pattern: /\.jpe?g$/i },
    },
  },
  {
    name: 'lfw-real',
    repo: 'Rees451/faces-fake-vs-real',
    commit: '69c112d3151fec0b47e3b883f0a27c730dfca2e5',
    licence: 'unstated (no licence file; images are from Labeled Faces in the Wild)',
    notes: [
      'Real-only. data/raw/LFW_faceswap/real: LFW photos, 250x250 JPEG (news photos, face centred, loose crop with background).',
      'The face-swap fakes in the same folder are not GAN/diffusion output and are not used.',
    ],
    classes: {
      real: { family: 'real', generator: 'none', source: 'Labeled Faces in the Wild (LFW), per README', dir: 'data/raw/LFW_faceswap/real', pattern: /\.jpe?g$/i },
    },
  },
  {
    name: 'ciplab-real',
    repo: 'Rees451/faces-fake-vs-real',
    commit: '69c112d3151fec0b47e3b883f0a27c730dfca2e5',
    licence: 'unstated (no licence file; images are from the Kaggle "real-and-fake-face-detection" set by CIPLab, Yonsei)',
    notes: [
      'Real-only. data/raw/real_and_fake_face/real: the real half of the Kaggle ciplab/real-and-fake-face-detection set, 600x600 progressive JPEG.',
      'The fake half of that set is photoshopped face composites (not GAN/diffusion) and is not used.',
    ],
    classes: {
      real: { family: 'real', generator: 'none', source: 'Kaggle ciplab/real-and-fake-face-detection (real half), per README', dir: 'data/raw/real_and_fake_face/real', pattern: /\.jpe?g$/i },
    },
  },
];

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const opts = { mirrors: '/work/.mirror', out: 'data/outside', max: 400, only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const take = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`missing value after ${a}`);
      return v;
    };
    if (a === '--mirrors') opts.mirrors = take();
    else if (a === '--out') opts.out = take();
    else if (a === '--max') opts.max = Number(take());
    else if (a === '--only') opts.only = take().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '-h' || a === '--help') {
      console.log('node scripts/outside-data.mjs [--mirrors DIR] [--out DIR] [--max N] [--only set1,set2]');
      console.log('sets: ' + SETS.map((s) => s.name).join(', '));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.max) || opts.max < 1) throw new Error('--max must be a positive integer');
  if (opts.only) {
    const unknown = opts.only.filter((n) => !SETS.some((s) => s.name === n));
    if (unknown.length) throw new Error(`unknown set(s) in --only: ${unknown.join(', ')}`);
  }
  opts.mirrors = path.resolve(REPO_ROOT, opts.mirrors);
  opts.out = path.resolve(REPO_ROOT, opts.out);
  return opts;
}

// ---------------------------------------------------------------- git
function git(gitDir, args, input) {
  const r = spawnSync('git', ['--git-dir', gitDir, ...args], {
    input,
    maxBuffer: 1 << 30,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().trim()}`);
  }
  return r.stdout;
}

function resolveCommit(gitDir, pinned, warnings) {
  const ok = spawnSync('git', ['--git-dir', gitDir, 'cat-file', '-e', `${pinned}^{commit}`]);
  if (ok.status === 0) return pinned;
  const head = git(gitDir, ['rev-parse', 'HEAD']).toString().trim();
  const msg = `pinned commit ${pinned} not in mirror; using HEAD ${head}`;
  console.warn(`  WARNING: ${msg}`);
  warnings.push(msg);
  return head;
}

/** list blobs under dir at commit: [{mode, sha, size, path}] */
function listBlobs(gitDir, commit, dir) {
  const out = git(gitDir, ['ls-tree', '-r', '-l', '-z', commit, '--', dir]).toString('utf8');
  const rows = [];
  for (const rec of out.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, sha, size] = rec.slice(0, tab).trim().split(/\s+/);
    if (type !== 'blob') continue;
    rows.push({ mode, sha, size: Number(size), path: rec.slice(tab + 1) });
  }
  return rows;
}

/** read many blobs with one `git cat-file --batch` */
function readBlobs(gitDir, shas) {
  const buf = git(gitDir, ['cat-file', '--batch'], shas.join('\n') + '\n');
  const res = new Map();
  let off = 0;
  for (const sha of shas) {
    const nl = buf.indexOf(0x0a, off);
    const header = buf.subarray(off, nl).toString();
    const parts = header.split(' ');
    if (parts[1] === 'missing') {
      res.set(sha, null);
      off = nl + 1;
      continue;
    }
    const size = Number(parts[2]);
    res.set(sha, buf.subarray(nl + 1, nl + 1 + size));
    off = nl + 1 + size + 1;
  }
  return res;
}

// ---------------------------------------------------------------- images
const LFS_PREFIX = Buffer.from('version https://git-lfs');

function sniff(b) {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { format: 'jpeg', ext: 'jpg', ...jpegSize(b) };
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47) return { format: 'png', ext: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return { format: 'webp', ext: 'webp', width: null, height: null };
  return null;
}

function jpegSize(b) {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) { i++; continue; }
    const m = b[i + 1];
    if (m === 0xff) { i++; continue; }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; }
    const len = b.readUInt16BE(i + 2);
    if ((m >= 0xc0 && m <= 0xcf) && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7), progressive: m === 0xc2 };
    }
    i += 2 + len;
  }
  return { width: null, height: null };
}

const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function spread(list, max) {
  if (list.length <= max) return list.slice();
  const picked = [];
  for (let i = 0; i < max; i++) picked.push(list[Math.floor((i * list.length) / max)]);
  return picked;
}

function sanitize(rel) {
  const stem = rel.replace(/\.[^./]+$/, '');
  return stem.replace(/[\\/]+/g, '__').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 120) || 'img';
}

function bump(obj, key) {
  obj[key] = (obj[key] || 0) + 1;
}

// ---------------------------------------------------------------- build
async function buildSet(set, opts) {
  const gitDir = path.join(opts.mirrors, set.repo.replace('/', '+'), 'repo');
  if (!fs.existsSync(gitDir)) {
    console.log(`SKIP ${set.name}: mirror of ${set.repo} not found at ${gitDir}`);
    return { name: set.name, status: 'skipped (mirror absent)' };
  }
  console.log(`BUILD ${set.name} from ${set.repo}`);
  const warnings = [];
  const commit = resolveCommit(gitDir, set.commit, warnings);
  const setDir = path.join(opts.out, set.name);
  fs.rmSync(setDir, { recursive: true, force: true });
  fs.mkdirSync(setDir, { recursive: true });

  const classes = {};
  for (const [cls, spec] of Object.entries(set.classes)) {
    const all = listBlobs(gitDir, commit, spec.dir);
    const candidates = all.filter((r) => spec.pattern.test(r.path)).sort((a, b) => natural.compare(a.path, b.path));
    const ignored = all.length - candidates.length;
    if (ignored) console.log(`  ${cls}: ${ignored} non-image file(s) under ${spec.dir} ignored`);
    if (!candidates.length) {
      const msg = `${cls}: no files matching ${spec.pattern} under ${spec.dir} at ${commit}`;
      console.warn(`  WARNING: ${msg}`);
      warnings.push(msg);
    }
    // Take a spread of up to max candidates, then top up from unused ones if some are rejected.
    const first = spread(candidates, opts.max);
    const chosenSet = new Set(first);
    const rest = candidates.filter((c) => !chosenSet.has(c));
    const blobs = readBlobs(gitDir, candidates.map((c) => c.sha));
    const clsDir = path.join(setDir, cls);
    fs.mkdirSync(clsDir, { recursive: true });
    const files = [];
    const skipped = [];
    const formats = {};
    const resolutions = {};
    const usedNames = new Set();
    let extMismatch = 0;
    const queue = [...first];
    while (queue.length && files.length < opts.max) {
      const c = queue.shift();
      const data = blobs.get(c.sha);
      let reason = null;
      let info = null;
      if (!data) reason = 'blob missing from mirror (file >= 4 MiB or not copied)';
      else if (data.subarray(0, LFS_PREFIX.length).equals(LFS_PREFIX)) reason = 'Git LFS pointer, content not in mirror';
      else if (!(info = sniff(data))) reason = 'not a recognised JPEG/PNG/WebP';
      if (reason) {
        skipped.push({ path: c.path, reason });
        console.warn(`  ${cls}: skipped ${c.path}: ${reason}`);
        if (rest.length) queue.push(rest.shift());
        continue;
      }
      const rel = path.posix.relative(spec.dir, c.path);
      let name = `${sanitize(rel)}.${info.ext}`;
      for (let k = 2; usedNames.has(name); k++) name = `${sanitize(rel)}_${k}.${info.ext}`;
      usedNames.add(name);
      const srcExt = (c.path.match(/\.([^./]+)$/) || [, ''])[1].toLowerCase().replace('jpeg', 'jpg');
      if (srcExt !== info.ext && !set.reencode) extMismatch++;
      let bytes = data;
      if (set.reencode) {
        try {
          bytes = await sharp(data).removeAlpha().jpeg({ quality: set.reencode.quality, mozjpeg: false }).toBuffer();
        } catch (err) {
          skipped.push({ path: c.path, reason: `could not re-encode: ${err.message}` });
          if (rest.length) queue.push(rest.shift());
          continue;
        }
        info = { ...info, format: 'jpeg', ext: 'jpg' };
        name = name.replace(/\.[^.]+$/, '.jpg');
      }
      fs.writeFileSync(path.join(clsDir, name), bytes);
      bump(formats, info.format);
      bump(resolutions, info.width ? `${info.width}x${info.height}` : 'unknown');
      files.push({ file: `${cls}/${name}`, source_path: c.path, blob: c.sha, bytes: bytes.length, format: info.format, width: info.width, height: info.height });
    }
    if (files.length < Math.min(opts.max, candidates.length)) {
      const msg = `${cls}: only ${files.length} usable images written (${skipped.length} rejected)`;
      console.warn(`  WARNING: ${msg}`);
      warnings.push(msg);
    }
    console.log(`  ${cls}: ${files.length}/${candidates.length} written  formats=${JSON.stringify(formats)} sizes=${JSON.stringify(resolutions)}${extMismatch ? `  (${extMismatch} renamed to true format)` : ''}${set.reencode ? `  (all re-encoded as JPEG q${set.reencode.quality})` : ''}`);
    classes[cls] = {
      family: spec.family,
      generator: spec.generator,
      source: spec.source,
      repo_dir: spec.dir,
      pattern: String(spec.pattern),
      available: candidates.length,
      written: files.length,
      selection: candidates.length > opts.max ? `${opts.max} of ${candidates.length}, evenly spread over the naturally sorted path list` : 'all',
      formats,
      resolutions,
      extension_mismatch_renamed: extMismatch,
      skipped,
      files,
    };
  }
  const kinds = Object.keys(classes);
  const provenance = {
    set: set.name,
    repo: set.repo,
    repo_url: `https://github.com/${set.repo}`,
    commit,
    pinned_commit: set.commit,
    mirror: gitDir,
    contents: kinds.length === 2 ? 'real+fake' : `${kinds[0]}-only`,
    families: Object.fromEntries(kinds.map((k) => [k, classes[k].family])),
    generators: Object.fromEntries(kinds.map((k) => [k, classes[k].generator])),
    licence: set.licence,
    counts: Object.fromEntries(kinds.map((k) => [k, classes[k].written])),
    available: Object.fromEntries(kinds.map((k) => [k, classes[k].available])),
    max_per_class: opts.max,
    notes: set.notes,
    warnings,
    built_at: new Date().toISOString(),
    built_by: 'scripts/outside-data.mjs',
    classes,
  };
  fs.writeFileSync(path.join(setDir, 'provenance.json'), JSON.stringify(provenance, null, 2) + '\n');
  return { name: set.name, status: 'built', counts: provenance.counts, warnings: warnings.length };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  console.log(`mirrors: ${opts.mirrors}\nout:     ${opts.out}\nmax:     ${opts.max} per class`);
  fs.mkdirSync(opts.out, { recursive: true });
  const results = [];
  let failed = 0;
  for (const set of SETS) {
    if (opts.only && !opts.only.includes(set.name)) continue;
    try {
      results.push(await buildSet(set, opts));
    } catch (e) {
      failed++;
      console.error(`FAIL ${set.name}: ${e.message}`);
      results.push({ name: set.name, status: `failed: ${e.message}` });
    }
  }
  console.log('\nsummary:');
  for (const r of results) console.log(`  ${r.name.padEnd(24)} ${r.status}${r.counts ? ' ' + JSON.stringify(r.counts) : ''}${r.warnings ? ` (${r.warnings} warning(s))` : ''}`);
  if (failed) process.exit(1);
}

await main();
