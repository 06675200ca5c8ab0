// A typed view of a GPU storage buffer: the unit kernels read and write.

export type DType = 'f32' | 'u32' | 'i32';
export type TypedArrayOf<D extends DType> = D extends 'f32' ? Float32Array : D extends 'u32' ? Uint32Array : Int32Array;

export class Tensor<D extends DType = DType> {
  readonly size: number;

  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: D,
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    if (this.size * 4 > buffer.size) {
      throw new Error(`Tensor [${shape}] needs ${this.size * 4} bytes but buffer "${buffer.label}" has ${buffer.size}`);
    }
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get label(): string {
    return this.buffer.label;
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
