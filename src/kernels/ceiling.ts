// Launcher for shaders/ceiling_fma.wgsl: the arithmetic-ceiling kernel the benchmark compares matmul against.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType } from './checks';
import { grid1d } from './grid';

/** vec4 multiply-adds per thread per loop iteration (8 accumulators × 4 unrolled passes, fixed in the shader). */
export const CEILING_MADS_PER_ITER = 32;
export const CEILING_ACCUMULATORS = 8;

/** FLOPs one launch performs: each vec4 multiply-add is 4 lanes × (1 multiply + 1 add). */
export function ceilingFlops(threads: number, iters: number): number {
  return threads * iters * CEILING_MADS_PER_ITER * 4 * 2;
}

export interface CeilingOptions {
  /** Loop iterations per thread (each is CEILING_MADS_PER_ITER vec4 multiply-adds). */
  iters: number;
  /** The multiplier and addend of acc ← acc·a + b; |a| < 1 keeps values bounded. Uniforms, so nothing folds. */
  a?: number;
  b?: number;
}

// out (N): one thread per element, each writes the sum of its 8 accumulators.
export function ceilingFma(step: Step, out: Tensor, { iters, a = 0.999, b = 0.001 }: CeilingOptions): void {
  assertDType('ceiling_fma', out, 'f32');
  if (out.size < 1) throw new Error(`ceiling_fma: ${out.label} is empty`);
  if (!Number.isInteger(iters) || iters < 0 || iters > 0xffffffff) throw new Error(`ceiling_fma: iters = ${iters} is not a u32`);
  if (!(Math.abs(a) < 1)) throw new Error(`ceiling_fma: |a| = ${Math.abs(a)} must be < 1 so the accumulators stay bounded`);
  step.dispatch({
    shader: 'ceiling_fma',
    uniforms: params([out.size, iters], [a, b]),
    bindings: [out],
    workgroups: grid1d(out.size, 64),
  });
}
