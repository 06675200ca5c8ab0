// The GPU runtime: one way to get a device in a page, a worker or Node, with the adapter's features and limits
// recorded, a pipeline cache, a buffer pool, steps that batch work into one submit, readback and timing.
// GpuRuntime and Step share this module because each needs the other: a runtime makes steps (rt.step), and a step's
// launchers reach its runtime (step.rt) for per-device choices and tensors.
import { BufferPool, storageUsage } from './buffers';
import { DeviceLostError, GpuKernelError, NoAdapterError } from './errors';
import { type Overrides, PipelineCache } from './pipelines';
import { type DType, Tensor, type TypedArrayOf, typedArray } from './tensor';
import { timed } from './time-split';

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

/**
 * What the engine may allocate on a device; src/rlhf/memory.ts refuses a configuration that needs more before any of
 * it is allocated.
 */
export interface MemoryBudget {
  /** The largest buffer the device creates (its maxBufferSize) … */
  maxBufferSize: number;
  /** … and binds as storage, which every buffer of a model is (its maxStorageBufferBindingSize). */
  maxStorageBufferBindingSize: number;
  /** Every buffer together: half the host's memory (see memoryBudget). */
  totalBytes: number;
  /** Where totalBytes comes from, in words for a refusal. */
  totalSource: string;
}

/** Host memory assumed where the host does not say (Firefox, Safari): a small laptop's. */
const UNKNOWN_HOST_MEMORY = 4 * 2 ** 30;

/**
 * The device's buffer limits, and a total. WebGPU does not tell how much memory a device has, so the total is half
 * the host's memory as the host reports it (Node: os.totalmem(); a browser: navigator.deviceMemory, which Chrome
 * rounds and caps at 8 GiB) — what a software adapter such as SwiftShader allocates from, and a bound a browser's GPU
 * process keeps within on a real GPU — leaving the rest to the system and the page.
 */
export function memoryBudget(limits: Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>, hostMemoryBytes: number | undefined): MemoryBudget {
  const known = hostMemoryBytes !== undefined && hostMemoryBytes > 0;
  const host = known ? hostMemoryBytes : UNKNOWN_HOST_MEMORY;
  const gib = (host / 2 ** 30).toFixed(1);
  return {
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    totalBytes: host / 2,
    totalSource: known ? `half of this machine's ${gib} GiB` : `half of an assumed ${gib} GiB machine`,
  };
}

