/**
 * Where tests find a WebGPU adapter without a GPU: Mesa's software Vulkan driver
 * (llvmpipe) fetched by `bash scripts/software-gpu.sh` into ~/.cache/fakeface/software-gpu
 * (or $FAKEFACE_SOFTWARE_GPU_DIR). Debian 12's own Mesa is too old for Dawn.
 *
 *   const gpu = await probeWebGpu();
 *   describe.skipIf(!gpu.ok)(`webgpu (${gpu.note})`, () => { ... });
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { webGpuInstalled } from '../../src/engine/webgpu.js';

const SOFTWARE_GPU_DIR = process.env['FAKEFACE_SOFTWARE_GPU_DIR'] ?? join(homedir(), '.cache/fakeface/software-gpu');
export const SOFTWARE_GPU_ICD = join(SOFTWARE_GPU_DIR, 'lvp_icd.json');

/** Environment for a process that should see the software GPU (when there is no other driver choice set). */
export function softwareGpuEnv(): Record<string, string> {
  if (process.env['VK_ICD_FILENAMES'] || !existsSync(SOFTWARE_GPU_ICD)) return {};
  return { VK_ICD_FILENAMES: SOFTWARE_GPU_ICD, XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? '/tmp' };
}

export interface GpuProbe {
  ok: boolean;
  /** Why the webgpu tests run or skip, for the test title. */
  note: string;
}

/** Whether the webgpu tests can run here: packages installed and a Vulkan driver Dawn accepts. */
export function probeWebGpu(): GpuProbe {
  if (!webGpuInstalled()) return { ok: false, note: 'skipped: optional packages webgpu / @tensorflow/tfjs-backend-webgpu not installed' };
  const env = softwareGpuEnv();
  Object.assign(process.env, env);
  if (env.VK_ICD_FILENAMES) return { ok: true, note: 'on the software GPU (llvmpipe)' };
  if (process.env['VK_ICD_FILENAMES']) return { ok: true, note: `on VK_ICD_FILENAMES=${process.env['VK_ICD_FILENAMES']}` };
  return { ok: false, note: `skipped: no WebGPU adapter known here (run \`bash scripts/software-gpu.sh\` for a software one at ${SOFTWARE_GPU_ICD})` };
}
