// Float64 reference for the group-relative policy loss (shaders/grpo_loss_forward_backward.wgsl) and for RLOO's
// REINFORCE loss. GRPO: Shao et al. 2024 (DeepSeekMath); the asymmetric clip range ("clip-higher"): DAPO, Yu et al.
// 2025; k3: J. Schulman, "Approximating KL Divergence" (2020); as in TRL's GRPOTrainer. RLOO: Ahmadian et al. 2024,
// "Back to Basics: Revisiting REINFORCE Style Optimization for Learning from Human Feedback in LLMs".
// Shapes: N = B·T token positions. weights (N) ≥ 0 carries the loss aggregation (0 = ignored: exactly 0 in every
// output); gradScale multiplies the gradient only.

export interface GrpoScalars {
  /** ε_low: the ratio is clipped below at 1 − ε_low. */
  epsLow: number;
  /** ε_high: the ratio is clipped above at 1 + ε_high. */
  epsHigh: number;
  /** β: the coefficient of the k3 KL penalty; 0 leaves refLogp unread. */
  beta: number;
}

// logp (N), oldLogp (N), refLogp (N), advantages (N), weights (N) → per token, with ρ = exp(logp − oldLogp) and
// e = refLogp − logp:
//   losses      = w·(max(−A·ρ, −A·clamp(ρ, 1−ε_low, 1+ε_high)) + β·k3),  k3 = exp(e) − e − 1
//   clippedLow  = w where ρ < 1−ε_low and A < 0 (the clipped term is strictly larger there)
//   clippedHigh = w where ρ > 1+ε_high and A > 0
//   kl          = w·k3 (0 everywhere when β = 0)
export function grpoLossForward(
  logp: ArrayLike<number>,
  oldLogp: ArrayLike<number>,
  refLogp: ArrayLike<number>,
  advantages: ArrayLike<number>,
  weights: ArrayLike<number>,
  s: GrpoScalars,
): { losses: Float64Array; clippedLow: Float64Array; clippedHigh: Float64Array; kl: Float64Array } {
  const N = logp.length;
  const losses = new Float64Array(N);
  const clippedLow = new Float64Array(N);
  const clippedHigh = new Float64Array(N);
  const kl = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const w = weights[n];
    if (w === 0) continue;
    const A = advantages[n];
    const ratio = Math.exp(logp[n] - oldLogp[n]);
    const unclippedTerm = -A * ratio;
    const clippedTerm = -A * Math.min(Math.max(ratio, 1 - s.epsLow), 1 + s.epsHigh);
    if (clippedTerm > unclippedTerm) {
      if (ratio < 1) clippedLow[n] = w;
      else clippedHigh[n] = w;
    }
    let k3 = 0;
    if (s.beta !== 0) {
      const e = refLogp[n] - logp[n];
      k3 = Math.expm1(e) - e; // exp(e) − 1 − e without cancellation for small e
    }
    kl[n] = w * k3;
    losses[n] = w * (Math.max(unclippedTerm, clippedTerm) + s.beta * k3);
  }
  return { losses, clippedLow, clippedHigh, kl };
}

// The same inputs → dlogp (N), the gradient of Σ losses times gradScale:
//   w·gradScale·(dsurrogate − β·expm1(e)),  d k3/d logp = −exp(e) + 1 = −expm1(e)
// dsurrogate = −A·ρ where the unclipped term wins (ties included) or ρ is inside [1−ε_low, 1+ε_high] (clamp is the
// identity there), else 0 (clamp is constant outside it).
export function grpoLossBackward(
  logp: ArrayLike<number>,
  oldLogp: ArrayLike<number>,
  refLogp: ArrayLike<number>,
  advantages: ArrayLike<number>,
  weights: ArrayLike<number>,
  s: GrpoScalars,
  gradScale: number,
): Float64Array {
  const N = logp.length;
  const dlogp = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const w = weights[n];
    if (w === 0) continue;
    const A = advantages[n];
    const ratio = Math.exp(logp[n] - oldLogp[n]);
    const lo = 1 - s.epsLow;
    const hi = 1 + s.epsHigh;
    const unclippedTerm = -A * ratio;
    const clippedTerm = -A * Math.min(Math.max(ratio, lo), hi);
    const inside = ratio >= lo && ratio <= hi;
    const dsurrogate = unclippedTerm >= clippedTerm || inside ? -A * ratio : 0; // dρ/dlogp = ρ
    const dk3 = s.beta === 0 ? 0 : -Math.expm1(refLogp[n] - logp[n]);
    dlogp[n] = w * gradScale * (dsurrogate + s.beta * dk3);
  }
  return dlogp;
}

// RLOO's policy loss: REINFORCE on whole sequences, the KL penalty already inside the reward. logp (B,T),
// mask (B,T) (1 on response tokens), advantages (B) → losses (B): loss_b = −A_b·Σ_t mask[b,t]·logp[b,t].
export function rlooLossForward(logp: ArrayLike<number>, mask: ArrayLike<number>, advantages: ArrayLike<number>): Float64Array {
  const B = advantages.length;
  const T = logp.length / B;
  const losses = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let sumLogp = 0;
    for (let t = 0; t < T; t++) if (mask[b * T + t] !== 0) sumLogp += logp[b * T + t];
    losses[b] = -advantages[b] * sumLogp;
  }
  return losses;
}

// mask (B,T), advantages (B) → dlogp (B,T), the gradient of Σ_b losses_b: −A_b on row b's response tokens, 0 elsewhere.
export function rlooLossBackward(mask: ArrayLike<number>, advantages: ArrayLike<number>): Float64Array {
  const B = advantages.length;
  const T = mask.length / B;
  return Float64Array.from(mask, (m, i) => (m !== 0 ? -advantages[Math.floor(i / T)] : 0));
}
