// A Step records every dispatch, copy and readback of one unit of work (a training step, a test, a benchmark
// iteration) and sends them to the GPU in a single submit. Recording is plain data; encoding happens at submit,
// inside error scopes, so a validation error becomes a thrown GpuKernelError naming the kernel.
import { GpuKernelError } from './errors';
import type { Overrides } from './pipelines';
import type { GpuRuntime } from './runtime';
import { type DType, Tensor, type TypedArrayOf, typedArray } from './tensor';

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
    if (error) {
      staging.forEach((s) => buffers.release(s));
      const err = this.kernelError(dispatches, error.message);
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
