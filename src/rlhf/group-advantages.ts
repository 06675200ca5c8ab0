// Advantages without a value model, from several sampled completions per prompt, in float64: GRPO's group-relative
// advantage and its variants, and RLOO's leave-one-out baseline. Each completion's advantage is a scalar that the
// policy loss applies to all of its tokens. Pure TypeScript (runs in Node and in a Web Worker).
//
// Sources:
//   GRPO      — Shao et al. 2024 (DeepSeekMath), "outcome supervision": A_i = (r_i − mean(r))/std(r) over the group.
//   TRL       — GRPOTrainer: std is torch.std, the UNBIASED (N − 1) standard deviation, plus ε = 1e-4 in the
//               denominator; `scale_rewards` = "group" | "batch" | "none"; the frac_reward_zero_std metric.
//   Dr. GRPO  — Liu et al. 2025: no division by the std (scale 'none'), which otherwise up-weights the prompts whose
//               rewards barely differ (too easy or too hard).
//   batch std — the group mean with the std of the whole batch (TRL "batch", after Hu et al. 2025, REINFORCE++).
//   RLOO      — Ahmadian et al. 2024, after Kool et al. 2019: the baseline of each sample is the mean reward of the
//               other k − 1 samples for the same prompt.
//
// Layout: rewards (B) hold B = groups·groupSize completions, each group's completions contiguous: the completions
// of prompt g are rewards[g·groupSize … (g+1)·groupSize − 1] (TRL's GRPO layout). Sizes and hyperparameters are
// validated; data values are not (a NaN reward flows through, as in src/rlhf/math.ts).
import { checkFiniteNumber, fail } from './math';

export type AdvantageScale = 'group' | 'batch' | 'none';

const SCALES: readonly AdvantageScale[] = ['group', 'batch', 'none'];

/** Number of groups of `groupSize` (≥ 2) in `rewards`, checking the sizes. */
function groupCount(fn: string, rewards: ArrayLike<number>, groupSize: number, name: string): number {
  if (!Number.isInteger(groupSize) || groupSize < 2) fail(fn, `${name} must be an integer ≥ 2, got ${groupSize}`);
  if (rewards.length === 0 || rewards.length % groupSize !== 0) {
    fail(fn, `rewards has length ${rewards.length}, not a positive multiple of ${name} = ${groupSize}`);
  }
  return rewards.length / groupSize;
}

function mean(x: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i];
  return sum / (to - from);
}

/** Unbiased (N − 1) standard deviation of x[from … to), as torch.std. */
function sampleStd(x: ArrayLike<number>, from: number, to: number): number {
  const m = mean(x, from, to);
  let sq = 0;
  for (let i = from; i < to; i++) sq += (x[i] - m) ** 2;
  return Math.sqrt(sq / (to - from - 1));
}

/** Whether x[from … to) are all the same number: a group with no spread, whose advantages are all 0. */
export function allEqual(x: ArrayLike<number>, from: number, to: number): boolean {
  for (let i = from + 1; i < to; i++) if (x[i] !== x[from]) return false;
  return true;
}

/**
 * GRPO's advantage of each completion, rewards (B) → advantages (B):
 *   'group':  (r − mean_group) / (std_group + eps)
 *   'batch':  (r − mean_group) / (std_batch + eps)
 *   'none':   r − mean_group                                   (Dr. GRPO)
 * std is the unbiased (N − 1) standard deviation, as TRL's torch.std; eps > 0 keeps a group of equal rewards finite.
 * A group whose rewards are all equal gets exactly 0 (what the formula gives; the rounding of its mean would
 * otherwise leave noise of order 1e-17/eps). Within each group the advantages sum to 0, whatever the scale.
 */
export function groupAdvantages(rewards: ArrayLike<number>, groupSize: number, scale: AdvantageScale, eps = 1e-4): Float64Array {
  const fn = 'groupAdvantages';
  const groups = groupCount(fn, rewards, groupSize, 'groupSize');
  if (!SCALES.includes(scale)) fail(fn, `scale must be one of ${SCALES.join(', ')}, got ${String(scale)}`);
  checkFiniteNumber(fn, 'eps', eps);
  if (eps <= 0) fail(fn, `eps must be > 0, got ${eps}`);
  const batchStd = sampleStd(rewards, 0, rewards.length);
  const advantages = new Float64Array(rewards.length);
  for (let g = 0; g < groups; g++) {
    const from = g * groupSize;
    const to = from + groupSize;
    if (allEqual(rewards, from, to)) continue;
    const m = mean(rewards, from, to);
    const divisor = scale === 'group' ? sampleStd(rewards, from, to) + eps : scale === 'batch' ? batchStd + eps : 1;
    for (let i = from; i < to; i++) advantages[i] = (rewards[i] - m) / divisor;
  }
  return advantages;
}

/**
 * The fraction of groups whose rewards are all equal (TRL's frac_reward_zero_std): their advantages are 0, so they
 * teach nothing. Exact equality (TRL tests the std with torch.isclose, i.e. std ≤ ~1e-8, which agrees for rewards
 * that are not within 1e-8 of each other).
 */
export function fracRewardZeroStd(rewards: ArrayLike<number>, groupSize: number): number {
  const groups = groupCount('fracRewardZeroStd', rewards, groupSize, 'groupSize');
  let zero = 0;
  for (let g = 0; g < groups; g++) if (allEqual(rewards, g * groupSize, (g + 1) * groupSize)) zero++;
  return zero / groups;
}

/**
 * RLOO's leave-one-out advantage, rewards (B) → advantages (B), in groups of k contiguous samples per prompt:
 *   A_i = r_i − (1/(k − 1))·Σ_{j ≠ i} r_j        (= k/(k − 1)·(r_i − mean_group); sums to 0 within each group)
 * The rewards already include the KL penalty (RLOO puts it in the reward, not the loss).
 */
export function rlooAdvantages(rewards: ArrayLike<number>, k: number): Float64Array {
  const groups = groupCount('rlooAdvantages', rewards, k, 'k');
  const advantages = new Float64Array(rewards.length);
  for (let g = 0; g < groups; g++) {
    let sum = 0;
    for (let i = g * k; i < (g + 1) * k; i++) sum += rewards[i];
    for (let i = g * k; i < (g + 1) * k; i++) advantages[i] = rewards[i] - (sum - rewards[i]) / (k - 1);
  }
  return advantages;
}