/** The machine's memory as a browser reports it (navigator.deviceMemory, in GiB; Chrome only), or undefined. */
function browserMemoryBytes(): number | undefined {
  const gib = typeof navigator !== 'undefined' ? (navigator as { deviceMemory?: number }).deviceMemory : undefined;
  return gib === undefined ? undefined : gib * 2 ** 30;
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
  /** What a configuration may allocate here (src/rlhf/memory.ts checks against it). */
  readonly memory: MemoryBudget;
  private lost: DeviceLostError | undefined;
  private readonly uncaptured: string[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
    /** The machine's memory (Node: os.totalmem()); in a browser navigator.deviceMemory when not given. */
    hostMemoryBytes?: number,
  ) {
    this.pipelines = new PipelineCache(device);
    this.memory = memoryBudget(device.limits, hostMemoryBytes ?? browserMemoryBytes());
    this.buffers = new BufferPool(device, this.memory.totalBytes);
    device.lost.then((info) => {
      this.lost = new DeviceLostError(info.reason, info.message);
    });
    device.addEventListener('uncapturederror', (e) => {
      const message = (e as GPUUncapturedErrorEvent).error.message;
      // Using an object whose creation failed says nothing new: that failure was reported where it happened (a
      // scope's error, such as the pool's out-of-memory checks, or an uncaptured error of its own).
      if (!/is invalid due to a previous error/.test(message)) this.uncaptured.push(message);
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
  read<D extends DType>(t: Tensor<D>): Promise<TypedArrayOf<D>> {
    return timed('readback', async () => {
      const step = this.step(`read ${t.label}`);
      const out = step.read(t);
      await step.submit();
      return out;
    });
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
export async function createRuntime(gpu: GPU | undefined, host: GpuHost, hostMemoryBytes?: number): Promise<GpuRuntime> {
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
  return new GpuRuntime(device, report, hostMemoryBytes);
}

/** The browser's WebGPU entry point, in a page or a worker. */
export function browserGpu(): GPU | undefined {
  return typeof navigator !== 'undefined' && 'gpu' in navigator ? navigator.gpu : undefined;
}

// ---- steps ----

// A Step records every dispatch, copy and readback of one unit of work (a training step, a test, a benchmark
// iteration) and sends them to the GPU in a single submit. Recording is plain data; encoding happens at submit,
// inside error scopes, so a validation error becomes a thrown GpuKernelError naming the kernel.

export interface DispatchSpec {
  /** Shader file stem in /shaders. */
  shader: string;
  /** Override constants (tile sizes, transposes, epilogues). */
  overrides?: Overrides;
  /** Uniform block bound at @binding(0) (see `params`). */
  uniforms: ArrayBuffer;
  /** Storage buffers bound at @binding(1), @binding(2), … in order. */
  bindings: readonly (Tensor | GPUBuffer)[];
  workgroups: readonly [number, number?, number?];
}

interface Recorded {
  kind: 'dispatch';
  spec: DispatchSpec;
  pipeline: GPUComputePipeline;
}
interface Copy {
  kind: 'copy';
  src: Tensor;
  dst: Tensor;
}
interface Read {
  tensor: Tensor;
  resolve: (data: ArrayBuffer) => void;
  reject: (e: unknown) => void;
}

export interface KernelTime {
  kernel: string;
  ms: number;
}

export interface StepResult {
  /** Per-dispatch GPU times from timestamp queries (only when profiled and the adapter has timestamp-query). */
  kernelTimes?: KernelTime[];
  /** Wall time from submit until the queue finished this step (only when profiled). */
  wallMs?: number;
}

export class Step {
  private readonly ops: (Recorded | Copy)[] = [];
  private readonly reads: Read[] = [];
  private submitted = false;

  constructor(
    /** The runtime this step runs on (launchers use it for per-device choices and constants). */
    readonly rt: GpuRuntime,
    readonly label: string,
  ) {}

  get dispatchCount(): number {
    return this.ops.filter((op) => op.kind === 'dispatch').length;
  }

  dispatch(spec: DispatchSpec): this {
    this.assertOpen();
    const limit = this.rt.device.limits.maxComputeWorkgroupsPerDimension;
    for (const n of spec.workgroups) {
      if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > limit)) {
        throw new Error(`${spec.shader}: workgroup count ${n} outside 0..${limit}`);
      }
    }
    this.ops.push({ kind: 'dispatch', spec, pipeline: this.rt.pipelines.get(spec.shader, spec.overrides) });
    return this;
  }

  copy(src: Tensor, dst: Tensor): this {
    this.assertOpen();
    if (src.byteLength !== dst.byteLength) throw new Error(`copy ${src.label} → ${dst.label}: sizes differ`);
    if (src.buffer === dst.buffer) throw new Error(`copy ${src.label} → ${dst.label}: both live in buffer "${src.buffer.label}"`);
    this.ops.push({ kind: 'copy', src, dst });
    return this;
  }

  /** Schedules a readback of `tensor` at the end of this step; resolves after submit. */
  read<D extends DType>(tensor: Tensor<D>): Promise<TypedArrayOf<D>> {
    this.assertOpen();
    const result = new Promise<ArrayBuffer>((resolve, reject) => this.reads.push({ tensor, resolve, reject })).then((data) =>
      typedArray(tensor.dtype, data),
    );
    // A failed submit rejects its reads too; the submit's own error is what callers see first, so a read nobody
    // awaited must not also surface as an unhandled rejection.
    result.catch(() => {});
    return result;
  }

  async submit(options: { profile?: boolean } = {}): Promise<StepResult> {
    this.assertOpen();
    this.submitted = true;
    const { device, buffers } = this.rt;
    this.rt.assertAlive();
    const dispatches = this.ops.filter((op): op is Recorded => op.kind === 'dispatch');
    const timestamps = options.profile && this.rt.adapter.features.timestampQuery && dispatches.length > 0;

    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');

    // Every dispatch's uniforms go into one buffer at aligned offsets, written with one writeBuffer.
    const align = device.limits.minUniformBufferOffsetAlignment;
    const offsets = dispatches.map((_, i) => i * Math.max(align, 256));
    let arenaBytes = 0;
    dispatches.forEach((d, i) => (arenaBytes = Math.max(arenaBytes, offsets[i] + d.spec.uniforms.byteLength)));
    const arena = buffers.acquire(Math.max(arenaBytes, 16), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${this.label}/uniforms`);
    const arenaData = new Uint8Array(arena.size);
    dispatches.forEach((d, i) => arenaData.set(new Uint8Array(d.spec.uniforms), offsets[i]));
    device.queue.writeBuffer(arena, 0, arenaData);

    const querySet = timestamps
      ? device.createQuerySet({ label: `${this.label}/timestamps`, type: 'timestamp', count: 2 * dispatches.length })
      : undefined;

    const encoder = device.createCommandEncoder({ label: this.label });
    let di = 0;
    for (const op of this.ops) {
      if (op.kind === 'copy') {
        encoder.copyBufferToBuffer(op.src.buffer, op.src.byteOffset, op.dst.buffer, op.dst.byteOffset, op.src.byteLength);
        continue;
      }
      const { spec, pipeline } = op;
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: arena, offset: offsets[di], size: spec.uniforms.byteLength } },
        ...spec.bindings.map((b, i) => ({ binding: i + 1, resource: b instanceof Tensor ? b.binding : { buffer: b } })),
      ];
      const bindGroup = device.createBindGroup({ label: pipeline.label, layout: pipeline.getBindGroupLayout(0), entries });
      const pass = encoder.beginComputePass({
        label: pipeline.label,
        timestampWrites: querySet
          ? { querySet, beginningOfPassWriteIndex: 2 * di, endOfPassWriteIndex: 2 * di + 1 }
          : undefined,
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      const [x, y = 1, z = 1] = spec.workgroups;
      if (x * y * z > 0) pass.dispatchWorkgroups(x, y, z);
      pass.end();
      di++;
    }

    let timeBuffer: GPUBuffer | undefined;
    if (querySet) {
      const bytes = 16 * dispatches.length;
      const resolved = buffers.acquire(bytes, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, `${this.label}/timestamps`);
      timeBuffer = buffers.acquire(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${this.label}/timestamps-read`);
      encoder.resolveQuerySet(querySet, 0, 2 * dispatches.length, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, timeBuffer, 0, bytes);
      buffers.release(resolved);
    }

    const staging = this.reads.map((r) => {
      const s = buffers.acquire(r.tensor.byteLength, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${this.label}/read ${r.tensor.label}`);
      encoder.copyBufferToBuffer(r.tensor.buffer, r.tensor.byteOffset, s, 0, r.tensor.byteLength);
      return s;
    });

    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    this.rt.counters.submits++;
    this.rt.counters.dispatches += dispatches.length;
    buffers.release(arena); // queue order makes the next step's writeBuffer land after this submit ran
    querySet?.destroy();

    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    const error = validation ?? oom;
    // A buffer that could not be created is the cause of this step's errors, if it has any; reported once anyway.
    const allocation = buffers.mayHaveFailed ? await buffers.outOfMemory(error !== null) : undefined;
    if (error || allocation) {
      staging.forEach((s) => buffers.release(s));
      const err = allocation ?? this.kernelError(dispatches, error!.message);
      this.reads.forEach((r) => r.reject(err));
      throw err;
    }

    await Promise.all(
      this.reads.map(async (r, i) => {
        const s = staging[i];
        await s.mapAsync(GPUMapMode.READ, 0, r.tensor.byteLength);
        const copy = s.getMappedRange(0, r.tensor.byteLength).slice(0);
        s.unmap();
        buffers.release(s);
        r.resolve(copy);
      }),
    );

    const result: StepResult = {};
    if (options.profile) {
      await device.queue.onSubmittedWorkDone();
      result.wallMs = performance.now() - start;
    }
    if (timeBuffer) {
      await timeBuffer.mapAsync(GPUMapMode.READ);
      const ns = new BigInt64Array(timeBuffer.getMappedRange().slice(0));
      timeBuffer.unmap();
      buffers.release(timeBuffer);
      result.kernelTimes = dispatches.map((d, i) => ({
        kernel: d.pipeline.label,
        ms: Number(ns[2 * i + 1] - ns[2 * i]) / 1e6,
      }));
    }
    return result;
  }

  /** Names the kernel whose label the GPU message mentions, or every kernel of the step when none is named. */
  private kernelError(dispatches: Recorded[], message: string): GpuKernelError {
    const mentioned = (d: Recorded) => message.includes(`"${d.pipeline.label}"`) || message.includes(`"${d.spec.shader}"`);
    const named = [...new Set(dispatches.filter(mentioned).map((d) => d.pipeline.label))];
    const all = [...new Set(dispatches.map((d) => d.pipeline.label))];
    return named.length ? new GpuKernelError(named, message) : new GpuKernelError(all, message, this.label);
  }

  private assertOpen(): void {
    if (this.submitted) throw new Error(`Step "${this.label}" was already submitted`);
  }
}
