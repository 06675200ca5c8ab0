// Float64 reference for PPO's clipped policy and value losses (the group kernel shaders/grpo_loss_forward_backward.wgsl
// at ε_low = ε_high = ε, β = 0; shaders/ppo_value_loss_forward_backward.wgsl), written independently of the group
// loss's reference (src/reference/grpo-loss.ts). PPO: Schulman et al. 2017; its use for language models: Ziegler et al.
// 2019, InstructGPT (Ouyang et al. 2022), "The N Implementation Details of RLHF with PPO" (Huang et al.), TRL.
// Shapes: N = B·T token positions. weights (N) is the per-token loss mask (0 = ignored: exactly 0 loss and
// gradient); gradScale the caller's normalisation (1/Σweights for a masked mean); clip is PPO's ε.

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

// logp (N), oldLogp (N), advantages (N), weights (N) → losses (N) = w·max(−A·ρ, −A·clamp(ρ, 1−ε, 1+ε)) with
// ρ = exp(logp − oldLogp), and clipped (N) = w where the clipped term is strictly larger (policy/clipfrac)
export function ppoPolicyLossForward(
  logp: ArrayLike<number>,
  oldLogp: ArrayLike<number>,
  advantages: ArrayLike<number>,
  weights: ArrayLike<number>,
  clip: number,
): { losses: Float64Array; clipped: Float64Array } {
  const N = logp.length;
  const losses = new Float64Array(N);
  const clipped = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (weights[n] === 0) continue;
    const A = advantages[n];
    const ratio = Math.exp(logp[n] - oldLogp[n]);
    const unclippedTerm = -A * ratio;
    const clippedTerm = -A * clamp(ratio, 1 - clip, 1 + clip);
    losses[n] = weights[n] * Math.max(unclippedTerm, clippedTerm);
    if (clippedTerm > unclippedTerm) clipped[n] = weights[n];
  }
  return { losses, clipped };
}

// logp (N), oldLogp (N), advantages (N), weights (N) → dlogp (N), the gradient of gradScale·Σ losses:
// w·gradScale·(−A·ρ) where the unclipped term wins (ties included); where the clipped one does, w·gradScale·(−A·ρ)
// if ρ is inside [1−ε, 1+ε] (clamp is the identity there) and 0 outside (clamp is constant there)
export function ppoPolicyLossBackward(
  logp: ArrayLike<number>,
  oldLogp: ArrayLike<number>,
  advantages: ArrayLike<number>,
  weights: ArrayLike<number>,
  clip: number,
  gradScale: number,
): Float64Array {
  const N = logp.length;
  const dlogp = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (weights[n] === 0) continue;
    const A = advantages[n];
    const ratio = Math.exp(logp[n] - oldLogp[n]);
    const unclippedTerm = -A * ratio;
    const clippedTerm = -A * clamp(ratio, 1 - clip, 1 + clip);
    const inside = ratio >= 1 - clip && ratio <= 1 + clip;
    // dρ/dlogp = ρ
    const dterm = unclippedTerm >= clippedTerm || inside ? -A * ratio : 0;
    dlogp[n] = weights[n] * gradScale * dterm;
  }
  return dlogp;
}

// values (N), oldValues (N), returns (N), weights (N) → losses (N) = w·½·max((v − R)², (vClip − R)²) with
// vClip = oldV + clamp(v − oldV, −ε, ε), and clipped (N) = w where the clipped term is strictly larger (val/clipfrac)
export function ppoValueLossForward(
  values: ArrayLike<number>,
  oldValues: ArrayLike<number>,
  returns: ArrayLike<number>,
  weights: ArrayLike<number>,
  clip: number,
): { losses: Float64Array; clipped: Float64Array } {
  const N = values.length;
  const losses = new Float64Array(N);
  const clipped = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (weights[n] === 0) continue;
    const vClip = oldValues[n] + clamp(values[n] - oldValues[n], -clip, clip);
    const unclippedTerm = (values[n] - returns[n]) ** 2;
    const clippedTerm = (vClip - returns[n]) ** 2;
    losses[n] = weights[n] * 0.5 * Math.max(unclippedTerm, clippedTerm);
    if (clippedTerm > unclippedTerm) clipped[n] = weights[n];
  }
  return { losses, clipped };
}

// values (N), oldValues (N), returns (N), weights (N) → dvalues (N), the gradient of gradScale·Σ losses:
// w·gradScale·(v − R) where the unclipped term wins (ties included), else w·gradScale·(vClip − R)·[|v − oldV| < ε]
export function ppoValueLossBackward(
  values: ArrayLike<number>,
  oldValues: ArrayLike<number>,
  returns: ArrayLike<number>,
  weights: ArrayLike<number>,
  clip: number,
  gradScale: number,
): Float64Array {
  const N = values.length;
  const dvalues = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (weights[n] === 0) continue;
    const delta = values[n] - oldValues[n];
    const vClip = oldValues[n] + clamp(delta, -clip, clip);
    const unclippedTerm = (values[n] - returns[n]) ** 2;
    const clippedTerm = (vClip - returns[n]) ** 2;
    const dterm = unclippedTerm >= clippedTerm ? values[n] - returns[n] : Math.abs(delta) < clip ? vClip - returns[n] : 0;
    dvalues[n] = weights[n] * gradScale * dterm;
  }
  return dvalues;
}
