// The GPU runtime: one way to get a device in a page, a worker or Node, with the adapter's features and limits
// recorded, a pipeline cache, a buffer pool, steps that batch work into one submit, readback and timing.
import { BufferPool, storageUsage } from './buffers';
import { DeviceLostError, NoAdapterError } from './errors';
import { PipelineCache } from './pipelines';
import { Step } from './step';
import { type DType, Tensor, type TypedArrayOf } from './tensor';

export type GpuHost = 'page' | 'worker' | 'node';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU-emulated adapters (SwiftShader and the like): they favour different kernel variants. */
  software: boolean;
  features: { timestampQuery: boolean; subgroups: boolean; shaderF16: boolean };
  limits: {
    maxStorageBuffersPerShaderStage: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
  };
  host: GpuHost;
  /** Stable identity of the adapter, used to cache per-adapter choices such as the matmul variant. */
  key: string;
}

function describe(adapter: GPUAdapter, host: GpuHost): AdapterReport {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const l = adapter.limits;
  const report: Omit<AdapterReport, 'key'> = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: /swiftshader|llvmpipe|lavapipe|software|microsoft basic/i.test(text) || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
    features: {
      timestampQuery: adapter.features.has('timestamp-query'),
      subgroups: adapter.features.has('subgroups'),
      shaderF16: adapter.features.has('shader-f16'),
    },
    limits: {
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    },
    host,
  };
  const key = [info.vendor, info.architecture, info.device, info.description, host].join('|') || 'unknown-adapter';
  return { ...report, key };
}

export class GpuRuntime {
  readonly pipelines: PipelineCache;
  readonly buffers: BufferPool;
  /** Work sent to the GPU so far: a training step should add exactly one submit. */
  readonly counters = { submits: 0, dispatches: 0 };
  private lost: DeviceLostError | undefined;
  private readonly uncaptured: string[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
  ) {
    this.pipelines = new PipelineCache(device);
    this.buffers = new BufferPool(device);
    device.lost.then((info) => {
      this.lost = new DeviceLostError(info.reason, info.message);
    });
    device.addEventListener('uncapturederror', (e) => {
      this.uncaptured.push((e as GPUUncapturedErrorEvent).error.message);
    });
  }

  /** Throws if the device was lost or an error escaped every error scope since the last check. */
  assertAlive(): void {
    if (this.lost) throw this.lost;
    if (this.uncaptured.length) {
      const messages = this.uncaptured.splice(0);
      throw new Error(`Uncaptured GPU error: ${messages.join('; ')}`);
    }
  }

  get isLost(): boolean {
    return this.lost !== undefined;
  }

  step(label: string): Step {
    return new Step(this, label);
  }

  tensor<D extends DType = 'f32'>(shape: readonly number[], label: string, dtype: D = 'f32' as D): Tensor<D> {
    const size = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`Tensor "${label}": bad shape [${shape}]`);
    return new Tensor(this.buffers.acquire(size * 4, storageUsage(), label), shape, dtype);
  }

  upload<D extends DType>(data: TypedArrayOf<D> | readonly number[], shape: readonly number[], label: string, dtype: D = 'f32' as D): Tensor<D> {
    const t = this.tensor(shape, label, dtype);
    if (data.length !== t.size) throw new Error(`upload "${label}": ${data.length} values for shape [${shape}]`);
    const typed =
      dtype === 'f32' ? Float32Array.from(data) : dtype === 'u32' ? Uint32Array.from(data) : Int32Array.from(data);
    this.device.queue.writeBuffer(t.buffer, t.byteOffset, typed);
    return t;
  }

  /** Overwrites a tensor's contents from the CPU (queued before the next submit). */
  write(t: Tensor, data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Int32Array<ArrayBuffer>): void {
    if (data.length !== t.size) throw new Error(`write "${t.label}": ${data.length} values for shape [${t.shape}]`);
    this.device.queue.writeBuffer(t.buffer, t.byteOffset, data);
  }

  /** Returns whole tensors' buffers to the pool (views are freed with the tensor they view). */
  free(...tensors: Tensor[]): void {
    for (const t of tensors) {
      if (t.byteOffset !== 0) throw new Error(`free "${t.label}": a view; free the tensor it views`);
      this.buffers.release(t.buffer);
    }
  }

  /** Reads a tensor back in its own step; inside a training step use `step.read` instead (one submit). */
  async read<D extends DType>(t: Tensor<D>): Promise<TypedArrayOf<D>> {
    const step = this.step(`read ${t.label}`);
    const out = step.read(t);
    await step.submit();
    return out;
  }

  destroy(): void {
    this.buffers.trim();
    this.device.destroy();
  }
}

/**
 * Gets a device from `gpu` (navigator.gpu in a page or worker, the `webgpu` package in Node), asking for the
 * optional features the kernels can use and the adapter's full limits for buffers and workgroup memory.
 */
export async function createRuntime(gpu: GPU | undefined, host: GpuHost): Promise<GpuRuntime> {
  if (!gpu) throw new NoAdapterError(host);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError(host);
  const report = describe(adapter, host);
  // 'subgroups' is newer than some @webgpu/types releases, hence the cast.
  const wanted = ['timestamp-query', 'subgroups', 'shader-f16'] as GPUFeatureName[];
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    label: 'rlhf-lab',
    requiredFeatures: wanted.filter((f) => adapter.features.has(f)),
    requiredLimits: {
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    },
  });
  return new GpuRuntime(device, report);
}

/** The browser's WebGPU entry point, in a page or a worker. */
export function browserGpu(): GPU | undefined {
  return typeof navigator !== 'undefined' && 'gpu' in navigator ? navigator.gpu : undefined;
}
