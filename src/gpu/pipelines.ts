// Pipeline cache: one shader module per WGSL file and one compute pipeline per (shader, override constants),
// created once per device and labelled so validation messages name the kernel.
import { shaderSource } from './shaders';

export type Overrides = Readonly<Record<string, number | boolean>>;

export function pipelineKey(shader: string, overrides: Overrides = {}): string {
  const parts = Object.keys(overrides)
    .sort()
    .map((k) => `${k}=${Number(overrides[k])}`);
  return parts.length ? `${shader}(${parts.join(',')})` : shader;
}

function constants(overrides: Overrides): Record<string, number> {
  return Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, Number(v)]));
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  private module(shader: string): GPUShaderModule {
    let module = this.modules.get(shader);
    if (!module) {
      module = this.device.createShaderModule({ label: shader, code: shaderSource(shader) });
      this.modules.set(shader, module);
    }
    return module;
  }

  /** The pipeline for a kernel; compile errors surface at the step's submit, naming the kernel. */
  get(shader: string, overrides: Overrides = {}): GPUComputePipeline {
    const key = pipelineKey(shader, overrides);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(shader), entryPoint: 'main', constants: constants(overrides) },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Compiles ahead of use, rejecting with the WGSL compiler's messages (file:line) when a shader is invalid. */
  async compile(shader: string, overrides: Overrides = {}): Promise<GPUComputePipeline> {
    const key = pipelineKey(shader, overrides);
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const module = this.module(shader);
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new Error(
        `WGSL errors in shaders/${shader}.wgsl:\n` + errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n'),
      );
    }
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants: constants(overrides) },
      });
      this.pipelines.set(key, pipeline);
      return pipeline;
    } catch (e) {
      throw new Error(`Pipeline ${key} failed to build: ${(e as Error).message}`);
    }
  }
}
