// The lab's version of InstructGPT's headline result: how often is the RL policy's response preferred to the SFT
// policy's on held-out prompts? Here the judge is the task's hidden gold function (the labelers' "true" preference),
// each policy answers every prompt once (temperature 1, the same seed for both), ties count ½, and the win rate
// comes with a 95% confidence interval (math.ts winRate).
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import { lastTokenScores } from './forward';
import { winRate } from './math';
import { sampleResponses } from './reward-model';
import { encodeQuery, packSequences } from './sequences';

export interface PolicySamples {
  prompts: readonly string[];
  responses: string[];
  /** Reward-model score (the missing-EOS penalty for unfinished responses). */
  proxy: number[];
  gold: number[];
}

/** One response per prompt from `policy`, scored by the reward model and the gold function. */
export async function samplePolicy(
  policy: GPT,
  reward: GPT,
  tokenizer: Tokenizer,
  prompts: readonly string[],
  options: { maxResponseTokens: number; noEosPenalty: number; seed: number; gold?: (prompt: string, response: string) => number },
): Promise<PolicySamples> {
  const { maxResponseTokens, noEosPenalty, gold } = options;
  const s = await sampleResponses(policy, tokenizer, prompts, 1, { maxResponseTokens, temperature: 1, seed: options.seed });
  const ctx = policy.config.contextLength;
  const queries = prompts.map((p) => encodeQuery(tokenizer, p, ctx - maxResponseTokens));
  const scores = await lastTokenScores(reward, packSequences(queries, s.ids.map(([r]) => r), tokenizer.special.pad, ctx));
  const responses = s.texts.map(([t]) => t);
  return {
    prompts,
    responses,
    proxy: Array.from(scores, (x, i) => (s.finished[i][0] ? x : noEosPenalty)),
    gold: responses.map((r, i) => (gold ? gold(prompts[i], r) : NaN)),
  };
}

/** Win rate of `a` over `b` by gold reward, prompt by prompt. */
export function compareByGold(a: PolicySamples, b: PolicySamples) {
  return winRate(a.gold, b.gold);
}
