// Float64 reference for one AdamW step (shaders/adamw_update.wgsl), written from the paper's formulas
// (Loshchilov & Hutter, decoupled weight decay), with the gradient first multiplied by the clip factor.

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  params: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

// params (N), grads (N), m (N), v (N) at step t (1-based) → new params, m, v (N)
export function adamwStep(
  params: ArrayLike<number>,
  grads: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  t: number,
  cfg: AdamWConfig,
  clipScale = 1,
): AdamWState {
  const { lr, beta1, beta2, eps, weightDecay } = cfg;
  const n = params.length;
  const out: AdamWState = { params: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const g = grads[i] * clipScale;
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    const mHat = mi / (1 - beta1 ** t);
    const vHat = vi / (1 - beta2 ** t);
    out.m[i] = mi;
    out.v[i] = vi;
    out.params[i] = params[i] - lr * (mHat / (Math.sqrt(vHat) + eps) + weightDecay * params[i]);
  }
  return out;
}
