// Float64 reference for the direct preference losses (shaders/preference_loss_forward_backward.wgsl): the policy is
// trained on ranked completions directly, its log-ratio to a frozen reference policy acting as the reward
// (Rafailov et al. 2023, "Direct Preference Optimization"; Azar et al. 2023, "A General Theoretical Paradigm to
// Understand Learning from Human Preferences" for IPO). K-way rankings expand to all C(K,2) pairs of one prompt:
//   z_b     = Σ_t w_bt·(logp_bt − refLogp_bt),  reward_b = β·z_b
//   loss_g  = 1/C(K,2)·Σ_{i<j} ℓ(z_i − z_j),  rows of group g ordered best → worst
//   ℓ(h)    = −log σ(β·h) ('sigmoid')  or  (h − 1/(2β))² ('ipo')
// Shapes: G groups, B sequences (rows), T positions. logp, refLogp, weights (B·T); offsets (G+1): group g is rows
// offsets[g] .. offsets[g+1]−1. Positions with w = 0 are never read (as in the kernel).
import type { PreferenceLoss } from '../kernels/preference-loss';
import { sigmoid, softplus } from './ranking-loss';

// logp, refLogp, weights (B·T) → z (B), the sequence log-ratios
function logRatios(
  logp: ArrayLike<number>,
  refLogp: ArrayLike<number>,
  weights: ArrayLike<number>,
  B: number,
  T: number,
): Float64Array {
  const z = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    for (let i = b * T; i < (b + 1) * T; i++) if (weights[i] !== 0) z[b] += weights[i] * (logp[i] - refLogp[i]);
  }
  return z;
}

// ℓ(h) of a pair whose preferred row leads by log-ratio h
function pairLoss(h: number, beta: number, loss: PreferenceLoss): number {
  return loss === 'ipo' ? (h - 1 / (2 * beta)) ** 2 : softplus(-beta * h);
}

// ∂ℓ/∂h
function pairGrad(h: number, beta: number, loss: PreferenceLoss): number {
  return loss === 'ipo' ? 2 * (h - 1 / (2 * beta)) : -beta * sigmoid(-beta * h);
}

// logp, refLogp, weights (B·T), offsets (G+1) → losses (G) = 1/C(K,2)·Σ_{i<j} ℓ(z_i − z_j), rewards (B) = β·z
export function preferenceLossForward(
  logp: ArrayLike<number>,
  refLogp: ArrayLike<number>,
  weights: ArrayLike<number>,
  offsets: ArrayLike<number>,
  beta: number,
  loss: PreferenceLoss,
  B: number,
  T: number,
): { losses: Float64Array; rewards: Float64Array } {
  const G = offsets.length - 1;
  const z = logRatios(logp, refLogp, weights, B, T);
  const losses = new Float64Array(G);
  for (let g = 0; g < G; g++) {
    const K = offsets[g + 1] - offsets[g];
    let sum = 0;
    for (let i = offsets[g]; i < offsets[g + 1]; i++) {
      for (let j = i + 1; j < offsets[g + 1]; j++) sum += pairLoss(z[i] - z[j], beta, loss);
    }
    losses[g] = sum / ((K * (K - 1)) / 2);
  }
  return { losses, rewards: z.map((x) => beta * x) };
}

// logp, refLogp, weights (B·T), offsets (G+1) → dlogp (B·T), the gradient of gradScale·Σ_g losses[g]:
// w·(the row's ∂/∂z), 0 where w = 0
export function preferenceLossBackward(
  logp: ArrayLike<number>,
  refLogp: ArrayLike<number>,
  weights: ArrayLike<number>,
  offsets: ArrayLike<number>,
  beta: number,
  loss: PreferenceLoss,
  gradScale: number,
  B: number,
  T: number,
): Float64Array {
  const G = offsets.length - 1;
  const z = logRatios(logp, refLogp, weights, B, T);
  const dz = new Float64Array(B);
  for (let g = 0; g < G; g++) {
    const K = offsets[g + 1] - offsets[g];
    const scale = gradScale / ((K * (K - 1)) / 2);
    for (let i = offsets[g]; i < offsets[g + 1]; i++) {
      for (let j = i + 1; j < offsets[g + 1]; j++) {
        const dh = scale * pairGrad(z[i] - z[j], beta, loss); // h = z_i − z_j
        dz[i] += dh;
        dz[j] -= dh;
      }
    }
  }
  const dlogp = new Float64Array(B * T);
  for (let i = 0; i < B * T; i++) if (weights[i] !== 0) dlogp[i] = weights[i] * dz[Math.floor(i / T)];
  return dlogp;
}
