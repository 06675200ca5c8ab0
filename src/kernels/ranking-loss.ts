// Launcher for shaders/ranking_loss_forward_backward.wgsl: the InstructGPT reward-model loss over K-way rankings
// (all C(K,2) pairs of one prompt in one batch element), fused with its gradient.
// Shapes: G groups (prompts), B sequences (rows; group g is rows offsets[g] .. offsets[g+1]−1, best → worst),
// T positions per sequence.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { grid1d } from './grid';

const KERNEL = 'ranking_loss_forward_backward';

/**
 * CPU check of a group layout: offsets (G+1) rises from 0 to B by steps of 2 ≤ K ≤ maxK (every row in exactly one
 * group). Throws an error naming `kernel` and the first problem. Shared with the preference losses (preference-loss.ts).
 */
export function validateGroupOffsets(kernel: string, offsets: ArrayLike<number>, B: number, maxK = Infinity): void {
  if (!Number.isInteger(B) || B < 2) throw new Error(`${kernel}: B = ${B}, need an integer ≥ 2 (one group of K ≥ 2)`);
  if (offsets.length < 2) throw new Error(`${kernel}: offsets has ${offsets.length} entries, need G+1 ≥ 2`);
  const G = offsets.length - 1;
  if (offsets[0] !== 0) throw new Error(`${kernel}: offsets[0] = ${offsets[0]}, expected 0`);
  if (offsets[G] !== B) throw new Error(`${kernel}: offsets[${G}] = ${offsets[G]}, expected B = ${B} (every row in a group)`);
  const need = maxK === Infinity ? 'K ≥ 2' : `2 ≤ K ≤ ${maxK}`;
  for (let g = 0; g < G; g++) {
    const K = offsets[g + 1] - offsets[g];
    if (!Number.isInteger(offsets[g + 1]) || !(K >= 2 && K <= maxK)) {
      throw new Error(`${kernel}: group ${g} (rows ${offsets[g]}..${offsets[g + 1] - 1}) has K = ${K} sequences, need ${need}`);
    }
  }
}

/**
 * CPU check of the group layout the kernel trusts (offsets and last live on the GPU, so the launcher cannot
 * read them): offsets (G+1) rises from 0 to B by steps ≥ 2 (K_g ≥ 2 sequences per group, every row in exactly
 * one group) and every last[b] is a position 0..T−1. Throws an error naming the first problem.
 */
export function validateRankingGroups(offsets: ArrayLike<number>, last: ArrayLike<number>, B: number, T: number): void {
  validateGroupOffsets(KERNEL, offsets, B);
  if (!Number.isInteger(T) || T < 1) throw new Error(`${KERNEL}: T = ${T}, need an integer ≥ 1`);
  if (last.length !== B) throw new Error(`${KERNEL}: last has ${last.length} entries, expected B = ${B}`);
  for (let b = 0; b < B; b++) {
    if (!Number.isInteger(last[b]) || last[b] < 0 || last[b] >= T) {
      throw new Error(`${KERNEL}: last[${b}] = ${last[b]} is not a position 0..${T - 1}`);
    }
  }
}

/**
 * scores (B·T) (e.g. (B,T,1), the scalar head at every position), last (B) u32, offsets (G+1) u32
 * → losses (G) = −1/C(K,2)·Σ_{i<j} log σ(r_i − r_j) with r = scores at each row's last position,
 *   dscores (B·T) = gradScale·∂(Σ losses)/∂scores, written in full (0 away from the last positions).
 * offsets and last live on the GPU and are not checked here: validate them with validateRankingGroups where they
 * are built. A malformed group or a last ≥ T gives NaN in that group; rows outside every group get 0 gradient.
 * gradScale is the caller's normalisation (1/G for the mean over prompts).
 */
export function rankingLossForwardBackward(
  step: Step,
  scores: Tensor, // (B,T) or (B,T,1)
  last: Tensor, // (B) u32
  offsets: Tensor, // (G+1) u32
  losses: Tensor, // (G)
  dscores: Tensor, // (B,T) or (B,T,1)
  gradScale: number,
): void {
  const k = KERNEL;
  assertDType(k, last, 'u32');
  assertDType(k, offsets, 'u32');
  for (const t of [scores, losses, dscores]) assertDType(k, t, 'f32');
  const B = last.size;
  if (B < 1) throw new Error(`${k}: ${last.label} (last) is empty`);
  if (scores.size % B !== 0 || scores.size === 0) {
    throw new Error(`${k}: ${scores.label} has ${scores.size} elements, not B·T for B = ${B} sequences`);
  }
  const T = scores.size / B;
  if (scores.shape.length > 1 && scores.shape[0] !== B) {
    throw new Error(`${k}: ${scores.label} has shape [${scores.shape}], expected first dimension B = ${B}`);
  }
  if (offsets.size < 2) throw new Error(`${k}: ${offsets.label} (offsets) has ${offsets.size} elements, need G+1 ≥ 2`);
  const G = offsets.size - 1;
  assertSize(k, losses, G, 'losses (G)');
  assertSize(k, dscores, B * T, 'dscores (B·T)');
  if (!Number.isFinite(gradScale)) throw new Error(`${k}: gradScale must be finite, got ${gradScale}`);
  step.dispatch({
    shader: k,
    uniforms: params([G, B, T], [gradScale]),
    bindings: [scores, last, offsets, losses, dscores],
    workgroups: grid1d(Math.max(B * T, G), 256),
  });
}
