// WebGPU in Node through Dawn (the `webgpu` package), for tests, benchmarks and the command-line pipeline.
// On machines without a GPU driver, Dawn runs on SwiftShader, the software Vulkan Debian's chromium ships.
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { create, globals } from 'webgpu';
import { createRuntime, type GpuRuntime } from './runtime';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let gpu: GPU | undefined;

/** The process-wide Dawn instance; Vulkan's loader reads VK_ICD_FILENAMES when it is created. */
export function nodeGpu(): GPU {
  if (!gpu) {
    if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    Object.assign(globalThis, globals);
    gpu = create(['backend=vulkan']) as GPU;
  }
  return gpu;
}

export function createNodeRuntime(): Promise<GpuRuntime> {
  return createRuntime(nodeGpu(), 'node', totalmem());
}
