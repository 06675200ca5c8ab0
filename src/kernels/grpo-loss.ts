// Launchers for shaders/grpo_loss_forward_backward.wgsl: GRPO's group-relative policy loss (DAPO's clip-higher
// range, a k3 KL penalty) per token, fused with its gradient, and RLOO's REINFORCE loss as a special case of it.
// Shapes: N = B·T token positions. weights (N) carries the loss aggregation (src/rlhf/loss-aggregation.ts: the
// objective is Σ losses, so gradScale is 1 unless the caller splits a batch); the metrics are sums of the outputs:
// TRL's clip_ratio/low_mean = Σ stats[0]/Σw, clip_ratio/high_mean = Σ stats[1]/Σw, kl = Σ stats[2]/Σw (or
// Σ stats[2] for the aggregated KL). Weights live on the GPU and are not checked here.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { grid1d } from './grid';

const SHADER = 'grpo_loss_forward_backward';

export interface GrpoLossScalars {
  /** ε_low: ρ is clipped below at 1 − ε_low (default 0.2). */
  epsLow?: number;
  /** ε_high: ρ is clipped above at 1 + ε_high (default 0.28, DAPO's clip-higher). */
  epsHigh?: number;
  /** β ≥ 0, the k3 KL coefficient; 0 skips the KL term and leaves refLogp unread. */
  beta: number;
  /** Multiplies the gradient only. */
  gradScale: number;
}

function overlaps(a: Tensor, b: Tensor): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Checks every argument (errors start with `who`), then records one dispatch. */
function launch(
  who: string,
  step: Step,
  inputs: { logp: Tensor; oldLogp: Tensor; refLogp: Tensor; advantages: Tensor; weights: Tensor },
  outputs: { losses: Tensor; dlogp: Tensor; stats: Tensor },
  scalars: GrpoLossScalars,
): void {
  const { epsLow = 0.2, epsHigh = 0.28, beta, gradScale } = scalars;
  const { logp, oldLogp, refLogp, advantages, weights } = inputs;
  const { losses, dlogp, stats } = outputs;
  for (const [t, what] of [
    [epsLow, 'epsLow'],
    [epsHigh, 'epsHigh'],
    [beta, 'beta'],
  ] as const) {
    if (!(Number.isFinite(t) && t >= 0)) throw new Error(`${who}: ${what} must be a finite number ≥ 0, got ${t}`);
  }
  if (!Number.isFinite(gradScale)) throw new Error(`${who}: gradScale must be finite, got ${gradScale}`);
  const N = logp.size;
  if (N < 1) throw new Error(`${who}: ${logp.label} (logp) is empty`);
  const ins = [
    [logp, 'logp'],
    [oldLogp, 'oldLogp'],
    [refLogp, 'refLogp'],
    [advantages, 'advantages'],
    [weights, 'weights'],
  ] as const;
  for (const [t, what] of [...ins, [losses, 'losses'], [dlogp, 'dlogp']] as const) {
    assertDType(who, t, 'f32');
    if (what !== 'refLogp' || beta !== 0) assertSize(who, t, N, `${what} (N)`); // refLogp is unread at β = 0
  }
  assertDType(who, stats, 'f32');
  assertSize(who, stats, 3 * N, 'stats (3,N)');
  // An input bound over an output is a WebGPU validation error at submit (and refLogp may be any tensor at β = 0).
  for (const [t, what] of ins) {
    for (const out of [losses, dlogp, stats]) {
      if (overlaps(t, out)) throw new Error(`${who}: ${t.label} (${what}) overlaps the output ${out.label}`);
    }
  }
  step.dispatch({
    shader: SHADER,
    uniforms: params([N], [epsLow, epsHigh, beta, gradScale]),
    bindings: [logp, oldLogp, refLogp, advantages, weights, losses, dlogp, stats],
    workgroups: grid1d(N, 256),
  });
}

/**
 * logp (N), oldLogp (N), refLogp (N), advantages (N), weights (N) → losses (N), dlogp (N), stats (3,N).
 * ρ = exp(logp − oldLogp), e = refLogp − logp, k3 = exp(e) − e − 1;
 * losses = w·(max(−A·ρ, −A·clamp(ρ, 1−ε_low, 1+ε_high)) + β·k3);
 * dlogp = w·gradScale·(−A·ρ where the unclipped term wins (ties included), else 0; + β·(1 − exp(e)));
 * stats rows: clippedLow = w where ρ < 1−ε_low and A < 0, clippedHigh = w where ρ > 1+ε_high and A > 0, kl = w·k3.
 * advantages holds each sequence's advantage on all of its tokens. At β = 0, refLogp is not read: pass any f32
 * tensor that is not an output (logp itself, say); its size is not checked, and the kl row is 0.
 * Weight-0 tokens get exactly 0 everywhere. A ratio explosion (or logp ≪ refLogp) saturates each exponential term at
 * e^88 (≈ 1.65e38) instead of overflowing: finite, never NaN (see the shader).
 */
export function grpoLossForwardBackward(
  step: Step,
  logp: Tensor, // (N)
  oldLogp: Tensor, // (N)
  refLogp: Tensor, // (N); unread (any f32 tensor) when beta = 0
  advantages: Tensor, // (N)
  weights: Tensor, // (N)
  losses: Tensor, // (N)
  dlogp: Tensor, // (N)
  stats: Tensor, // (3,N): clippedLow, clippedHigh, kl
  scalars: GrpoLossScalars,
): void {
  launch(SHADER, step, { logp, oldLogp, refLogp, advantages, weights }, { losses, dlogp, stats }, scalars);
}

/**
 * RLOO's policy loss (Ahmadian et al. 2024; TRL's RLOOTrainer): REINFORCE on whole sequences, loss_i = −A_i·Σ_t logp_t
 * with the KL penalty already in the reward and one update per batch, so its gradient is −A_i on each response
 * token. Run as the GRPO kernel with oldLogp := logp and β = 0: ρ = exp(logp − logp) = 1 exactly, inside the clip
 * range, so dlogp = w·gradScale·(−A·ρ) = −A·w·gradScale — REINFORCE's gradient, not a near-copy of the kernel.
 * logp (N), advantages (N), weights (N) → losses (N), dlogp (N), stats (3,N).
 * losses holds −A·w, the surrogate's value at ρ = 1 (what TRL's RLOO logs as its policy loss), not −A·w·logp: the
 * two differ by a term with zero gradient. stats is written with zeros (nothing clips, no KL term): it is only the
 * kernel's third output. weights: 1/B on response tokens for TRL's RLOO (a sum over tokens, a mean over
 * sequences; aggregationWeights(…, 'sequence_sum', …)).
 */
export function rlooLossForwardBackward(
  step: Step,
  logp: Tensor, // (N)
  advantages: Tensor, // (N)
  weights: Tensor, // (N)
  losses: Tensor, // (N)
  dlogp: Tensor, // (N)
  stats: Tensor, // (3,N), all zero
  gradScale: number,
): void {
  // ε = 1 each side: the band [0, 2] holds ρ = 1 with room (ties would also go to the unclipped term).
  launch(`rloo_loss (${SHADER})`, step, { logp, oldLogp: logp, refLogp: logp, advantages, weights }, { losses, dlogp, stats }, { epsLow: 1, epsHigh: 1, beta: 0, gradScale });
}
