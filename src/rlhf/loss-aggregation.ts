// How a GRPO-family policy loss is aggregated over the tokens of a batch, as one weight per token: the policy-loss
// kernel (src/kernels/grpo-loss.ts) multiplies each token's loss and gradient by its weight, and the objective is
// the plain sum Σ_n w_n·loss_n. Pure TypeScript (runs in Node and in a Web Worker).
//
// Sources (the first three are TRL's GRPOTrainer `loss_type` values, as grpo.lossType spells them; the last is
// REINFORCE's, as TRL's RLOOTrainer aggregates):
//   grpo    — Shao et al. 2024 (DeepSeekMath): the mean over each sequence's tokens, then the mean over sequences:
//             w = 1/(|o_i|·B). Longer responses get less weight per token (the length bias Dr. GRPO points out).
//   dapo    — Yu et al. 2025 (DAPO), "token-level policy gradient loss": the mean over all response tokens of the
//             batch, w = 1/Σ_i |o_i|.
//   dr_grpo — Liu et al. 2025, "Understanding R1-Zero-Like Training: A Critical Perspective" (Dr. GRPO): a constant
//             normaliser, w = 1/(B·L_max) with L_max the rollout's maximum response length, so no sequence's weight
//             depends on its own or the batch's lengths.
//   sequence_sum — REINFORCE on whole sequences (Ahmadian et al. 2024, RLOO; TRL's RLOOTrainer): the sum over each
//             sequence's tokens (its log-probability), then the mean over sequences: w = 1/B.
// B counts every sequence of the batch, empty ones included (they contribute nothing, as in TRL, whose per-sequence
// mean divides by max(|o_i|, 1)). Compute the weights on the whole batch one optimiser step covers: minibatches cut
// from it keep its normaliser (TRL's `dapo` likewise divides by the tokens of the whole accumulated batch).
import { checkMask, checkPositiveInteger, fail } from './math';

export type LossAggregation = 'grpo' | 'dapo' | 'dr_grpo' | 'sequence_sum';

const AGGREGATIONS: readonly LossAggregation[] = ['grpo', 'dapo', 'dr_grpo', 'sequence_sum'];

/**
 * mask (B,T) (1 on response tokens, 0 on prompt and padding, anywhere in the row) → weights (B,T): the aggregation
 * weight of each response token for `lossType`, 0 elsewhere. maxTokens is L_max, the rollout's maximum response
 * length (only dr_grpo's weight uses it; every row must have at most that many response tokens).
 */
export function aggregationWeights(mask: ArrayLike<number>, T: number, lossType: LossAggregation, maxTokens: number): Float32Array {
  const fn = 'aggregationWeights';
  checkPositiveInteger(fn, 'T', T);
  if (mask.length % T !== 0 || mask.length === 0) fail(fn, `mask has length ${mask.length}, not a positive multiple of T = ${T}`);
  if (!AGGREGATIONS.includes(lossType)) fail(fn, `lossType must be one of ${AGGREGATIONS.join(', ')}, got ${String(lossType)}`);
  checkPositiveInteger(fn, 'maxTokens', maxTokens);
  const total = checkMask(fn, mask, mask.length);
  const B = mask.length / T;
  const weights = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let length = 0;
    for (let t = 0; t < T; t++) length += mask[b * T + t];
    if (length > maxTokens) fail(fn, `row ${b} has ${length} response tokens, more than maxTokens = ${maxTokens}`);
    if (length === 0) continue;
    const w = lossType === 'grpo' ? 1 / (length * B) : lossType === 'dapo' ? 1 / total : lossType === 'dr_grpo' ? 1 / (B * maxTokens) : 1 / B;
    for (let t = 0; t < T; t++) if (mask[b * T + t] === 1) weights[b * T + t] = w;
  }
  return weights;
}
