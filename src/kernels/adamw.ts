// Launcher for shaders/adamw_update.wgsl: one AdamW step over a flat parameter range, clipped by the factor that
// gradNorm left on the GPU.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSameSize, assertSize } from './checks';
import { grid1d } from './grid';

export interface AdamWHyperparams {
  /** Learning rate for this step (the CPU evaluates the schedule). */
  lr: number;
  /** Step number, 1-based, for the bias corrections 1 − β^t. */
  t: number;
  /** Defaults are PyTorch's AdamW: β1 0.9, β2 0.999, eps 1e-8, weight decay 0.01. */
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** A sub-range of the arena, e.g. the no-decay group; default the whole tensor. */
export interface ParamRange {
  offset: number;
  length: number;
}

// param (N), grads (N), m (N), v (N) updated in place over [offset, offset + length); clip (2) from gradNorm.
// When clip[0] (the gradient norm) is NaN or ±Inf the kernel changes nothing: a diverged step leaves the last good
// weights and moments in place without a CPU round trip.
export function adamwUpdate(
  step: Step,
  param: Tensor,
  grads: Tensor,
  m: Tensor,
  v: Tensor,
  clip: Tensor,
  hp: AdamWHyperparams,
  range: ParamRange = { offset: 0, length: param.size },
): void {
  const kernel = 'adamw_update';
  const { lr, t, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 } = hp;
  assertSameSize(kernel, param, grads, m, v);
  assertSize(kernel, clip, 2, '[norm, clip scale]');
  for (const x of [param, grads, m, v, clip]) assertDType(kernel, x, 'f32');
  const buffers = new Set([param, grads, m, v, clip].map((x) => x.buffer));
  if (buffers.size !== 5) throw new Error(`${kernel}: params, grads, m, v and clip must be five different buffers`);
  if (!Number.isInteger(t) || t < 1) throw new Error(`${kernel}: step t must be an integer ≥ 1, got ${t}`);
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`${kernel}: lr must be finite and ≥ 0, got ${lr}`);
  for (const [name, b] of [['beta1', beta1], ['beta2', beta2]] as const) {
    if (!(b >= 0 && b < 1)) throw new Error(`${kernel}: ${name} must be in [0, 1), got ${b}`);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${kernel}: eps must be finite and ≥ 0, got ${eps}`);
  if (!Number.isFinite(weightDecay)) throw new Error(`${kernel}: weightDecay must be finite, got ${weightDecay}`);
  const { offset, length } = range;
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > param.size) {
    throw new Error(`${kernel}: range [${offset}, ${offset} + ${length}) is outside the ${param.size}-element arena`);
  }
  // Bias corrections in float64 on the CPU, as PyTorch does (it computes them in Python floats).
  const stepSize = lr / (1 - beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
  step.dispatch({
    shader: kernel,
    uniforms: params([length, offset], [lr, beta1, beta2, eps, weightDecay, stepSize, bc2Sqrt]),
    bindings: [param, grads, m, v, clip],
    workgroups: grid1d(length, 256),
  });
}
