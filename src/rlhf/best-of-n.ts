// Best-of-N (rejection sampling; Nakano et al. 2021 "WebGPT", Stiennon et al. 2020): sample N responses from the SFT
// policy and keep the reward model's favourite. No training at all, and its KL from the SFT policy is at most
// log N − (N−1)/N (Beirami et al. 2024), so it traces the reward-vs-√KL frontier that PPO is compared against
// (Gao et al. 2022: RL spends far more KL than best-of-N for the same gold gain).
//
// One pool of maxN samples per prompt serves every N ∈ {1, 2, 4, …, maxN}: best-of-N takes the first N of the pool
// (an unbiased draw of N samples), so the curve over N is smooth and costs maxN samples per prompt, not Σ N.
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import { lastTokenScores } from './forward';
import { bestOfNKLBound } from './math';
import { sampleResponses } from './reward-model';
import { encodeQuery, packSequences } from './sequences';

export interface BestOfNPoint {
  n: number;
  kl_bound: number;
  /** Mean reward-model score of the chosen responses. */
  proxy: number;
  /** Mean gold reward of the chosen responses (NaN without a gold function). */
  gold: number;
}

export interface BestOfNResult {
  points: BestOfNPoint[];
  /** The chosen response per prompt at N = maxN, with its scores. */
  chosen: { prompt: string; response: string; proxy: number; gold: number }[];
  /** The first sample of each prompt's pool (best-of-1: an SFT sample), with its scores: what best-of-maxN is judged against. */
  single: { prompt: string; response: string; proxy: number; gold: number }[];
}

/** Powers of two up to maxN (maxN itself included even if it is not one). */
export function bestOfNSizes(maxN: number): number[] {
  const ns: number[] = [];
  for (let n = 1; n < maxN; n *= 2) ns.push(n);
  ns.push(maxN);
  return ns;
}

export async function bestOfN(
  sft: GPT,
  reward: GPT,
  tokenizer: Tokenizer,
  prompts: readonly string[],
  options: { maxN: number; maxResponseTokens: number; noEosPenalty: number; seed: number; gold?: (prompt: string, response: string) => number },
): Promise<BestOfNResult> {
  const { maxN, maxResponseTokens, noEosPenalty, gold } = options;
  if (!(Number.isInteger(maxN) && maxN >= 1)) throw new Error(`best-of-N: maxN must be a positive integer, got ${maxN}`);
  const pool = await sampleResponses(sft, tokenizer, prompts, maxN, { maxResponseTokens, temperature: 1, seed: options.seed });
  const ctx = sft.config.contextLength;
  const proxies: number[][] = [];
  for (let p = 0; p < prompts.length; p++) {
    const q = encodeQuery(tokenizer, prompts[p], ctx - maxResponseTokens);
    const scores = await lastTokenScores(reward, packSequences(pool.ids[p].map(() => q), pool.ids[p], tokenizer.special.pad, ctx));
    proxies.push(Array.from(scores, (s, i) => (pool.finished[p][i] ? s : noEosPenalty)));
  }
  const golds = prompts.map((prompt, p) => pool.texts[p].map((t) => (gold ? gold(prompt, t) : NaN)));
  const pickBest = (p: number, n: number) => {
    let best = 0;
    for (let i = 1; i < n; i++) if (proxies[p][i] > proxies[p][best]) best = i;
    return best;
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const points = bestOfNSizes(maxN).map((n) => {
    const picks = prompts.map((_, p) => pickBest(p, n));
    return { n, kl_bound: bestOfNKLBound(n), proxy: mean(picks.map((i, p) => proxies[p][i])), gold: mean(picks.map((i, p) => golds[p][i])) };
  });
  const sample = (prompt: string, p: number, i: number) => ({ prompt, response: pool.texts[p][i], proxy: proxies[p][i], gold: golds[p][i] });
  return { points, chosen: prompts.map((prompt, p) => sample(prompt, p, pickBest(p, maxN))), single: prompts.map((prompt, p) => sample(prompt, p, 0)) };
}
