// Buffer pool: GPU buffers are recycled by (usage, size) so a training step that repeats the same shapes
// allocates nothing after its first run. Byte counters make memory use measurable.

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

  constructor(private readonly device: GPUDevice) {}

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
      buffer = this.device.createBuffer({ label, size, usage });
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
    const key = `${buffer.usage}:${size}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
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
