// Simulated labelers: rank K = 4…9 completions of one prompt from their hidden gold rewards with Plackett–Luce
// noise, so the reward model learns from noisy comparisons as it would from people. InstructGPT (Ouyang et al. 2022)
// reports that its labelers agreed with each other on 72.6 ± 1.5% of comparisons; calibrateNoise picks the noise
// temperature τ at which a labeler agrees with the gold order on a target fraction of pairs (0.73 by default).
// (Agreement with gold, not with another labeler: two independent labelers each at 73% with gold agree with each
// other less often — interLabelerAgreement measures that, the number InstructGPT's 72.6% actually is. We calibrate
// against gold because gold is what the lab can measure.)
// Plackett–Luce with temperature τ: the best completion is drawn with probability ∝ exp(gold/τ), then the next from
// the rest, and so on. Sampled exactly with the Gumbel-max trick: order by gold_i + τ·G_i, G_i ~ Gumbel(0, 1) i.i.d.
// (Yellott 1977). That uses exactly K uniforms per ranking whatever τ is, and with the same uniforms the agreement
// is non-increasing in τ pair by pair, which makes calibration a clean bisection (common random numbers).
// Plain TypeScript (no node:*, no DOM): runs in Node and in a browser Web Worker.
import { mixSeed, seededRandom } from '../model/data';
import { pairwiseAgreement } from './math';
import type { Ranking } from './preferences';
import type { Task } from './tasks/index';

/** InstructGPT's labelers ranked 4 to 9 completions per prompt. */
export const MIN_K = 4;
export const MAX_K = 9;
export const INSTRUCTGPT_AGREEMENT = 0.73;

// Agreement of two best → worst orders (fraction of the C(K,2) pairs ordered alike), from the shared RLHF math.
export { pairwiseAgreement };

/** Indices 0..K−1 ordered by gold, best first; ties keep index order. */
export function goldOrderOf(golds: readonly number[]): number[] {
  return golds.map((_, i) => i).sort((a, b) => golds[b] - golds[a] || a - b);
}

/** K standard Gumbel draws from `random` (uniforms clamped away from 0 so the log stays finite). */
function gumbels(K: number, random: () => number): number[] {
  return Array.from({ length: K }, () => -Math.log(-Math.log(Math.max(random(), 1e-300))));
}

function orderByNoisyGold(golds: readonly number[], noise: number, g: readonly number[]): number[] {
  const key = golds.map((x, i) => x + noise * g[i]);
  return golds.map((_, i) => i).sort((a, b) => key[b] - key[a] || golds[b] - golds[a] || a - b);
}

function checkGolds(who: string, golds: readonly number[]): void {
  if (golds.length < 2) throw new RangeError(`${who}: needs at least 2 completions to rank, got ${golds.length}`);
  const bad = golds.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new RangeError(`${who}: gold score ${bad} is ${golds[bad]}, not a finite number`);
}

/**
 * A labeler's ranking of K completions (indices best → worst) given their gold scores: Plackett–Luce with
 * temperature `noise` = τ ≥ 0 (τ = 0: the gold order; τ → ∞: uniformly random). Uses exactly K draws of `random`.
 * Ties in gold are broken by the noise for τ > 0 and by index for τ = 0, so the result is a deterministic function
 * of (golds, τ, the random stream).
 */
export function rankByLabeler(golds: readonly number[], noise: number, random: () => number): number[] {
  checkGolds('rankByLabeler', golds);
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`rankByLabeler: noise (temperature τ) must be a finite number ≥ 0, got ${noise}`);
  return orderByNoisyGold(golds, noise, gumbels(golds.length, random));
}

/**
 * Expected pairwise agreement with the gold order at temperature τ, estimated on `goldSamples` (one array of gold
 * scores per prompt) with `repeats` labelings each, from a generator seeded by `seed` (same seed → same draws for
 * every τ, so the estimate is monotone in τ). Weighted by pairs: Σ agreeing pairs / Σ C(K,2).
 */
export function expectedAgreement(goldSamples: readonly (readonly number[])[], noise: number, seed: number, repeats = 8): number {
  const random = seededRandom(mixSeed(seed, 0x1abe1));
  let same = 0;
  let pairs = 0;
  for (const golds of goldSamples) {
    checkGolds('expectedAgreement', golds);
    const gold = goldOrderOf(golds);
    const P = (golds.length * (golds.length - 1)) / 2;
    for (let r = 0; r < repeats; r++) {
      same += pairwiseAgreement(orderByNoisyGold(golds, noise, gumbels(golds.length, random)), gold) * P;
      pairs += P;
    }
  }
  return same / pairs;
}

/**
 * The noise temperature τ at which a labeler's expected pairwise agreement with the gold order equals
 * `targetAgreement`: bisection on log τ over the seeded estimate `expectedAgreement` (64 halvings, so τ is exact to
 * float precision for that estimate). Needs 0.5 < target < 1 and gold scores that are not all tied within a prompt
 * (tied pairs agree with probability 1/2 at any τ, capping what is reachable); throws when the target is out of
 * reach.
 */
