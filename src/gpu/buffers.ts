// Buffer pool: GPU buffers are recycled by (usage, size) so a training step that repeats the same shapes
// allocates nothing after its first run. Byte counters make memory use measurable.
//
// Out of memory: each buffer the pool creates is created inside its own 'out-of-memory' error scope, popped at once
// but not awaited there; the next step's submit settles these checks (outOfMemory) and throws a GpuOutOfMemoryError
// naming the buffer instead of the errors its invalid buffer causes. A step that only reuses pooled buffers creates
// none, so a training loop at its steady state pays nothing for the checks.
//
// The free buffers the pool keeps count against the device's memory like those in use, so when creating one would take
// the pool past its capacity (the runtime's memory budget), the free ones are destroyed first: what a configuration
// was checked to need in use (src/rlhf/memory.ts) is then also what the pool holds at most.
import { GpuOutOfMemoryError } from './errors';

/** Storage buffers the kernels read and write; COPY_* so tests and readbacks can move data in and out.
 *  A function because Node only has GPUBufferUsage once the `webgpu` globals are installed. */
export function storageUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

export interface BufferStats {
  /** Bytes of every live GPU buffer the pool created (in use or free). */
  allocatedBytes: number;
  /** Bytes currently handed out. */
  inUseBytes: number;
  /** Highest inUseBytes seen. */
  peakInUseBytes: number;
  /** createBuffer calls so far. */
  allocations: number;
}

/** WebGPU requires sizes that are multiples of 4; 16 keeps vec4 views in bounds. */
function roundSize(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly sizeOf = new Map<GPUBuffer, number>();
  private readonly inUse = new Set<GPUBuffer>();
  readonly stats: BufferStats = { allocatedBytes: 0, inUseBytes: 0, peakInUseBytes: 0, allocations: 0 };
  /** The out-of-memory checks of the buffers created since they were last settled. */
  private checks: Promise<void>[] = [];
  /** Buffers whose creation failed, while their owners still hold them. */
  private readonly failed = new Map<GPUBuffer, GpuOutOfMemoryError>();
  /** Failed creations not thrown yet, oldest first. */
  private readonly unreported: GpuOutOfMemoryError[] = [];

  constructor(
    private readonly device: GPUDevice,
    /** Bytes the pool may hold, free buffers included, before it destroys its free ones to create another. */
    private readonly capacityBytes = Infinity,
  ) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = roundSize(bytes);
    if (size > this.device.limits.maxBufferSize) {
      throw new Error(`Buffer "${label}" needs ${size} bytes, over this device's maxBufferSize ${this.device.limits.maxBufferSize}`);
    }
    const key = `${usage}:${size}`;
    let buffer = this.free.get(key)?.pop();
    if (buffer) {
      buffer.label = label;
    } else {
      if (this.stats.allocatedBytes + size > this.capacityBytes) this.trim();
      buffer = this.create(label, size, usage);
      this.sizeOf.set(buffer, size);
      this.stats.allocatedBytes += size;
      this.stats.allocations++;
    }
    this.inUse.add(buffer);
    this.stats.inUseBytes += size;
    this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.inUse.delete(buffer)) throw new Error(`Buffer "${buffer.label}" released twice or not from this pool`);
    const size = this.sizeOf.get(buffer)!;
    this.stats.inUseBytes -= size;
    if (this.failed.delete(buffer)) {
      // An invalid buffer is never handed out again.
      this.sizeOf.delete(buffer);
      this.stats.allocatedBytes -= size;
      buffer.destroy();
      return;
    }
    const key = `${buffer.usage}:${size}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
  }

  /** Whether a creation may have failed: checks not settled yet, or failures not thrown or still held. */
  get mayHaveFailed(): boolean {
    return this.checks.length > 0 || this.unreported.length > 0 || this.failed.size > 0;
  }

  /**
   * Settles the out-of-memory checks of the buffers created so far. Returns the oldest failed creation not reported
   * yet, or — when the step being checked failed (`stepFailed`: its errors are then the invalid buffer's doing) — one
   * whose buffer is still held; undefined when every creation succeeded.
   */
  async outOfMemory(stepFailed: boolean): Promise<GpuOutOfMemoryError | undefined> {
    if (this.checks.length > 0) await Promise.all(this.checks.splice(0));
    const first = this.unreported.shift();
    if (first) return first;
    return stepFailed ? this.failed.values().next().value : undefined;
  }

  /** Creates a buffer inside an out-of-memory scope whose result outOfMemory() collects (a check may never be
   *  collected: the device is lost first, and then the scope rejects — the loss is reported on its own path). */
  private create(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const inUseBytes = this.stats.inUseBytes;
    this.device.pushErrorScope('out-of-memory');
    const buffer = this.device.createBuffer({ label, size, usage });
    this.checks.push(
      this.device.popErrorScope().then((error) => {
        if (!error) return;
        const e = new GpuOutOfMemoryError(size, label, inUseBytes, error.message);
        if (this.inUse.has(buffer)) this.failed.set(buffer, e);
        else this.destroyFreed(buffer); // released before the check came back: it must not be handed out again
        this.unreported.push(e);
      }, ignoreLostDevice),
    );
    return buffer;
  }

  /** Takes a released buffer out of the free lists and destroys it. */
  private destroyFreed(buffer: GPUBuffer): void {
    const size = this.sizeOf.get(buffer);
    if (size === undefined) return;
    const list = this.free.get(`${buffer.usage}:${size}`);
    const at = list?.indexOf(buffer) ?? -1;
    if (at >= 0) list!.splice(at, 1);
    this.sizeOf.delete(buffer);
    this.stats.allocatedBytes -= size;
    buffer.destroy();
  }

  /** Destroys the free buffers (in-use ones stay with their owners). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.stats.allocatedBytes -= this.sizeOf.get(buffer)!;
        this.sizeOf.delete(buffer);
        buffer.destroy();
      }
    }
    this.free.clear();
  }
}

/** A pop of an error scope on a lost device rejects ("Instance dropped"); device loss is reported by device.lost. */
function ignoreLostDevice(): void {}
