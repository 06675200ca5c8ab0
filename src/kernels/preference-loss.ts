// Launcher for shaders/preference_loss_forward_backward.wgsl: the direct preference losses (sigmoid DPO, Rafailov et al.
// 2023; IPO, Azar et al. 2023) over K-way rankings (all C(K,2) pairs of one prompt in one batch element), fused
// with the gradient in the policy's per-token log-probs.
// Shapes: G groups (prompts), B sequences (rows; group g is rows offsets[g] .. offsets[g+1]−1, best → worst),
// T positions per sequence.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { grid1d } from './grid';
import { validateGroupOffsets } from './ranking-loss';

const KERNEL = 'preference_loss_forward_backward';

/** Most sequences one group may rank (the shader's MAX_K: 16 lanes of its 256 threads per row). */
export const PREFERENCE_MAX_K = 16;

/** ℓ(h) of a pair whose preferred sequence leads by log-ratio h: 'sigmoid' −log σ(β·h) (DPO), 'ipo' (h − 1/(2β))². */
export type PreferenceLoss = 'sigmoid' | 'ipo';

const LOSS_KINDS: Record<PreferenceLoss, number> = { sigmoid: 0, ipo: 1 };

/**
 * CPU check of the group layout the kernel trusts (offsets live on the GPU, so the launcher cannot read them):
 * offsets (G+1) rises from 0 to B by steps of 2 ≤ K ≤ PREFERENCE_MAX_K (every row in exactly one group). Throws an error
 * naming the first problem.
 */
export function validatePreferenceGroups(offsets: ArrayLike<number>, B: number): void {
  validateGroupOffsets(KERNEL, offsets, B, PREFERENCE_MAX_K);
}

/**
 * logp (B·T) (from op.logprob), refLogp (B·T) (the frozen reference policy's), weights (B·T) (the response mask,
 * PackedBatch.mask), offsets (G+1) u32
 * → losses (G) = 1/C(K,2)·Σ_{i<j} ℓ(z_i − z_j), z_b = Σ_t w·(logp − refLogp),
 *   rewards (B) = β·z (the implicit reward),
 *   dlogp (B·T) = gradScale·∂(Σ losses)/∂logp, written in full (exactly 0 where w = 0).
 * B is rewards' size. offsets live on the GPU and are not checked here: validate them with
 * validatePreferenceGroups where they are built. A malformed group gives NaN in that group. gradScale is the
 * caller's normalisation (1/G for the mean over prompts).
 */
export function preferenceLossForwardBackward(
  step: Step,
  logp: Tensor, // (B,T) or (B·T)
  refLogp: Tensor, // (B,T) or (B·T)
  weights: Tensor, // (B,T) or (B·T)
  offsets: Tensor, // (G+1) u32
  losses: Tensor, // (G)
  rewards: Tensor, // (B)
  dlogp: Tensor, // (B,T) or (B·T)
  beta: number,
  loss: PreferenceLoss,
  gradScale: number,
): void {
  const k = KERNEL;
  assertDType(k, offsets, 'u32');
  for (const t of [logp, refLogp, weights, losses, rewards, dlogp]) assertDType(k, t, 'f32');
  const B = rewards.size;
  if (B < 1) throw new Error(`${k}: ${rewards.label} (rewards) is empty`);
  if (logp.size % B !== 0 || logp.size === 0) {
    throw new Error(`${k}: ${logp.label} has ${logp.size} elements, not B·T for B = ${B} sequences`);
  }
  const T = logp.size / B;
  for (const t of [logp, refLogp, weights, dlogp]) {
    if (t.shape.length > 1 && t.shape[0] !== B) {
      throw new Error(`${k}: ${t.label} has shape [${t.shape}], expected first dimension B = ${B}`);
    }
  }
  assertSize(k, refLogp, B * T, 'refLogp (B·T)');
  assertSize(k, weights, B * T, 'weights (B·T)');
  assertSize(k, dlogp, B * T, 'dlogp (B·T)');
  if (offsets.size < 2) throw new Error(`${k}: ${offsets.label} (offsets) has ${offsets.size} elements, need G+1 ≥ 2`);
  const G = offsets.size - 1;
  assertSize(k, losses, G, 'losses (G)');
  if (!(Number.isFinite(beta) && beta > 0)) throw new Error(`${k}: beta must be finite and > 0, got ${beta}`);
  if (!Number.isFinite(gradScale)) throw new Error(`${k}: gradScale must be finite, got ${gradScale}`);
  if (!Object.hasOwn(LOSS_KINDS, loss)) throw new Error(`${k}: loss must be 'sigmoid' or 'ipo', got '${loss}'`);
  step.dispatch({
    shader: k,
    overrides: { LOSS: LOSS_KINDS[loss] },
    uniforms: params([G, B, T], [beta, gradScale]),
    bindings: [logp, refLogp, weights, offsets, losses, rewards, dlogp],
    workgroups: grid1d((G + 1) * 256, 256), // one workgroup per group, one for the rows outside every group
  });
}
