// A typed view of a GPU storage buffer: the unit kernels read and write.

export type DType = 'f32' | 'u32' | 'i32';
export type TypedArrayOf<D extends DType> = D extends 'f32' ? Float32Array : D extends 'u32' ? Uint32Array : Int32Array;

/** WebGPU's guaranteed minStorageBufferOffsetAlignment: views into an arena start at multiples of it. */
export const VIEW_ALIGNMENT = 256;

export class Tensor<D extends DType = DType> {
  readonly size: number;

  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: D,
    /** Where this tensor starts in `buffer` (a multiple of VIEW_ALIGNMENT for views into an arena). */
    readonly byteOffset = 0,
    private readonly name?: string,
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    if (byteOffset % VIEW_ALIGNMENT !== 0) throw new Error(`Tensor "${this.label}": offset ${byteOffset} is not a multiple of ${VIEW_ALIGNMENT}`);
    if (byteOffset + this.size * 4 > buffer.size) {
      throw new Error(`Tensor "${this.label}" [${shape}] at byte ${byteOffset} overruns buffer "${buffer.label}" (${buffer.size} bytes)`);
    }
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get label(): string {
    return this.name ?? this.buffer.label;
  }

  /** A tensor over part of this one's buffer (e.g. one parameter of an arena), starting `byteOffset` into it. */
  view(shape: readonly number[], byteOffset: number, name: string): Tensor<D> {
    return new Tensor(this.buffer, shape, this.dtype, this.byteOffset + byteOffset, name);
  }

  /** The same memory under another shape. */
  reshape(shape: readonly number[]): Tensor<D> {
    const t = new Tensor(this.buffer, shape, this.dtype, this.byteOffset, this.name);
    if (t.size !== this.size) throw new Error(`reshape "${this.label}" [${this.shape}] → [${shape}]: sizes differ`);
    return t;
  }

  /** The byte range to bind: rounded up to 16 bytes (vec4 arrays need it) where the buffer has room. */
  get binding(): { buffer: GPUBuffer; offset: number; size: number } {
    const size = Math.min(Math.ceil(this.byteLength / 16) * 16, this.buffer.size - this.byteOffset);
    return { buffer: this.buffer, offset: this.byteOffset, size: Math.max(size, 4) };
  }
}

export function typedArray<D extends DType>(dtype: D, data: ArrayBuffer): TypedArrayOf<D> {
  switch (dtype) {
    case 'f32':
      return new Float32Array(data) as TypedArrayOf<D>;
    case 'u32':
      return new Uint32Array(data) as TypedArrayOf<D>;
    default:
      return new Int32Array(data) as TypedArrayOf<D>;
  }
}

/**
 * Uniform block for a kernel. Convention shared by every shader: the `Params` struct lists its u32 fields first,
 * then its f32 fields, each 4 bytes, in the order given here.
 */
export function params(u32: readonly number[], f32: readonly number[] = []): ArrayBuffer {
  const data = new ArrayBuffer(Math.max(16, Math.ceil(((u32.length + f32.length) * 4) / 16) * 16));
  const view = new DataView(data);
  u32.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`Uniform u32 field ${i} = ${v} is not a u32`);
    view.setUint32(i * 4, v, true);
  });
  f32.forEach((v, i) => view.setFloat32((u32.length + i) * 4, v, true));
  return data;
}
