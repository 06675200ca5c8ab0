// Launchers for shaders/layernorm_forward.wgsl, layernorm_backward.wgsl and layernorm_backward_weight.wgsl.
// Shapes: N = B·T rows, C channels; inp may be shaped (B,T,C) or (N,C), only its size is checked.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { ceilDiv, grid1d } from './grid';
import { type RowOptions, rowGeometry } from './rows';

export const LAYERNORM_EPS = 1e-5;
/** Rows per workgroup in layernorm_backward, and so per slice of its scratch (CHUNK in the shader). */
export const LAYERNORM_BACKWARD_CHUNK = 32;

/**
 * Shape of the scratch tensor layernormBackward needs for N rows of C channels: (K,2,C) with K = ⌈N/32⌉ —
 * per-chunk partial sums of dweight and dbias. Allocate it once next to the activations; it holds nothing
 * between steps.
 */
export function layernormScratchShape(N: number, C: number): [number, number, number] {
  return [ceilDiv(N, LAYERNORM_BACKWARD_CHUNK), 2, C];
}

function checkRows(kernel: string, inp: Tensor, C: number): number {
  if (!Number.isInteger(C) || C < 1) throw new Error(`${kernel}: C must be a positive integer, got ${C}`);
  if (inp.size % C !== 0) throw new Error(`${kernel}: ${inp.label} has ${inp.size} elements, not a multiple of C = ${C}`);
  return inp.size / C;
}

// inp (N,C), weight (C), bias (C) → out (N,C), mean (N), rstd (N); C is the last dimension of inp.
// options.variant: 'tree' (32 threads per row, 8 rows per workgroup) or 'serial' (a thread per row), see rows.ts.
export function layernormForward(
  step: Step,
  inp: Tensor,
  weight: Tensor,
  bias: Tensor,
  out: Tensor,
  mean: Tensor,
  rstd: Tensor,
  eps = LAYERNORM_EPS,
  options: RowOptions = {},
): void {
  const k = 'layernorm_forward';
  const C = inp.shape[inp.shape.length - 1];
  const N = checkRows(k, inp, C);
  for (const t of [inp, weight, bias, out, mean, rstd]) assertDType(k, t, 'f32');
  assertSize(k, weight, C, 'weight (C)');
  assertSize(k, bias, C, 'bias (C)');
  assertSize(k, out, N * C, 'out (N,C)');
  assertSize(k, mean, N, 'mean (N)');
  assertSize(k, rstd, N, 'rstd (N)');
  const { WG, TPR } = rowGeometry(k, options, step, { WG: 256, TPR: 32 });
  step.dispatch({
    shader: k,
    overrides: { WG, TPR },
    uniforms: params([N, C], [eps]),
    bindings: [inp, weight, bias, out, mean, rstd],
    workgroups: grid1d(N, WG / TPR), // WG/TPR rows per workgroup
  });
}

export interface LayernormBackwardOptions extends RowOptions {
  /** dinp += … instead of dinp = … (the residual stream's gradient). */
  accumulateInput?: boolean;
  /** dweight += …, dbias += … instead of overwriting (gradient accumulation over micro-batches). */
  accumulateParams?: boolean;
}

/**
 * The full layernorm backward: layernorm_backward (dinp and per-chunk partials into scratch) then
 * layernorm_backward_weight (partials → dweight, dbias). scratch has layernormScratchShape(N, C).
 */
// dout (N,C), inp (N,C), weight (C), mean (N), rstd (N) → dinp (N,C), dweight (C), dbias (C); scratch (⌈N/32⌉,2,C)
export function layernormBackward(
  step: Step,
  dout: Tensor,
  inp: Tensor,
  weight: Tensor,
  mean: Tensor,
  rstd: Tensor,
  dinp: Tensor,
  dweight: Tensor,
  dbias: Tensor,
  scratch: Tensor,
  options: LayernormBackwardOptions = {},
): void {
  layernormBackwardInput(step, dout, inp, weight, mean, rstd, dinp, scratch, options.accumulateInput ?? false, options);
  layernormBackwardWeight(step, scratch, dweight, dbias, options.accumulateParams ?? false);
}

// Launcher for layernorm_backward alone (prefer layernormBackward).
// dout (N,C), inp (N,C), weight (C), mean (N), rstd (N) → dinp (N,C), scratch (⌈N/32⌉,2,C)
// options.variant: 'tree' (256 threads, 32 per row in the row reductions) or 'serial' (32 threads, one per row).
export function layernormBackwardInput(
  step: Step,
  dout: Tensor,
  inp: Tensor,
  weight: Tensor,
  mean: Tensor,
  rstd: Tensor,
  dinp: Tensor,
  scratch: Tensor,
  accumulate = false,
  options: RowOptions = {},
): void {
  const k = 'layernorm_backward';
  const C = inp.shape[inp.shape.length - 1];
  const N = checkRows(k, inp, C);
  for (const t of [dout, inp, weight, mean, rstd, dinp, scratch]) assertDType(k, t, 'f32');
  assertSize(k, dout, N * C, 'dout (N,C)');
  assertSize(k, weight, C, 'weight (C)');
  assertSize(k, mean, N, 'mean (N)');
  assertSize(k, rstd, N, 'rstd (N)');
  assertSize(k, dinp, N * C, 'dinp (N,C)');
  const [K] = layernormScratchShape(N, C);
  assertSize(k, scratch, K * 2 * C, `scratch (⌈N/${LAYERNORM_BACKWARD_CHUNK}⌉,2,C) = (${K},2,${C})`);
  const { WG, TPR } = rowGeometry(k, options, step, { WG: 256, TPR: 32 }, LAYERNORM_BACKWARD_CHUNK);
  step.dispatch({
    shader: k,
    overrides: { WG, TPR },
    uniforms: params([N, C, accumulate ? 1 : 0]),
    bindings: [dout, inp, weight, mean, rstd, dinp, scratch],
    workgroups: grid1d(K, 1), // one workgroup per chunk of 32 rows
  });
}

// Launcher for layernorm_backward_weight alone: scratch (K,2,C) → dweight (C), dbias (C).
export function layernormBackwardWeight(step: Step, scratch: Tensor, dweight: Tensor, dbias: Tensor, accumulate = false): void {
  const k = 'layernorm_backward_weight';
  for (const t of [scratch, dweight, dbias]) assertDType(k, t, 'f32');
  const C = dweight.size;
  if (C < 1) throw new Error(`${k}: ${dweight.label} (dweight) is empty`);
  assertSize(k, dbias, C, 'dbias (C)');
  if (scratch.size % (2 * C) !== 0) {
    throw new Error(`${k}: ${scratch.label} has ${scratch.size} elements, expected (K,2,C) with C = ${C}`);
  }
  const K = scratch.size / (2 * C);
  step.dispatch({
    shader: k,
    uniforms: params([K, C, accumulate ? 1 : 0]),
    bindings: [scratch, dweight, dbias],
    workgroups: grid1d(2 * C, 256),
  });
}