export function calibrateNoise(goldSamples: readonly (readonly number[])[], targetAgreement = INSTRUCTGPT_AGREEMENT, seed = 0): number {
  if (!(targetAgreement > 0.5 && targetAgreement <= 1)) throw new RangeError(`calibrateNoise: targetAgreement must be in (0.5, 1], got ${targetAgreement}`);
  if (goldSamples.length === 0) throw new RangeError('calibrateNoise: no gold samples');
  // Noiseless labelers: always the gold order (ties aside), whatever the samples.
  if (targetAgreement === 1) return 0;
  const spread = Math.max(...goldSamples.map((g) => Math.max(...g) - Math.min(...g)));
  if (!(spread > 0)) throw new RangeError('calibrateNoise: every prompt has all gold scores tied; no noise level reaches the target');
  const at = (tau: number) => expectedAgreement(goldSamples, tau, seed);
  let lo = Math.log(spread * 1e-6); // agreement ≈ its maximum here
  let hi = Math.log(spread * 1e6); // ≈ 0.5 here
  if (at(Math.exp(lo)) < targetAgreement) {
    throw new RangeError(`calibrateNoise: even noise-free labels agree with gold on only ${at(0).toFixed(3)} of pairs (ties), below the target ${targetAgreement}`);
  }
  for (let i = 0; i < 64; i++) {
    const mid = (lo + hi) / 2;
    if (at(Math.exp(mid)) > targetAgreement) lo = mid;
    else hi = mid;
  }
  return Math.exp((lo + hi) / 2);
}

export interface SimulatedLabelerOptions {
  /** Plackett–Luce temperature τ (in gold-score units), e.g. from calibrateNoise; 0 = always the gold order. */
  noise: number;
  seed: number;
}

/** One simulated labeler of a task with a gold reward; its draws come from one seeded stream, call after call. */
export class SimulatedLabeler {
  readonly noise: number;
  private readonly random: () => number;

  constructor(
    readonly task: Pick<Task, 'id' | 'gold'>,
    options: SimulatedLabelerOptions,
  ) {
    if (!task.gold) throw new RangeError(`SimulatedLabeler: task "${task.id}" has no gold reward to label with (import or collect preferences instead)`);
    if (!(options.noise >= 0) || !Number.isFinite(options.noise)) throw new RangeError(`SimulatedLabeler: noise must be a finite number ≥ 0, got ${options.noise}`);
    this.noise = options.noise;
    this.random = seededRandom(mixSeed(options.seed, 0x1abe1e5));
  }

  /**
   * Ranks K = 4…9 distinct completions of `prompt` (deduplicate samples first: identical texts cannot be ranked).
   * The ranking lists them best → worst as this labeler sees them; goldOrder records the gold order for agreement
   * statistics (the reward model never reads it).
   */
  rank(prompt: string, completions: readonly string[]): Ranking {
    const K = completions.length;
    if (!Number.isInteger(K) || K < MIN_K || K > MAX_K) throw new RangeError(`SimulatedLabeler.rank: labelers rank K = ${MIN_K}…${MAX_K} completions per prompt, got ${K}`);
    if (new Set(completions).size !== K) throw new RangeError('SimulatedLabeler.rank: completions must be distinct (deduplicate the samples first)');
    const gold = this.task.gold!;
    const golds = completions.map((c) => gold(prompt, c));
    const order = rankByLabeler(golds, this.noise, this.random);
    const position = new Array<number>(K);
    order.forEach((item, r) => (position[item] = r));
    return {
      prompt,
      completions: order.map((i) => completions[i]),
      source: 'simulated',
      goldOrder: goldOrderOf(golds).map((item) => position[item]),
    };
  }
}

/**
 * How often a second, independent labeler with the same noise agrees with `rankings` (fraction of pairs ordered
 * alike, weighted by pairs): InstructGPT's inter-labeler agreement, the ceiling a reward model's held-out accuracy
 * on these labels should be compared with (a perfect copy of the gold reward scores only about as well as another
 * labeler on noisy labels). Each ranking is re-ranked by a fresh SimulatedLabeler seeded by `seed`.
 */
export function interLabelerAgreement(task: Pick<Task, 'id' | 'gold'>, rankings: readonly Ranking[], noise: number, seed: number): number {
  if (rankings.length === 0) throw new RangeError('interLabelerAgreement: no rankings');
  const second = new SimulatedLabeler(task, { noise, seed });
  let same = 0;
  let pairs = 0;
  for (const r of rankings) {
    const again = second.rank(r.prompt, r.completions);
    const position = new Map(r.completions.map((c, i) => [c, i]));
    const P = (r.completions.length * (r.completions.length - 1)) / 2;
    same += pairwiseAgreement(
      again.completions.map((c) => position.get(c)!),
      r.completions.map((_, i) => i),
    ) * P;
    pairs += P;
  }
  return same / pairs;
}
